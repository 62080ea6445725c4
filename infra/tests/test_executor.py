"""The switchyard-process Lambda executor, end to end through a live infra/local-up stack."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import HOST_MODE, client, invoke, run_state_machine, wait_until


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
    if HOST_MODE:
        assert (Path(body["task_root"]) / "bootstrap").is_file()
    assert body["arn"].endswith(f":function:{name}")
    assert 0 < body["deadline"] - time.time() * 1000 <= 10_000


def test_error_type_passes_through(make_function: Callable[..., str]) -> None:
    response, body = invoke(make_function("reject"))
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
    if HOST_MODE:  # the killed process was on this machine
        with pytest.raises(ProcessLookupError):
            os.kill(first["pid"], 0)


def test_crash_is_runtime_exit_error(make_function: Callable[..., str]) -> None:
    response, body = invoke(make_function("crash"))
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]


def logged_text(function_name: str, expected: list[str]) -> str:
    """The function's CloudWatch Logs, once every expected part has arrived (they ship async)."""
    logs = client("logs")

    def text_if_complete() -> str:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return ""
        text = "".join(event["message"] for event in events)
        return text if all(part in text for part in expected) else ""

    return wait_until(text_if_complete, f"{expected} in CloudWatch Logs", timeout_s=10)


def test_init_error_passes_through_with_its_output_logged(
    make_function: Callable[..., str],
) -> None:
    name = make_function("init-error")
    response, body = invoke(name)
    assert response["FunctionError"] == "Unhandled"
    assert body == {"errorType": "ConfigMissing", "errorMessage": "no TABLE_NAME"}
    request_id = response["ResponseMetadata"]["RequestId"]
    text = logged_text(name, ["init: pid", f"REPORT RequestId: {request_id}"])
    assert "Status: error\tError Type: ConfigMissing" in text


def test_logs_reach_cloudwatch(make_function: Callable[..., str]) -> None:
    name = make_function("echo")
    response, _ = invoke(name, {"note": "hello-logs"})
    request_id = response["ResponseMetadata"]["RequestId"]
    text = logged_text(
        name,
        [
            f"START RequestId: {request_id}",
            "init: pid",
            "hello-logs",
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}",
        ],
    )
    report = next(line for line in text.splitlines() if line.startswith("REPORT"))
    assert "Duration:" in report and "Memory Size: 256 MB" in report and "Init Duration" in report


def test_concurrent_invokes_run_in_parallel_environments(
    make_function: Callable[..., str],
) -> None:
    name = make_function("echo")
    with ThreadPoolExecutor(3) as pool:
        bodies = [body for _, body in pool.map(lambda _: invoke(name, {"sleep": 1.5}), range(3))]
    assert len({body["pid"] for body in bodies}) == 3
    # All three were inside their handler at the same moment.
    assert max(body["start"] for body in bodies) < min(body["end"] for body in bodies)


def test_warm_environment_is_reused(make_function: Callable[..., str]) -> None:
    name = make_function("echo")
    _, first = invoke(name)
    _, second = invoke(name)
    assert first["pid"] == second["pid"]


def test_step_functions_retry_and_catch_on_the_function_error_name(
    make_function: Callable[..., str],
) -> None:
    name = make_function("reject")

    def order_task(payload: dict[str, object], next_state: dict[str, object]) -> dict[str, object]:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": name, "Payload": payload},
            "ResultSelector": {"retry.$": "$.Payload.event.retry"},
            "Retry": [{"ErrorEquals": ["OrderRejected"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            **next_state,
        }

    definition = {
        "StartAt": "Charge",
        "States": {
            # Rejected once, then accepted on the retry ($$.State.RetryCount is 1).
            "Charge": order_task(
                {"retry.$": "$$.State.RetryCount"}, {"ResultPath": "$.charge", "Next": "Ship"}
            ),
            # Rejected on both attempts, so the Catch takes over.
            "Ship": order_task(
                {"retry": 9},
                {
                    "Catch": [
                        {
                            "ErrorEquals": ["OrderRejected"],
                            "ResultPath": "$.error",
                            "Next": "Rejected",
                        }
                    ],
                    "End": True,
                },
            ),
            "Rejected": {"Type": "Pass", "End": True},
        },
    }
    result = run_state_machine(definition, {"order": 7})
    assert result["status"] == "SUCCEEDED", result.get("cause")
    output = json.loads(result["output"])
    assert output["order"] == 7
    assert output["charge"] == {"retry": 1}
    assert output["error"]["Error"] == "OrderRejected"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "out of stock"
    failures = [e for e in result["history"] if e["type"] == "TaskFailed"]
    assert len(failures) == 3, "Charge once, Ship twice"


def test_output_is_drained_with_more_than_1024_open_files(tmp_path: Path) -> None:
    """LocalStack holds over 1024 files with ~100 warm functions; select.select() refuses a
    descriptor above that, which killed the thread that drains a function's output."""
    # Installed into LocalStack's venv by local-up in host mode only.
    Sandbox = pytest.importorskip("switchyard_localstack_executor.executor").Sandbox
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard limit on open files ({hard}) is too low to reproduce")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    died: list[BaseException] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: died.append(args.exc_value)
    sandbox = Sandbox()
    try:
        # More than a pipe holds (64 KiB): the process only gets to exit if it is drained.
        bootstrap = tmp_path / "bootstrap"
        bootstrap.write_text("#!/bin/bash\nfor i in $(seq 1 20000); do echo \"line $i\"; done\n")
        bootstrap.chmod(0o755)
        sandbox.launch(bootstrap, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        assert sandbox.process is not None
        assert sandbox.process.stdout is not None and sandbox.process.stdout.fileno() > 1024
        sandbox.process.wait(timeout=60)  # a guard against a hang, not a measurement
        output = sandbox.take_output()
    finally:
        sandbox.kill()  # already gone unless it hung on a full pipe
        threading.excepthook = previous_hook
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert died == [], f"the output thread died: {died}"
    assert output.splitlines()[-1] == "line 20000"
    assert len(output.splitlines()) == 20000
