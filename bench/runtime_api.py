"""A Lambda Runtime API for the agent figures: it hands task events, one per long poll, to
the process it serves and records, on the same clock as the spawn, when each was taken and
when it was answered. One event gives the cold start (spawn → ready, → response); the events
after it give the warm latency (taken → answered) of a process that stays up.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

API = "/2018-06-01/runtime"


class Trial:
    """One cold start: the event to hand out and the moments it was taken and answered."""

    def __init__(self, event: dict) -> None:
        self.request_id = str(uuid.uuid4())
        self.event = json.dumps(event).encode()
        self.ready_at: float | None = None
        self.response_at: float | None = None
        self.response: bytes | None = None
        self.error: bytes | None = None
        self.answered = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        now = time.perf_counter()
        if self.path != f"{API}/invocation/next":
            return self.reply(404, b"{}")
        trial = self.server.take()
        if trial is None:  # every event is taken: hold the poll, as Lambda does
            self.server.finished.wait(30)
            return self.reply(410, b"{}")
        trial.ready_at = now
        deadline = str(int(time.time() * 1000) + 60_000)
        self.reply(
            200,
            trial.event,
            {
                "Lambda-Runtime-Aws-Request-Id": trial.request_id,
                "Lambda-Runtime-Deadline-Ms": deadline,
                "Lambda-Runtime-Invoked-Function-Arn": (
                    "arn:aws:lambda:us-east-1:000000000000:function:bench-cold-start"
                ),
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
            },
        )

    def do_POST(self) -> None:
        now = time.perf_counter()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        trial = self.server.answered_by(self.path)
        self.reply(202, b"{}")
        if trial is None:
            return
        if self.path.endswith("/response"):
            trial.response = body
        else:
            trial.error = body
        trial.response_at = now
        trial.answered.set()
        if all(t.answered.is_set() for t in self.server.trials):
            self.server.finished.set()

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.trials: list[Trial] = []
        self.taken = 0
        self.lock = threading.Lock()
        self.finished = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def take(self) -> Trial | None:
        """The next event, handed out once; the next one only after this one is answered
        (one invocation at a time per process, as Lambda does)."""
        with self.lock:
            if self.taken >= len(self.trials):
                return None
            if self.taken and not self.trials[self.taken - 1].answered.wait(60):
                return None
            self.taken += 1
            return self.trials[self.taken - 1]

    def answered_by(self, path: str) -> Trial | None:
        for trial in self.trials:
            if f"/invocation/{trial.request_id}/" in path:
                return trial
        return None

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a killed process drops its connection: expected, not worth a traceback

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


def peak_rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def spawn(command: list[str], env: dict[str, str], server: Server) -> subprocess.Popen:
    """`command` as a Lambda runtime process polling `server`."""
    return subprocess.Popen(
        command,
        env={**env, "AWS_LAMBDA_RUNTIME_API": server.address},
        cwd=Path(command[-1]).parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def cold_start(command: list[str], env: dict[str, str], event: dict) -> dict:
    """Spawns `command` against a Runtime API of its own (so a request left over from an
    earlier process cannot take the event), hands it `event`; spawn → ready, → response."""
    trial = Trial(event)
    server = Server()
    server.trials = [trial]
    spawned = time.perf_counter()
    process = spawn(command, env, server)
    try:
        deadline = spawned + 120
        while not trial.answered.wait(0.01):
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited ({process.returncode}) before answering: "
                                   f"{process.stderr.read()[-2000:]!r}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{command} did not answer within 120 s")
        rss = peak_rss_kib(process.pid)
    finally:
        process.kill()
        _, stderr = process.communicate()
        server.shutdown()
        server.server_close()
    if trial.error is not None:
        raise RuntimeError(f"{command[0]} answered with an error: {trial.error!r} {stderr[-2000:]!r}")
    assert trial.ready_at is not None and trial.response_at is not None
    return {
        "ready_ms": (trial.ready_at - spawned) * 1000,
        "response_ms": (trial.response_at - spawned) * 1000,
        "peak_rss_mib": rss / 1024 if rss is not None else None,
        "response": json.loads(trial.response or b"null"),
    }


def warm_latency(command: list[str], env: dict[str, str], events: list[dict]) -> list[float]:
    """Spawns `command` once and hands it `events` one after another; each event after the
    first (which pays the cold start) gives one warm latency: taken → answered, in ms."""
    server = Server()
    server.trials = [Trial(event) for event in events]
    process = spawn(command, env, server)
    try:
        if not server.finished.wait(120):
            raise RuntimeError(f"{command} answered {sum(t.answered.is_set() for t in server.trials)}"
                               f" of {len(events)} events within 120 s")
    finally:
        process.kill()
        _, stderr = process.communicate()
        server.shutdown()
        server.server_close()
    failed = [t.error for t in server.trials if t.error is not None]
    if failed:
        raise RuntimeError(f"{command[0]} answered with an error: {failed[0]!r} {stderr[-2000:]!r}")
    return [(t.response_at - t.ready_at) * 1000 for t in server.trials[1:]
            if t.response_at is not None and t.ready_at is not None]
