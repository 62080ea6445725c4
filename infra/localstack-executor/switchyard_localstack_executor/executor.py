"""Run a `provided.*` Lambda function's `bootstrap` as a local process, without Docker.

LocalStack creates one RuntimeExecutor per execution environment. It calls `start` once,
`invoke` for one request at a time, and `stop` when the environment is retired; it runs
several environments of one function side by side when invocations overlap. Each executor
here owns one bootstrap process (a `Sandbox`) and a private Lambda Runtime API server on
127.0.0.1 that the process long-polls, as it would in AWS.

The process starts on the first invocation, as Lambda's on-demand init does, so an init
failure is that invocation's error, with the init output in its logs. LocalStack leaves the
rest of Lambda's behaviour to the executor too: enforcing the function timeout, reporting a
crash, writing the START/END/REPORT lines. A process that timed out or crashed is replaced
by a new one (a cold start) on the next invocation.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

LOOPBACK = "127.0.0.1"
API = "/2018-06-01/runtime"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How an invocation (or an init) ended: what the caller gets, and what REPORT says."""

    is_error: bool
    body: bytes
    report_status: str = ""  # Lambda adds a Status to REPORT only when the runtime failed

    @staticmethod
    def failure(error_type: str, message: str, status: str = "error") -> Outcome:
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        detail = f"\tError Type: {error_type}" if status == "error" else ""
        return Outcome(True, body, f"\tStatus: {status}{detail}")


def settle(future: Future, value: object) -> None:
    """Resolve a future unless something else already did (a crash racing a timeout)."""
    try:
        future.set_result(value)
    except InvalidStateError:
        pass


@dataclasses.dataclass
class Invocation:
    request_id: str
    payload: bytes
    headers: dict[str, str]
    outcome: Future[Outcome] = dataclasses.field(default_factory=Future)


