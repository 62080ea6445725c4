"""The local stack as the benchmark sees it: clients, the Run API, executions and their
histories, and the bootstrap processes the Lambda executor runs."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
LOCALSTACK_PORT = os.environ.get("SWITCHYARD_LOCALSTACK_PORT", "4566")
DYNAMODB_PORT = os.environ.get("SWITCHYARD_DYNAMODB_PORT", "8000")
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", f"http://localhost:{LOCALSTACK_PORT}")
DYNAMODB_ENDPOINT = os.environ.get(
    "AWS_ENDPOINT_URL_DYNAMODB", f"http://localhost:{DYNAMODB_PORT}"
)
REGION = os.environ.get("AWS_REGION", "us-east-1")
# Functions that keep the platform's books rather than do an agent's work.
PLATFORM_FUNCTIONS = {"run-tracker", "approval-request", "approval-callback", "api"}


def client(service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=DYNAMODB_ENDPOINT if service == "dynamodb" else ENDPOINT,
        region_name=REGION,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        config=Config(max_pool_connections=200, retries={"max_attempts": 5, "mode": "standard"}),
    )


def healthy() -> bool:
    for url, data in (
        (f"http://127.0.0.1:{LOCALSTACK_PORT}/_localstack/health", None),
        (f"http://127.0.0.1:{DYNAMODB_PORT}/", b"{}"),
    ):
        try:
            urllib.request.urlopen(url, data=data, timeout=2).read()
        except urllib.error.HTTPError:
            pass  # DynamoDB Local answers an unsigned request with 400: it is up
        except OSError:
            return False
    return True


def ensure_deployed() -> dict[str, Any]:
    """The deployment, after bringing the stack up and deploying with the repo's scripts
    when they are not (the stack is left running either way)."""
    env = {**os.environ, "SWITCHYARD_LOCALSTACK_PORT": LOCALSTACK_PORT,
           "SWITCHYARD_DYNAMODB_PORT": DYNAMODB_PORT}
    if not healthy():
        print("bench: the local stack is not up: infra/local-up", flush=True)
        subprocess.run([ROOT / "infra/local-up"], env=env, check=True, stdout=subprocess.DEVNULL)
    deployed = CACHE / "deployed-local.json"

    def current() -> dict[str, Any] | None:
        if not deployed.exists() or not (CACHE / "api-key-local").exists():
            return None
        deployment = json.loads(deployed.read_text())
        arn = deployment.get("state_machines", {}).get("bench-chain")
        try:
            client("stepfunctions").describe_state_machine(stateMachineArn=arn)
            client("dynamodb").describe_table(TableName=deployment["tables"]["steps"])
        except Exception:
            return None
        return deployment

    deployment = current()
    if deployment is None:
        print("bench: Switchyard is not deployed on it: infra/deploy --target local", flush=True)
        subprocess.run([ROOT / "infra/deploy", "--target", "local", "--auto-approve"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        deployment = current()
        assert deployment is not None, "deployed, yet bench-chain is not there"
    return deployment


class RunApi:
    """The Run API's Function URL, reached on 127.0.0.1 whatever `.localhost` resolves to."""

    def __init__(self, url: str, key: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host = parsed.netloc
        self.port = parsed.port or 80
        self.key = key
        # The handler's own milliseconds of the last request and when it began, in Unix
        # milliseconds (its Server-Timing header: `app;dur=…, start;desc=…`).
        self.server_ms: float | None = None
        self.server_start_ms: float | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        """Status, JSON body and wall milliseconds."""
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Host": self.host, "Authorization": f"Bearer {self.key}"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=payload, headers=headers)
            reply = connection.getresponse()
            text = reply.read()
            timing = reply.getheader("Server-Timing")
            self.server_ms = server_timing(timing)
            self.server_start_ms = server_timing(timing, metric="start", param="desc")
        finally:
            connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        try:
            decoded = json.loads(text) if text else None
        except ValueError:
            decoded = text.decode(errors="replace")
        return reply.status, decoded, elapsed

    def start(self, workflow: str, input_: dict[str, Any]) -> str:
        status, body, _ = self.request("POST", "/runs/start", {"workflow": workflow, "input": input_})
        if status != 202:
            raise RuntimeError(f"POST /runs/start {workflow}: {status} {body}")
        return body["run_id"]


def server_timing(header: str | None, metric: str = "app", param: str = "dur") -> float | None:
    """`app;dur=12.5, start;desc=1796381535123.4` → 12.5 (`start`, `desc`: the second)."""
    for entry in (header or "").split(","):
        named, *params = entry.strip().split(";")
        if named != metric:
            continue
        for pair in params:
            name, _, value = pair.strip().partition("=")
            if name == param:
                try:
                    return float(value)
                except ValueError:
                    return None
    return None


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name


def wait_finished(sfn: Any, arn: str, timeout_s: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            described = sfn.describe_execution(executionArn=arn)
        except sfn.exceptions.ExecutionDoesNotExist:
            described = {"status": "RUNNING"}
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise RuntimeError(f"{arn} still running after {timeout_s} s")
        time.sleep(0.1)


def wait_recorded(dynamodb: Any, runs_table: str, run_id: str, timeout_s: float = 30) -> float:
    """Waits until the run's record has its end (the run-tracker's work after the execution);
    returns how long that took from the call, in ms."""
    started = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    while True:
        item = dynamodb.get_item(TableName=runs_table, Key={"run_id": {"S": run_id}},
                                 ConsistentRead=True).get("Item") or {}
        if item.get("status", {}).get("S", "running") != "running":
            return (time.perf_counter() - started) * 1000
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id}'s record has no end {timeout_s} s after its execution")
        time.sleep(0.005)


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def function_name(arn: str) -> str:
    return arn.split(":function:", 1)[-1].split(":", 1)[0]


def is_agent(function: str) -> bool:
    return function.removeprefix("switchyard-") not in PLATFORM_FUNCTIONS


@dataclass
class RunFigures:
    status: str
    duration_ms: float
    transitions: int
    agent_tasks: int
    platform_tasks: int
    agent_tasks_succeeded: int
    # Where the run's time went, from its history: from the execution's start to its first
    # state (the stack reading the definition), the first agent invocation, and the rest.
    before_first_state_ms: float = 0.0
    first_agent_call_ms: float = 0.0


def run_figures(sfn: Any, arn: str) -> RunFigures:
    """What one finished execution cost: counted from its history, nothing assumed."""
    described = wait_finished(sfn, arn)
    events = history(sfn, arn)
    scheduled = [
        (e.get("lambdaFunctionScheduledEventDetails") or {}).get("resource")
        or (e.get("taskScheduledEventDetails") or {}).get("resource", "")
        for e in events
        if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled")
    ]
    agent = [r for r in scheduled if is_agent(function_name(r))]
    # Which task a success belongs to: the scheduled event it follows (previousEventId chain).
    by_id = {e["id"]: e for e in events}

    def scheduled_resource(event: dict[str, Any]) -> str:
        while event is not None:
            details = event.get("lambdaFunctionScheduledEventDetails") or event.get(
                "taskScheduledEventDetails"
            )
            if details:
                return details.get("resource", "")
            event = by_id.get(event.get("previousEventId"))
        return ""

    succeeded = [
        e for e in events if e["type"] in ("LambdaFunctionSucceeded", "TaskSucceeded")
    ]
    agent_succeeded = sum(1 for e in succeeded if is_agent(function_name(scheduled_resource(e))))
    started_at = described["startDate"].timestamp() * 1000
    entered = [e for e in events if e["type"].endswith("StateEntered")]
    first_call = next((e for e in events if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled")
                       and is_agent(function_name(scheduled_resource(e)))), None)
    ends = ("LambdaFunctionSucceeded", "LambdaFunctionFailed", "TaskSucceeded", "TaskFailed")
    first_end = None if first_call is None else next(
        (e for e in events if e["id"] > first_call["id"] and e["type"] in ends), None)

    def at(event: dict[str, Any]) -> float:
        return event["timestamp"].timestamp() * 1000

    return RunFigures(
        status=described["status"],
        duration_ms=(described["stopDate"] - described["startDate"]).total_seconds() * 1000,
        transitions=len(entered),
        agent_tasks=len(agent),
        platform_tasks=len(scheduled) - len(agent),
        agent_tasks_succeeded=agent_succeeded,
        before_first_state_ms=at(entered[0]) - started_at if entered else 0.0,
        first_agent_call_ms=at(first_end) - at(first_call) if first_call and first_end else 0.0,
    )


def localstack_session() -> int | None:
    try:
        return int((CACHE / "local-stack/localstack.pid").read_text())
    except (OSError, ValueError):
        return None


CLOCK_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuReading:
    """One bootstrap process's CPU time: the kernel's total in clock ticks (every thread it
    ever had, 10 ms granularity) and each live thread's time on a CPU in nanoseconds
    (`/proc/<pid>/task/<tid>/schedstat`)."""

    function: str
    ticks: int
    threads: dict[int, int]


def bootstrap_cpu() -> dict[int, CpuReading]:
    """Every bootstrap the executor runs for this stack (its processes live in LocalStack's
    session), by pid."""
    session = localstack_session()
    found: dict[int, CpuReading] = {}
    if session is None:
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            # The command may hold spaces and parentheses: fields start after the last ')'.
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            if comm != "bootstrap" or int(fields[3]) != session:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = dict(
                    item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item
                )
            threads: dict[int, int] = {}
            for tid in os.listdir(f"/proc/{entry}/task"):
                try:
                    with open(f"/proc/{entry}/task/{tid}/schedstat") as f:
                        threads[int(tid)] = int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
            function = env.get(b"SWITCHYARD_FUNCTION", b"?").decode()
            found[int(entry)] = CpuReading(function, int(fields[11]) + int(fields[12]), threads)
        except (OSError, ValueError):
            continue
    return found


def cpu_used_ms(before: CpuReading | None, after: CpuReading) -> tuple[float, bool]:
    """A process's CPU time between two readings (`before` None: since it started), and
    whether it is exact. Summed over its threads' nanosecond counters when that accounts
    for everything the kernel's tick total saw; a thread that ran and exited between the
    readings takes its time with it, so then the tick delta (±10 ms) is the figure."""
    exact = sum(ns - (before.threads.get(tid, 0) if before else 0)
                for tid, ns in after.threads.items()) / 1e6
    ticks = (after.ticks - (before.ticks if before else 0)) * CLOCK_TICK_MS
    vanished = before is not None and any(tid not in after.threads for tid in before.threads)
    if vanished or ticks > exact + 2 * CLOCK_TICK_MS:
        return ticks, False
    return exact, True
