"""Shared by the local-AWS tests: clients for the live infra/local-up stack, and functions
made from a bash custom runtime (bash + curl, no Rust) whose behaviour MODE selects.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")
# Host mode (the switchyard-process executor): functions are processes on this machine.
# Under `local-up --docker` they run in containers, and only the Lambda-visible behaviour
# is checked.
HOST_MODE = (Path(__file__).resolve().parents[2] / ".cache/local-stack/localstack.pid").exists()
ROLE_ARN = "arn:aws:iam::000000000000:role/switchyard-test"

# One loop over the Lambda Runtime API. Replies carry the process id (warm reuse), the
# handler's start and end in ns (overlap) and what the runtime was given (env, headers).
BOOTSTRAP = r"""#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
echo "init: pid $$"
if [ "$MODE" = init-error ]; then
  curl -sS -X POST "$api/init/error" \
    -d '{"errorType":"ConfigMissing","errorMessage":"no TABLE_NAME"}'
  exit 1
fi
header() { grep -i "^$1:" "$headers" | cut -d' ' -f2- | tr -d '\r'; }
headers=$(mktemp)
while true; do
  event=$(curl -sS -D "$headers" "$api/invocation/next")
  id=$(header Lambda-Runtime-Aws-Request-Id)
  start=$(date +%s%N)
  echo "handling $id: $event"
  case "$MODE" in
    reject) # every order, except on the first Step Functions retry: {"retry": 1}
      if ! printf '%s' "$event" | grep -Eq '"retry": ?1([^0-9]|$)'; then
        curl -sS -X POST "$api/invocation/$id/error" \
          -d '{"errorType":"OrderRejected","errorMessage":"out of stock"}' >/dev/null
        continue
      fi ;;
    crash) exit 3 ;;
  esac
  seconds=$(printf '%s' "$event" | grep -o '"sleep": *[0-9.]*' | grep -o '[0-9.]*$')
  sleep "${seconds:-0}"
  body=$(printf '{"pid":%s,"start":%s,"end":%s,"cwd":"%s","task_root":"%s","runtime_api":"%s",' \
    $$ "$start" "$(date +%s%N)" "$PWD" "$LAMBDA_TASK_ROOT" "$AWS_LAMBDA_RUNTIME_API")
  body+=$(printf '"memory":"%s","version":"%s","name":"%s","arn":"%s","deadline":%s,"event":%s}' \
    "$AWS_LAMBDA_FUNCTION_MEMORY_SIZE" "$AWS_LAMBDA_FUNCTION_VERSION" \
    "$AWS_LAMBDA_FUNCTION_NAME" "$(header Lambda-Runtime-Invoked-Function-Arn)" \
    "$(header Lambda-Runtime-Deadline-Ms)" "$event")
  curl -sS -X POST "$api/invocation/$id/response" -d "$body" >/dev/null
done
"""


def client(service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(condition: Callable[[], Any], what: str, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


@pytest.fixture(scope="session")
def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo("bootstrap")
        entry.external_attr = 0o755 << 16  # executable, as Lambda requires
        archive.writestr(entry, BOOTSTRAP)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def make_function(code_zip: bytes) -> Iterator[Callable[..., str]]:
    """Creates provided.al2023 functions running BOOTSTRAP; deletes them at the end."""
    lambda_ = client("lambda")
    prefix = unique("fn")
    created: list[str] = []

    def make(mode: str, timeout: int = 10) -> str:
        name = f"{prefix}-{len(created)}-{mode}"
        lambda_.create_function(
            FunctionName=name,
            Runtime="provided.al2023",
            Handler="bootstrap",
            Role=ROLE_ARN,
            Code={"ZipFile": code_zip},
            Timeout=timeout,
            MemorySize=256,
            Environment={"Variables": {"MODE": mode}},
        )
        created.append(name)
        wait_until(
            lambda: lambda_.get_function(FunctionName=name)["Configuration"]["State"] == "Active",
            f"{name} to become Active",
        )
        return name

    yield make
    for name in created:
        lambda_.delete_function(FunctionName=name)


def invoke(name: str, event: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    response = client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}))
    return response, json.loads(response["Payload"].read())


def start_execution(definition: dict[str, Any] | str, input_: dict[str, Any]) -> str:
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(
        name=unique("sm"),
        definition=definition if isinstance(definition, str) else json.dumps(definition),
        roleArn=ROLE_ARN,
    )["stateMachineArn"]
    return sfn.start_execution(stateMachineArn=machine, input=json.dumps(input_))["executionArn"]


def finished_execution(execution_arn: str) -> dict[str, Any]:
    """describe_execution once it is over, with its event history under "history"."""
    sfn = client("stepfunctions")
    result = wait_until(
        lambda: (
            (d := sfn.describe_execution(executionArn=execution_arn))["status"] != "RUNNING" and d
        ),
        "the execution to finish",
    )
    result["history"] = sfn.get_execution_history(executionArn=execution_arn)["events"]
    return result


def run_state_machine(definition: dict[str, Any], input_: dict[str, Any]) -> dict[str, Any]:
    return finished_execution(start_execution(definition, input_))
