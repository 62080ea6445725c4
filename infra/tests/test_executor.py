"""The switchyard-process Lambda executor, end to end through a live infra/local-up stack.

Functions here are a bash custom runtime (bash + curl, no Rust) whose behaviour is chosen by
the MODE environment variable; each test creates its own functions under a unique prefix.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")
ROLE_ARN = "arn:aws:iam::000000000000:role/switchyard-test-lambda"
PID_FILE = Path(__file__).resolve().parents[2] / ".cache/local-stack/localstack.pid"

# One loop over the Lambda Runtime API. Replies carry the process id (warm reuse), the
# invocation's start and end in ns (overlap) and what the runtime was given (env, headers).
BOOTSTRAP = r"""#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
echo "init: pid $$"
if [ "$MODE" = init-error ]; then
  curl -sS -X POST "$api/init/error" -d '{"errorType":"ConfigMissing","errorMessage":"no TABLE_NAME"}'
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
    fail)
      curl -sS -X POST "$api/invocation/$id/error" \
        -d '{"errorType":"OrderRejected","errorMessage":"out of stock"}' >/dev/null
      continue ;;
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
    prefix = f"exec-{uuid.uuid4().hex[:8]}"
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
        deadline = time.monotonic() + 20
        while lambda_.get_function(FunctionName=name)["Configuration"]["State"] != "Active":
            assert time.monotonic() < deadline, f"{name} never became Active"
            time.sleep(0.05)
        return name

    yield make
    for name in created:
        lambda_.delete_function(FunctionName=name)


def invoke(name: str, event: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    response = client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}))
    return response, json.loads(response["Payload"].read())


def test_success_with_lambda_environment(make_function: Callable[..., str]) -> None:
    name = make_function("echo")
    response, body = invoke(name, {"order": 42})
    assert "FunctionError" not in response
    assert body["event"] == {"order": 42}
    # What lambda_runtime (Rust) needs at start, with values as strings.
    assert body["name"] == name
    assert body["memory"] == "256"
    assert body["version"] == "$LATEST"
    assert body["runtime_api"].startswith("127.0.0.1:")
    # LAMBDA_TASK_ROOT is the unzipped code, and the working directory, as in Lambda.
    assert body["task_root"] == body["cwd"]
    assert (Path(body["task_root"]) / "bootstrap").is_file()
    assert body["arn"].endswith(f":function:{name}")
    assert 0 < body["deadline"] - time.time() * 1000 <= 10_000


def test_error_type_passes_through(make_function: Callable[..., str]) -> None:
    response, body = invoke(make_function("fail"))
    assert response["FunctionError"] == "Unhandled"
    assert body == {"errorType": "OrderRejected", "errorMessage": "out of stock"}


def test_timeout_kills_and_next_invoke_respawns(make_function: Callable[..., str]) -> None:
    name = make_function("echo", timeout=1)
    _, first = invoke(name)
    started = time.monotonic()
    response, body = invoke(name, {"sleep": 5})
    assert time.monotonic() - started < 4
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    _, after = invoke(name)
    assert after["pid"] != first["pid"], "a timed-out process must not be reused"
    if PID_FILE.exists():  # host mode: the process is on this machine
        with pytest.raises(ProcessLookupError):
            os.kill(first["pid"], 0)


def test_crash_is_runtime_exit_error(make_function: Callable[..., str]) -> None:
    response, body = invoke(make_function("crash"))
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]


def test_init_error_passes_through(make_function: Callable[..., str]) -> None:
    response, body = invoke(make_function("init-error"))
    assert response["FunctionError"] == "Unhandled"
    assert body == {"errorType": "ConfigMissing", "errorMessage": "no TABLE_NAME"}


def test_logs_reach_cloudwatch(make_function: Callable[..., str]) -> None:
    name = make_function("echo")
    response, _ = invoke(name, {"note": "hello-logs"})
    request_id = response["ResponseMetadata"]["RequestId"]
    logs = client("logs")
    expected = [f"START RequestId: {request_id}", "init: pid", "hello-logs",
                f"END RequestId: {request_id}", f"REPORT RequestId: {request_id}"]
    deadline = time.monotonic() + 10
    while True:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        text = "".join(event["message"] for event in events)
        if all(part in text for part in expected) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for part in expected:
        assert part in text
    report = next(e["message"] for e in events if e["message"].startswith("REPORT"))
    assert "Duration:" in report and "Memory Size: 256 MB" in report and "Init Duration" in report


def test_concurrent_invokes_run_in_parallel_environments(
    make_function: Callable[..., str],
) -> None:
    name = make_function("echo")
    with ThreadPoolExecutor(3) as pool:
        bodies = [body for _, body in pool.map(lambda _: invoke(name, {"sleep": 1}), range(3))]
    assert len({body["pid"] for body in bodies}) == 3
    # All three were inside their handler at the same moment.
    assert max(body["start"] for body in bodies) < min(body["end"] for body in bodies)


def test_warm_environment_is_reused(make_function: Callable[..., str]) -> None:
    name = make_function("echo")
    _, first = invoke(name)
    _, second = invoke(name)
    assert first["pid"] == second["pid"]


def run_state_machine(definition: dict[str, Any], input_: dict[str, Any]) -> dict[str, Any]:
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"exec-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::000000000000:role/switchyard-test-sfn",
    )["stateMachineArn"]
    try:
        execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(input_))
        deadline = time.monotonic() + 30
        while (result := sfn.describe_execution(executionArn=execution["executionArn"]))[
            "status"
        ] == "RUNNING":
            assert time.monotonic() < deadline, "execution did not finish"
            time.sleep(0.1)
        result["history"] = sfn.get_execution_history(executionArn=execution["executionArn"])[
            "events"
        ]
        return result
    finally:
        sfn.delete_state_machine(stateMachineArn=machine)


def test_step_functions_retry_and_catch_on_the_function_error_name(
    make_function: Callable[..., str],
) -> None:
    name = make_function("fail")
    definition = {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": name, "Payload.$": "$"},
                "Retry": [{"ErrorEquals": ["OrderRejected"], "IntervalSeconds": 1,
                           "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["OrderRejected"], "ResultPath": "$.error",
                           "Next": "Rejected"}],
                "End": True,
            },
            "Rejected": {"Type": "Pass", "End": True},
        },
    }
    result = run_state_machine(definition, {"order": 7})
    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["order"] == 7
    assert output["error"]["Error"] == "OrderRejected"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "out of stock"
    failures = [e for e in result["history"] if e["type"] == "TaskFailed"]
    assert len(failures) == 2, "one attempt and one retry"