class Sandbox:
    """One bootstrap process: its output, its readiness and the invocation it may take."""

    def __init__(self) -> None:
        # None at the first /next; an Outcome if init failed instead.
        self.ready: Future[Outcome | None] = Future()
        self.invocations: queue.Queue[Invocation] = queue.Queue()
        self.pending: Invocation | None = None
        self.spawned_at = time.monotonic()
        self.init_ms: float | None = None
        self.output = bytearray()
        self.output_lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.exit_reason: str | None = None

    def launch(self, bootstrap: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(bootstrap)],
            cwd=bootstrap.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own process group, so a kill takes its children too; still in LocalStack's
            # session, which is how infra/local-down finds any process left behind.
            process_group=0,
        )
        assert self.process.stdout is not None
        # Non-blocking, so that draining after a response never waits on a quiet process.
        os.set_blocking(self.process.stdout.fileno(), False)
        threading.Thread(target=self._pump_output, daemon=True).start()
        threading.Thread(target=self._watch_exit, daemon=True).start()

    def _read_available(self) -> bool:
        """Move what the pipe holds into `output` (lock held); False at end of file."""
        assert self.process is not None and self.process.stdout is not None
        while True:
            try:
                chunk = os.read(self.process.stdout.fileno(), 65536)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            self.output += chunk

    def _pump_output(self) -> None:
        # Keeps the pipe from filling up (which would block the function) between drains.
        # A selector (epoll), not select.select(): LocalStack holds well over 1024 files with
        # many warm functions, and select() refuses a descriptor numbered above that.
        assert self.process is not None and self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while True:
                selector.select()
                with self.output_lock:
                    if not self._read_available():
                        return

    def take_output(self) -> str:
        """Everything the process wrote so far, including what is still in the pipe."""
        with self.output_lock:
            if self.process is not None:
                self._read_available()
            text = self.output.decode(errors="replace")
            self.output.clear()
        return text

    def _watch_exit(self) -> None:
        assert self.process is not None
        code = self.process.wait()
        self.exit_reason = (
            f"signal: {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        )
        message = f"Runtime exited with error: {self.exit_reason}"
        settle(self.ready, Outcome.failure("Runtime.ExitError", message))
        self.fail_pending_if_exited()

    def fail_pending_if_exited(self) -> None:
        # Called by both sides (exit watcher, invoke), so a crash is seen whichever comes first.
        pending, reason = self.pending, self.exit_reason
        if pending is not None and reason is not None:
            message = f"RequestId: {pending.request_id} Error: Runtime exited with error: {reason}"
            settle(pending.outcome, Outcome.failure("Runtime.ExitError", message))

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def peak_memory_mb(self) -> int | None:
        if self.process is None:
            return None
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return math.ceil(int(line.split()[1]) / 1024)
        except OSError:
            pass  # already gone
        return None


class RuntimeApiHandler(BaseHTTPRequestHandler):
    """The Lambda Runtime API, as seen by one bootstrap process."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the Rust runtime client expects
    server: RuntimeApiServer

    def do_GET(self) -> None:
        if self.path != f"{API}/invocation/next":
            return self.reply(404, b'{"errorType":"NotFound"}')
        invocation = self.server.executor.next_invocation()
        if invocation is None:  # environment shutting down
            return self.reply(410, b'{"errorType":"ShuttingDown"}')
        self.reply(200, invocation.payload, invocation.headers)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        executor = self.server.executor
        match self.path.removeprefix(API + "/").split("/"):
            case ["invocation", request_id, "response"]:
                accepted = executor.complete(request_id, Outcome(False, body))
            case ["invocation", request_id, "error"]:
                accepted = executor.complete(request_id, Outcome(True, self.error_payload(body)))
            case ["init", "error"]:
                accepted = executor.init_failed(self.error_payload(body))
            case _:
                return self.reply(404, b'{"errorType":"NotFound"}')
        if accepted:
            self.reply(202, b'{"status":"OK"}')
        else:
            self.reply(400, b'{"errorType":"InvalidRequestID"}')

    def error_payload(self, body: bytes) -> bytes:
        # Runtimes post {"errorType", "errorMessage", ...}: passed through untouched, so the
        # function's error type (a Rust error's type name) reaches Step Functions. Anything
        # else is wrapped the way Lambda does, naming the type from the runtime's header.
        try:
            if isinstance(json.loads(body), dict):
                return body
        except ValueError:
            pass
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled"
        return Outcome.failure(error_type, body.decode(errors="replace")).body

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per poll would drown LocalStack's log


class RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, executor: ProcessRuntimeExecutor) -> None:
        super().__init__((LOOPBACK, 0), RuntimeApiHandler)
        self.executor = executor

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A process killed mid-request (timeout, stop) leaves a broken connection: expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ProcessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.server = RuntimeApiServer(self)
        self.sandbox = Sandbox()
        self.env: dict[str, str] = {}
        self.stopped = threading.Event()
        threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True).start()

    @property
    def timeout_s(self) -> int:
        return self.function_version.config.timeout

    # LocalStack's interface

    def start(self, env_vars: dict[str, str]) -> None:
        code_dir = Path(self.function_version.config.code.get_unzipped_code_location())
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            # LocalStack passes some values as ints (memory size, timeout).
            **{name: str(value) for name, value in env_vars.items()},
            "AWS_LAMBDA_RUNTIME_API": f"{LOOPBACK}:{self.server.server_port}",
            "LAMBDA_TASK_ROOT": str(code_dir),  # arrives as /var/task, the container path
        }

    def stop(self) -> None:
        self.stopped.set()
        self.sandbox.kill()
        self.server.shutdown()
        self.server.server_close()

    def get_address(self) -> str:
        return LOOPBACK

    def get_endpoint_from_executor(self) -> str:
        return LOOPBACK  # becomes AWS_ENDPOINT_URL in the function's environment

    def get_runtime_endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.server.server_port}"

    def get_logs(self) -> str:
        return self.sandbox.take_output()

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        runtime = function_version.config.runtime or "container image"
        if not runtime.startswith("provided"):
            # Fails the function's creation (State: Failed) with this reason, up front.
            raise LambdaRuntimeException(
                f"runtime {runtime} is not supported by the switchyard-process executor: "
                "only provided.* runtimes run as local processes"
            )
        function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass  # LocalStack deletes the unzipped code itself

    # The Runtime API's side

    def init_failed(self, payload: bytes) -> bool:
        error_type = json.loads(payload).get("errorType", "Runtime.Unknown")
        report_status = f"\tStatus: error\tError Type: {error_type}"
        settle(self.sandbox.ready, Outcome(True, payload, report_status))
        return True

    def next_invocation(self) -> Invocation | None:
        sandbox = self.sandbox
        if not sandbox.ready.done():
            sandbox.init_ms = (time.monotonic() - sandbox.spawned_at) * 1000
            settle(sandbox.ready, None)
        while not self.stopped.is_set():
            try:
                return sandbox.invocations.get(timeout=0.5)
            except queue.Empty:
                pass
        return None

    def complete(self, request_id: str, outcome: Outcome) -> bool:
        pending = self.sandbox.pending
        if pending is None or pending.request_id != request_id:
            return False
        settle(pending.outcome, outcome)
        return True

    # Invocations

    def spawn(self) -> Outcome | None:
        """Start a bootstrap and wait for its first /next: None then, else the init failure."""
        # Published before the process exists: its first /next may come at once.
        self.sandbox = sandbox = Sandbox()
        bootstrap = Path(self.env["LAMBDA_TASK_ROOT"]) / "bootstrap"
        try:
            sandbox.launch(bootstrap, self.env)
        except OSError as e:  # missing, not executable, not a binary for this machine
            return Outcome.failure("Runtime.InvalidEntrypoint", f"{e.strerror}: {bootstrap}")
        try:
            failure = sandbox.ready.result(timeout=self.timeout_s)
        except FutureTimeout:
            message = f"Init timed out after {self.timeout_s:.2f} seconds"
            failure = Outcome.failure("Sandbox.Timedout", message, status="timeout")
        if failure is not None:
            sandbox.kill()
        return failure

    def run(self, request_id: str, payload: dict[str, str]) -> Outcome:
        """Hand one invocation to the (live) process and wait for it, within the timeout."""
        sandbox = self.sandbox
        invocation = Invocation(
            request_id,
            payload["payload"].encode(),
            {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(int((time.time() + self.timeout_s) * 1000)),
                "Lambda-Runtime-Invoked-Function-Arn": payload["invoked-function-arn"],
                "Lambda-Runtime-Trace-Id": payload["trace-id"],
            },
        )
        sandbox.pending = invocation
        sandbox.fail_pending_if_exited()
        sandbox.invocations.put(invocation)
        try:
            return invocation.outcome.result(timeout=self.timeout_s)
        except FutureTimeout:
            message = f"Task timed out after {self.timeout_s:.2f} seconds"
            return Outcome.failure(
                "Sandbox.Timedout", f"RequestId: {request_id} Error: {message}", status="timeout"
            )
        finally:
            sandbox.pending = None

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        started = time.monotonic()
        outcome = self.spawn() if not self.sandbox.alive() else None
        sandbox = self.sandbox
        # Init output comes before START, as in a real log stream.
        logs = [
            sandbox.take_output(),
            f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}\n",
        ]
        if outcome is None:
            started = time.monotonic()  # Duration excludes init, which REPORT shows apart
            outcome = self.run(request_id, payload)
        memory_mb = sandbox.peak_memory_mb()
        if outcome.report_status:
            sandbox.kill()  # timed out, or init failed: the next invocation starts afresh
        duration_ms = (time.monotonic() - started) * 1000
        logs.append(sandbox.take_output())  # whatever the function printed before answering
        if outcome.report_status.startswith("\tStatus: timeout"):
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            logs.append(f"{now} {request_id} Task timed out after {self.timeout_s:.2f} seconds\n")
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms"
            f"\tBilled Duration: {math.ceil(duration_ms)} ms"
            f"\tMemory Size: {self.function_version.config.memory_size} MB"
        )
        if memory_mb is not None:
            report += f"\tMax Memory Used: {memory_mb} MB"
        if sandbox.init_ms is not None:
            report += f"\tInit Duration: {sandbox.init_ms:.2f} ms"
            sandbox.init_ms = None  # reported once, on the cold start
        logs += [f"END RequestId: {request_id}\n", report + outcome.report_status + "\n"]
        return InvocationResult(request_id, outcome.body, outcome.is_error, "".join(logs))
