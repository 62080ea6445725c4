"""Switchyard's benchmark suite (issue 14); `bench/run --help` says what it measures."""

from __future__ import annotations

import argparse
import bisect
import concurrent.futures
import copy
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import runtime_api
import stack

ROOT = stack.ROOT
RESULTS = ROOT / "bench/results"
DEFINITION_LIMIT_BYTES = 1024 * 1024


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def p95_ratio_interval(pairs: list[tuple[float, float]], rounds: int = 2000,
                       ) -> tuple[float, float] | None:
    """A 90% bootstrap interval of p95(first) / p95(second) over paired samples: how far the
    ratio of two tails moves with the samples a rung happened to get."""
    if len(pairs) < 20:
        return None
    rng = random.Random(95)
    ratios = []
    for _ in range(rounds):
        drawn = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        r = ratio(percentile([a for a, _ in drawn], 95), percentile([b for _, b in drawn], 95))
        if r is not None:
            ratios.append(r)
    ratios.sort()
    return ratios[int(0.05 * len(ratios))], ratios[int(0.95 * len(ratios)) - 1]


def fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value}{unit}"


def table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


# ---------------------------------------------------------------------------------------
# 1. Agent cold start


def bootstrap_binary(dev: bool) -> tuple[Path, str]:
    release = ROOT / "target/release/bootstrap"
    debug = ROOT / "target/debug/bootstrap"
    if not dev:
        if not release.exists():
            print("bench: building the release bootstrap once (≈ 6 min on 2 cores)", flush=True)
            subprocess.run(["cargo", "build", "--release", "--bin", "bootstrap"], cwd=ROOT,
                           check=True)
        return release, "release"
    if not debug.exists():
        subprocess.run(["cargo", "build", "--bin", "bootstrap"], cwd=ROOT, check=True)
    return debug, "dev (debug build: slower than what ships)"


def cold_start(args: argparse.Namespace, deployment: dict[str, Any]) -> dict[str, Any]:
    reps = args.cold_reps
    binary, build = bootstrap_binary(args.dev_bootstrap)
    tables = deployment["tables"]
    rust_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_FUNCTION_NAME": "switchyard-relay",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": stack.REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": stack.ENDPOINT,
        "AWS_ENDPOINT_URL_DYNAMODB": stack.DYNAMODB_ENDPOINT,
        "SWITCHYARD_FUNCTION": "relay",
        "RUNS_TABLE": tables["runs"],
        "STEPS_TABLE": tables["steps"],
        "APPROVALS_TABLE": tables["approvals"],
        "API_KEYS_TABLE": tables["api_keys"],
        "GRAPHS_TABLE": tables["graphs"],
        "PARKED_TABLE": tables["parked"],
        "VIEW_LINKS_TABLE": tables["view_links"],
        "MODEL_CACHE_TABLE": tables["model_cache"],
        "PAYLOAD_BUCKET": deployment.get("payload_bucket") or "",
        "RUST_LOG": "info",
    }
    python_env = {k: rust_env[k] for k in rust_env if k.startswith("AWS_LAMBDA") or k == "PATH"}
    anchor = [sys.executable, str(ROOT / "bench/langgraph_agent.py")]

    def event() -> dict[str, Any]:
        # What a compiled task sends: the run's envelope, and the context Step Functions binds.
        return {
            "envelope": {"data": {"hops": 0, "note": "cold"}, "meta": {"tenant_id": "bench"}},
            "context": {"run_id": f"bench-cold-{uuid.uuid4()}", "workflow": "bench-chain",
                        "step": "hop1", "attempt": 0},
        }

    samples: dict[str, list[dict[str, Any]]] = {"switchyard": [], "anchor": []}
    # One untimed start of each first, so neither pays for a cold page cache; then interleaved.
    runtime_api.cold_start([str(binary)], rust_env, event())
    runtime_api.cold_start(anchor, python_env, event())
    for _ in range(reps):
        samples["switchyard"].append(runtime_api.cold_start([str(binary)], rust_env, event()))
        samples["anchor"].append(runtime_api.cold_start(anchor, python_env, event()))
    for name, runs in samples.items():
        answer = runs[-1]["response"]
        assert answer and answer.get("hops") == 1, f"{name} answered {answer}"

    # Warm: one process per side answers event after event, each with a run of its own (the
    # relay records its attempt in DynamoDB Local; the anchor checkpoints to SQLite).
    warm_events = 30 if args.quick else 200
    warm = {
        "switchyard": runtime_api.warm_latency([str(binary)], rust_env,
                                               [event() for _ in range(warm_events + 1)]),
        "anchor": runtime_api.warm_latency(anchor, python_env,
                                           [event() for _ in range(warm_events + 1)]),
    }

    def summary(runs: list[dict[str, Any]], warm_ms: list[float]) -> dict[str, Any]:
        figures = {key: median([r[key] for r in runs if r[key] is not None])
                   for key in ("ready_ms", "response_ms", "peak_rss_mib")}
        figures["warm_p50_ms"] = median(warm_ms)
        figures["warm_p95_ms"] = percentile(warm_ms, 95)
        return figures

    result = {
        "reps": reps,
        "bootstrap_build": build,
        "anchor": "Python %s, langgraph %s + langgraph-checkpoint-sqlite %s, one-node graph"
        % (platform.python_version(), version("langgraph"), version("langgraph-checkpoint-sqlite")),
        "warm_events": warm_events,
        "switchyard": summary(samples["switchyard"], warm["switchyard"]),
        "langgraph": summary(samples["anchor"], warm["anchor"]),
    }
    result["ratio"] = {key: ratio(result["langgraph"][key], result["switchyard"][key])
                       for key in result["switchyard"]}
    return result


def version(package: str) -> str:
    from importlib.metadata import version as installed

    return installed(package)


def print_cold_start(r: dict[str, Any]) -> None:
    print(f"\n1. Agent cold start ({r['reps']} reps, medians; bootstrap: {r['bootstrap_build']})")
    print(f"   anchor: {r['anchor']}")
    rows = [["figure", "Switchyard (relay)", "anchor (LangGraph)", "anchor / Switchyard"]]
    for key, label, unit in (("ready_ms", "spawn → ready (first /next)", " ms"),
                             ("response_ms", "spawn → first response", " ms"),
                             ("peak_rss_mib", "peak RSS", " MiB"),
                             ("warm_p50_ms", "warm: event → response, p50", " ms"),
                             ("warm_p95_ms", "warm: event → response, p95", " ms")):
        if key in r["switchyard"]:
            rows.append([label, fmt(r["switchyard"][key], unit), fmt(r["langgraph"][key], unit),
                         fmt(r["ratio"][key], "×")])
    table(rows)
    if "warm_p50_ms" in r["switchyard"]:
        print(f"   warm: {r['warm_events']} events to one process each; the relay records its "
              f"attempt in DynamoDB Local (target p50 ≤ 6 ms): "
              f"{verdict_abs(r['switchyard']['warm_p50_ms'], 6.0)}")


# ---------------------------------------------------------------------------------------
# 2. Per-agent-step latency and transitions: compiled vs hand-written


def task(function_arn: str, workflow: str, step: str, nxt: str | None) -> dict[str, Any]:
    """A plain Task state sending the task event Switchyard's compiled states send: the
    state's input is the data (no envelope, so no `ResultPath`), and the tenant is fixed."""
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": function_arn,
        "Parameters": {
            "envelope": {"data.$": "$", "meta": {"tenant_id": "bench"}},
            "context": {"run_id.$": "$$.Execution.Name", "workflow": workflow, "step": step,
                        "attempt.$": "$$.State.RetryCount"},
        },
    }
    state.update({"Next": nxt} if nxt else {"End": True})
    return state


def floor_definitions(functions: dict[str, str]) -> dict[str, dict[str, Any]]:
    relay = functions["relay"]
    hops = [f"hop{i}" for i in range(1, 6)]
    chain = {
        "Comment": "Hand-written floor: five plain Tasks calling switchyard-relay.",
        "StartAt": hops[0],
        "States": {hop: task(relay, "bench-floor-chain", hop, hops[i + 1] if i + 1 < 5 else None)
                   for i, hop in enumerate(hops)},
    }
    dag = {
        "Comment": "Hand-written floor: plan → parallel{frontend, backend} → qa → debug if failed.",
        "StartAt": "plan",
        "States": {
            "plan": task(functions["tech-lead"], "bench-floor-dag", "plan", "build"),
            "build": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "frontend",
                     "States": {"frontend": task(functions["frontend-dev"], "bench-floor-dag",
                                                 "frontend", None)}},
                    {"StartAt": "backend",
                     "States": {"backend": task(functions["backend-dev"], "bench-floor-dag",
                                                "backend", None)}},
                ],
                "Next": "qa",
            },
            "qa": task(functions["qa-engineer"], "bench-floor-dag", "qa", "passed"),
            "passed": {"Type": "Choice",
                       "Choices": [{"Variable": "$.passed", "BooleanEquals": True, "Next": "done"}],
                       "Default": "debug"},
            "debug": task(functions["debugger"], "bench-floor-dag", "debug", None),
            "done": {"Type": "Succeed"},
        },
    }
    return {"chain": chain, "dag": dag}


def ensure_state_machine(sfn: Any, name: str, definition: dict[str, Any], role: str) -> str:
    text = json.dumps(definition)
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] == name:
            sfn.update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=text,
                                     roleArn=role)
            return machine["stateMachineArn"]
    return sfn.create_state_machine(name=name, definition=text, roleArn=role)["stateMachineArn"]


# How many clients read run statuses during each ladder rung.
STATUS_READERS = 8
# The pause between each anchor reader's direct reads (each takes a few milliseconds): about
# seventy a second each, so one of each is in flight during, or within the slack of, most
# handlers.
ANCHOR_GAP_S = 0.008
# How far from a handler's time a direct read may begin and still count as made with it.
ANCHOR_SLACK_MS = 10.0


def read_at(reads: list[tuple[float, float]], began: float | None,
            took: float | None) -> float | None:
    """The milliseconds of the direct read made while a handler ran from `began` for `took`
    ms (one in flight then, else the nearest beginning within `ANCHOR_SLACK_MS`), if any.
    `reads` is in the order they began."""
    if began is None or took is None or not reads:
        return None
    i = bisect.bisect_left(reads, (began - ANCHOR_SLACK_MS - 1000.0,))
    best: tuple[float, float] | None = None
    for start, ms in reads[i:]:
        if start > began + took + ANCHOR_SLACK_MS:
            break
        overlap = start < began + took and start + ms > began
        distance = 0.0 if overlap else min(abs(start - began), abs(start - (began + took)))
        if distance <= ANCHOR_SLACK_MS and (best is None or distance < best[0]):
            best = (distance, ms)
    return None if best is None else best[1]

# A pause after every run of either side, so the stack's own work after a run (log delivery,
# a function process going back to its poll) never lands in the next run's time.
SETTLE_S = 0.25

# What each pair runs: the compiled workflow, its floor, and an input. dev-team's QA passes
# on any feature (both changes touch files), so its debug step is skipped in both machines.
PAIRS = {
    "chain": ("bench-chain", {"hops": 0, "note": "bench"}),
    "dag": ("dev-team", {"feature": "password reset", "repository": "acme/web"}),
}


def step_latency(args: argparse.Namespace, deployment: dict[str, Any], api: stack.RunApi,
                 ) -> dict[str, Any]:
    sfn, lambda_ = stack.client("stepfunctions"), stack.client("lambda")
    machines = deployment["state_machines"]
    role = sfn.describe_state_machine(stateMachineArn=machines["bench-chain"])["roleArn"]
    functions = {name: lambda_.get_function(FunctionName=f"switchyard-{name}")
                 ["Configuration"]["FunctionArn"]
                 for name in ("relay", "tech-lead", "frontend-dev", "backend-dev", "qa-engineer",
                              "debugger")}
    floors = {kind: ensure_state_machine(sfn, f"bench-floor-{kind}", definition, role)
              for kind, definition in floor_definitions(functions).items()}

    dynamodb, runs_table = stack.client("dynamodb"), deployment["tables"]["runs"]
    record_lag: dict[str, list[float]] = {kind: [] for kind in PAIRS}

    def compiled(kind: str) -> stack.RunFigures:
        workflow, input_ = PAIRS[kind]
        run_id = api.start(workflow, input_)
        figures = stack.run_figures(sfn, stack.execution_arn(machines[workflow], run_id))
        # The run is done when its record is: the run-tracker's work after the execution
        # ends must not spill into the next (floor) run's time.
        record_lag[kind].append(stack.wait_recorded(dynamodb, runs_table, run_id))
        time.sleep(SETTLE_S)
        return figures

    def floor(kind: str) -> stack.RunFigures:
        _, input_ = PAIRS[kind]
        arn = sfn.start_execution(stateMachineArn=floors[kind], name=f"bench-{uuid.uuid4()}",
                                  input=json.dumps(input_))["executionArn"]
        figures = stack.run_figures(sfn, arn)
        time.sleep(SETTLE_S)
        return figures

    # The envelope the Run API starts each workflow's executions on (`{"data", "meta"}`), as
    # its first run here shows it: the compiled machine started with the floor's own call.
    envelopes: dict[str, str] = {}

    def same_start(kind: str) -> stack.RunFigures:
        workflow, _ = PAIRS[kind]
        arn = sfn.start_execution(stateMachineArn=machines[workflow], name=f"bench-{uuid.uuid4()}",
                                  input=envelopes[kind])["executionArn"]
        figures = stack.run_figures(sfn, arn)
        # Its record comes from the run-tracker (the end event): let that land, as above.
        run_id = arn.rsplit(":", 1)[-1]
        stack.wait_recorded(dynamodb, runs_table, run_id)
        time.sleep(SETTLE_S)
        return figures

    result: dict[str, Any] = {"reps": args.reps}
    for kind in PAIRS:
        workflow, input_ = PAIRS[kind]
        run_id = api.start(workflow, input_)
        arn = stack.execution_arn(machines[workflow], run_id)
        stack.wait_finished(sfn, arn)
        envelopes[kind] = sfn.describe_execution(executionArn=arn)["input"]
        for _ in range(2):  # warm-up: every function of both machines has a warm process
            compiled(kind)
            same_start(kind)
            floor(kind)
        runs: dict[str, list[stack.RunFigures]] = {"switchyard": [], "same_start": [],
                                                   "floor": []}
        for _ in range(args.reps):
            runs["switchyard"].append(compiled(kind))
            runs["same_start"].append(same_start(kind))
            runs["floor"].append(floor(kind))
        entry: dict[str, Any] = {"workflow": PAIRS[kind][0], "input": PAIRS[kind][1]}
        for side, figures in runs.items():
            failed = [f.status for f in figures if f.status != "SUCCEEDED"]
            entry[side] = {
                "failed": len(failed),
                "duration_ms": median([f.duration_ms for f in figures]),
                "agent_tasks": median([f.agent_tasks for f in figures]),
                "platform_tasks": median([f.platform_tasks for f in figures]),
                "transitions": median([f.transitions for f in figures]),
                "ms_per_agent_task": median([f.duration_ms / f.agent_tasks for f in figures
                                             if f.agent_tasks]),
                "transitions_per_agent_task": median([f.transitions / f.agent_tasks
                                                      for f in figures if f.agent_tasks]),
                "before_first_state_ms": median([f.before_first_state_ms for f in figures]),
                "first_agent_call_ms": median([f.first_agent_call_ms for f in figures]),
                "rest_ms": median([f.duration_ms - f.before_first_state_ms
                                   - f.first_agent_call_ms for f in figures]),
            }
        entry["switchyard"]["record_after_ms"] = median(record_lag[kind])
        entry["ratio"] = {key: ratio(entry["switchyard"][key], entry["floor"][key])
                          for key in ("ms_per_agent_task", "transitions_per_agent_task")}
        entry["ratio"]["ms_per_agent_task_same_start"] = ratio(
            entry["same_start"]["ms_per_agent_task"], entry["floor"]["ms_per_agent_task"])
        result[kind] = entry
    return result


def print_step_latency(r: dict[str, Any]) -> None:
    print(f"\n2. Per agent step: compiled vs hand-written plain Tasks, same functions "
          f"({r['reps']} interleaved reps, medians; target Switchyard/floor ≤ 1.15)")
    rows = [["workflow", "figure", "Switchyard", "floor", "Switchyard / floor"]]
    for kind in PAIRS:
        e = r.get(kind)
        if not e:
            continue
        s, f = e["switchyard"], e["floor"]
        name = f"{e['workflow']} ({kind})"
        rows.append([name, "ms per agent task, started through the Run API",
                     fmt(s["ms_per_agent_task"], " ms"), fmt(f["ms_per_agent_task"], " ms"),
                     verdict(e["ratio"]["ms_per_agent_task"], 1.15)])
        same = e.get("same_start")
        if same:
            rows.append(["", "ms per agent task, started like the floor (StartExecution)",
                         fmt(same["ms_per_agent_task"], " ms"), fmt(f["ms_per_agent_task"], " ms"),
                         verdict(e["ratio"]["ms_per_agent_task_same_start"], 1.15)])
        rows.append(["", "transitions per agent task", fmt(s["transitions_per_agent_task"], "", 2),
                     fmt(f["transitions_per_agent_task"], "", 2),
                     verdict(e["ratio"]["transitions_per_agent_task"], 1.15)])
        rows.append(["", "run duration", fmt(s["duration_ms"], " ms"), fmt(f["duration_ms"], " ms"),
                     fmt(ratio(s["duration_ms"], f["duration_ms"]), "×", 2)])
        rows.append(["", "transitions / agent tasks / platform tasks",
                     f"{fmt(s['transitions'])} / {fmt(s['agent_tasks'])} / {fmt(s['platform_tasks'])}",
                     f"{fmt(f['transitions'])} / {fmt(f['agent_tasks'])} / {fmt(f['platform_tasks'])}",
                     ""])
        if "before_first_state_ms" in f:
            sides = [s] + ([same] if same else [])
            for key, label in (("before_first_state_ms", "run start → first state (definition read)"),
                               ("first_agent_call_ms", "first agent invocation"),
                               ("rest_ms", "the rest of the run")):
                rows.append(["", label, " / ".join(fmt(x[key], " ms") for x in sides),
                             fmt(f[key], " ms"),
                             " / ".join(f"{x[key] - f[key]:+.1f} ms" for x in sides)])
        if s.get("record_after_ms") is not None:
            rows.append(["", "run record ended, after the execution", fmt(s["record_after_ms"], " ms"),
                         "(no record)", ""])
        if s["failed"] or f["failed"]:
            rows.append(["", "failed runs", str(s["failed"]), str(f["failed"]), ""])
    table(rows)
    print("   Started through the Run API, the start call's handling (LocalStack's Function URL and\n"
          "   its Lambda invocation, in the Python process that also runs the execution) overlaps the\n"
          "   execution's first steps; the floor is started with a bare StartExecution, and so is the\n"
          "   compiled machine in the second row, on the envelope the Run API builds.\n"
          "   Where the time goes (from the histories; Switchyard through the API / like the floor):\n"
          "   LocalStack parses a definition at every execution's start (its ANTLR parser takes\n"
          "   about 0.3 ms more for each `.$` binding or Catch than for a plain field), and parses\n"
          "   each path again (jsonpath-ng, about 0.35 ms; nothing is cached) at every evaluation\n"
          "   but the root's: the compiled states' pause routing (a Catch per task, the parked and\n"
          "   resumed states) and `$.data` result paths are what the floor's definition lacks.")


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}× ({'meets' if value <= target else 'misses'} ≤ {target})"


def verdict_abs(value: float | None, target: float, unit: str = " ms") -> str:
    if value is None:
        return "—"
    return f"{value:.1f}{unit} ({'meets' if value <= target else 'misses'} ≤ {target:g}{unit})"


# ---------------------------------------------------------------------------------------
# 3. Concurrency ladder


def ladder_step(n: int, workflow: str, input_: dict[str, Any], deployment: dict[str, Any],
                api: stack.RunApi) -> dict[str, Any]:
    sfn, dynamodb = stack.client("stepfunctions"), stack.client("dynamodb")
    machine = deployment["state_machines"][workflow]
    runs_table, steps_table = deployment["tables"]["runs"], deployment["tables"]["steps"]
    cpu_before = stack.bootstrap_cpu()
    started_ids: list[str] = []
    start_errors: list[str] = []
    lock = threading.Lock()
    done = threading.Event()
    # One sample per status read: GET end to end, the handler's own time and when it began
    # (Unix ms), and the direct reads of the same run made right after it (GetItem, Query).
    samples: list[tuple[float, float | None, float | None, float, float]] = []
    sampled_at: list[float] = []  # seconds since the rung began, per sample
    # The anchors: direct GetItems of the runs' items, and direct Queries of their steps
    # (the API's other read), made all through the rung by a reader each, each with when it
    # began (Unix ms) and its milliseconds; a status read is paired with the ones made while
    # its handler ran.
    anchor_reads: list[tuple[float, float]] = []
    anchor_queries: list[tuple[float, float]] = []

    def start_one(_: int) -> None:
        try:
            run_id = api.start(workflow, input_)
            with lock:
                started_ids.append(run_id)
        except Exception as error:  # counted as a failure, not fatal to the step
            with lock:
                start_errors.append(str(error)[:200])

    def some_run() -> str | None:
        """A run of this rung to read, or None (after a short wait) before any started."""
        with lock:
            run_id = random.choice(started_ids) if started_ids else None
        if run_id is None:
            time.sleep(0.05)
        return run_id

    def read_directly(client: Any, run_id: str, steps: bool) -> float:
        """Milliseconds of a direct read of the run's item, or (`steps`) of its steps."""
        t = time.perf_counter()
        if steps:
            client.query(TableName=steps_table, KeyConditionExpression="run_id = :r",
                         ExpressionAttributeValues={":r": {"S": run_id}})
        else:
            client.get_item(TableName=runs_table, Key={"run_id": {"S": run_id}})
        return (time.perf_counter() - t) * 1000

    def anchor(steps: bool) -> None:
        client = stack.client("dynamodb")
        into = anchor_queries if steps else anchor_reads
        while not done.is_set():
            if (run_id := some_run()) is None:
                continue
            began = time.time() * 1000
            took = read_directly(client, run_id, steps)
            with lock:
                into.append((began, took))
            time.sleep(ANCHOR_GAP_S)

    def sample_reads() -> None:
        # GET /runs/{id}, then the direct reads of the same run (the run's item, and its
        # step records: the API's other read); a client of its own, so the handler time it
        # reads back is its own request's.
        reader = copy.copy(api)
        while not done.is_set():
            if (run_id := some_run()) is None:
                continue
            status, body, a = reader.request("GET", f"/runs/{run_id}")
            if status != 200:
                raise RuntimeError(f"GET /runs/{run_id}: {status} {body}")
            d = read_directly(dynamodb, run_id, steps=False)
            q = read_directly(dynamodb, run_id, steps=True)
            with lock:
                samples.append((a, reader.server_ms, reader.server_start_ms, d, q))
                sampled_at.append(time.time() - wall_started)

    # A few readers at once, as clients polling their runs would be: one alone, waiting for
    # each request to cross LocalStack, gets about ten samples a rung, too few for a p95.
    samplers = [threading.Thread(target=sample_reads, daemon=True) for _ in range(STATUS_READERS)]
    samplers += [threading.Thread(target=anchor, args=(steps,), daemon=True)
                 for steps in (False, True)]
    wall_started = time.time()
    for sampler in samplers:
        sampler.start()
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        list(pool.map(start_one, range(n)))
    arns = [stack.execution_arn(machine, run_id) for run_id in started_ids]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        described = list(pool.map(lambda arn: stack.wait_finished(sfn, arn), arns))
    done.set()
    for sampler in samplers:
        sampler.join()
    cpu_after = stack.bootstrap_cpu()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        figures = list(pool.map(lambda arn: stack.run_figures(sfn, arn), arns))

    def step_records(run_id: str) -> int:
        count, kwargs = 0, {"TableName": steps_table, "Select": "COUNT",
                            "KeyConditionExpression": "run_id = :r",
                            "ExpressionAttributeValues": {":r": {"S": run_id}}}
        while True:
            page = dynamodb.query(**kwargs)
            count += page["Count"]
            if "LastEvaluatedKey" not in page:
                return count
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    records = [step_records(run_id) for run_id in started_ids]
    lost = sum(max(0, f.agent_tasks_succeeded - r) for f, r in zip(figures, records))
    first_start = min((d["startDate"].timestamp() for d in described), default=wall_started)
    last_stop = max((d["stopDate"].timestamp() for d in described), default=time.time())
    agent_tasks = sum(f.agent_tasks for f in figures)

    cpu_ms: dict[str, float] = {"agents": 0.0, "bookkeeping": 0.0, "api": 0.0}
    by_ticks = 0  # processes whose figure is the kernel's 10 ms ticks, not exact
    for pid, reading in cpu_after.items():
        used, exact = stack.cpu_used_ms(cpu_before.get(pid), reading)
        by_ticks += 0 if exact or used == 0 else 1
        side = ("api" if reading.function == "api" else
                "bookkeeping" if reading.function in stack.PLATFORM_FUNCTIONS else "agents")
        cpu_ms[side] += used
    # The API process serves both the starts and the bench's own status reads, whose number
    # grows with each rung's wall time: the runs are charged the starts' share of it.
    api_requests = len(started_ids) + len(start_errors) + len(samples)
    api_per_request = cpu_ms["api"] / api_requests if api_requests else 0.0
    platform = cpu_ms["bookkeeping"] + api_per_request * (len(started_ids) + len(start_errors))
    # The reads made during the load: a handler that began before the last run ended. The
    # readers' last requests, queued behind the load in LocalStack, reach the API together
    # once it ends, eight at once on an idle stack: not a read under load.
    taken = samples

    def during_load(sample: tuple[float, float | None, float | None, float, float]) -> bool:
        return sample[2] is not None and first_start * 1000 <= sample[2] <= last_stop * 1000

    in_load = [during_load(sample) for sample in taken]
    samples = [sample for sample, loaded in zip(taken, in_load) if loaded]
    api_ms = [a for a, _, _, _, _ in samples]
    server_ms = [s for _, s, _, _, _ in samples if s is not None]
    after_ms = [d for _, _, _, d, _ in samples]
    query_ms = [q for _, _, _, _, q in samples]
    # The direct reads made while each handler ran: the GetItem, and the same two reads as
    # the API's (the slower of the GetItem and the steps Query in flight then: what reading
    # the status without the API costs).
    def at_same_time(sample: tuple[float, float | None, float | None, float, float],
                     ) -> tuple[float | None, float | None]:
        _, server, server_start, _, _ = sample
        get = read_at(anchor_reads, server_start, server)
        query = read_at(anchor_queries, server_start, server)
        return get, None if get is None or query is None else max(get, query)

    same_time = [at_same_time(sample) for sample in taken]
    counted = [(sample[1], reads) for sample, reads, loaded in zip(taken, same_time, in_load)
               if loaded and sample[1] is not None]
    paired = [(server, get) for server, (get, _) in counted if get is not None]
    paired_both = [(server, both) for server, (_, both) in counted if both is not None]
    direct_ms = [d for _, d in paired]
    both_ms = [b for _, b in paired_both]
    result = {
        "concurrency": n,
        "workflow": workflow,
        "started": len(started_ids),
        "failures": len(start_errors) + sum(1 for f in figures if f.status != "SUCCEEDED"),
        "start_errors": start_errors[:5],
        "agent_tasks": agent_tasks,
        "wall_s": last_stop - first_start,
        "agent_executions_per_min": agent_tasks / (last_stop - first_start) * 60
        if last_stop > first_start else None,
        "run_p50_ms": percentile([f.duration_ms for f in figures], 50),
        "run_p95_ms": percentile([f.duration_ms for f in figures], 95),
        "transitions_median": median([f.transitions for f in figures]),
        "get_run_samples": len(samples),
        "get_run_samples_after_the_load": len(taken) - len(samples),
        "get_run_p50_ms": percentile(api_ms, 50),
        "get_run_p95_ms": percentile(api_ms, 95),
        "get_item_p50_ms": percentile(direct_ms, 50),
        "get_item_p95_ms": percentile(direct_ms, 95),
        "get_item_paired": len(paired),
        "get_item_reads": len(anchor_reads),
        "same_reads_p50_ms": percentile(both_ms, 50),
        "same_reads_p95_ms": percentile(both_ms, 95),
        "same_reads_paired": len(paired_both),
        "get_item_after_p50_ms": percentile(after_ms, 50),
        "get_item_after_p95_ms": percentile(after_ms, 95),
        "steps_query_p50_ms": percentile(query_ms, 50),
        "steps_query_p95_ms": percentile(query_ms, 95),
        "lost_records": lost,
        "bootstrap_processes": len(cpu_after),
        "processes_started": len(set(cpu_after) - set(cpu_before)),
        "cpu_ms_per_agent_execution": {
            "all": (cpu_ms["agents"] + platform) / agent_tasks if agent_tasks else None,
            "agent_functions": cpu_ms["agents"] / agent_tasks if agent_tasks else None,
            "platform_functions": platform / agent_tasks if agent_tasks else None,
        },
        "api_cpu_ms_per_request": api_per_request,
        "cpu_ms_by_side": cpu_ms,
        "cpu_processes_by_ticks": by_ticks,
        "api_requests": api_requests,
        "get_run_server_p50_ms": percentile(server_ms, 50),
        "get_run_server_p95_ms": percentile(server_ms, 95),
        # Every status-read sample, for pooling runs or finding when a tail happened:
        # [seconds into the rung, GET end to end, in the API, GetItem at the same time,
        # GetItem after, steps Query after, the same two reads at the same time] in ms, and
        # whether it was made during the load (what the figures above count).
        "status_samples": [
            [round(t, 2), round(a, 2), rounded(server), rounded(get), round(d, 2), round(q, 2),
             rounded(both), loaded]
            for t, (a, server, _, d, q), (get, both), loaded
            in zip(sampled_at, taken, same_time, in_load)],
    }
    result["get_run_ratio_p50"] = ratio(result["get_run_p50_ms"], result["get_item_p50_ms"])
    result["get_run_ratio_p95"] = ratio(result["get_run_p95_ms"], result["get_item_p95_ms"])
    result["get_run_server_ratio_p95"] = ratio(result["get_run_server_p95_ms"],
                                               result["get_item_p95_ms"])
    result["get_run_server_ratio_p95_interval"] = p95_ratio_interval(paired)
    result["get_run_server_same_reads_ratio_p95"] = ratio(result["get_run_server_p95_ms"],
                                                          result["same_reads_p95_ms"])
    result["get_run_server_same_reads_ratio_p95_interval"] = p95_ratio_interval(paired_both)
    return result


def ladder(args: argparse.Namespace, deployment: dict[str, Any], api: stack.RunApi,
           ) -> dict[str, Any]:
    workflow, input_ = PAIRS["chain"]
    # Warm-up at the top rung's concurrency, so that every rung finds the processes it needs
    # warm (as a deployment serving steady traffic does) and the CPU per execution compares
    # like with like; each rung reports the processes it still had to start.
    print(f"   ladder: warm-up, {max(args.ladder)} concurrent {workflow} runs…", flush=True)
    ladder_step(max(args.ladder), workflow, input_, deployment, api)
    steps = []
    for n in args.ladder:
        print(f"   ladder: {n} concurrent {workflow} runs…", flush=True)
        steps.append(ladder_step(n, workflow, input_, deployment, api))
    # The status-read target is a p95 ratio, which one rung's 60–100 pairs place only within
    # about ±0.4: the top rung is run again, and its status reads are pooled over the bursts.
    top = max(args.ladder)
    again = []
    for burst in range(2, args.status_bursts + 1):
        print(f"   ladder: {top} concurrent {workflow} runs again, for the status reads "
              f"({burst}/{args.status_bursts})…", flush=True)
        again.append(ladder_step(top, workflow, input_, deployment, api))
    tops = [s for s in steps if s["concurrency"] == top] + again
    status = pooled_status([sample for s in tops for sample in s["status_samples"] if sample[7]])
    status.update(concurrency=top, bursts=len(tops),
                  failures=sum(s["failures"] for s in again),
                  lost_records=sum(s["lost_records"] for s in again))
    return {"workflow": workflow, "steps": steps, "again": again, "status_at_top": status}


def interval(bounds: list[float] | tuple[float, float] | None) -> str:
    return f" [90%: {bounds[0]:.2f}–{bounds[1]:.2f}]" if bounds else ""


def print_ladder(r: dict[str, Any]) -> None:
    print(f"\n3. Concurrency ladder: {r['workflow']} runs started together through the Run API "
          f"(GET /runs/{{id}} sampled by {STATUS_READERS} readers during the load, against a "
          "direct GetItem of a run's item made while each request's handler ran; target ≤ 1.3)")
    print("   GET /runs is the whole request through LocalStack's Function URL; \"in the API\" is "
          "the handler's own time (its Server-Timing header): the reads Switchyard makes. "
          "\"after\": the direct reads of the same run made right after each request.")
    rows = [["runs", "agent exec/min", "run p50 / p95", "GET /runs p50 / p95",
             "in the API p50 / p95", "GetItem at the same time p50 / p95 (pairs)",
             "GetItem / steps Query after, p95",
             "GET / GetItem p95",
             "in the API / GetItem p95", "the same two reads direct p50 / p95",
             "in the API / the same reads p95", "failures", "lost records",
             "CPU ms / agent exec (agents + platform)", "processes started"]]
    for s in r["steps"]:
        cpu = s["cpu_ms_per_agent_execution"]
        rows.append([
            str(s["concurrency"]), fmt(s["agent_executions_per_min"], "", 0),
            f"{fmt(s['run_p50_ms'], '', 0)} / {fmt(s['run_p95_ms'], ' ms', 0)}",
            f"{fmt(s['get_run_p50_ms'])} / {fmt(s['get_run_p95_ms'], ' ms')}",
            f"{fmt(s.get('get_run_server_p50_ms'))} / {fmt(s.get('get_run_server_p95_ms'), ' ms')}",
            f"{fmt(s['get_item_p50_ms'])} / {fmt(s['get_item_p95_ms'], ' ms')} "
            f"({s.get('get_item_paired', '—')})",
            f"{fmt(s.get('get_item_after_p95_ms'))} / {fmt(s.get('steps_query_p95_ms'), ' ms')}",
            verdict(s["get_run_ratio_p95"], 1.3),
            verdict(s.get("get_run_server_ratio_p95"), 1.3)
            + interval(s.get("get_run_server_ratio_p95_interval")),
            f"{fmt(s.get('same_reads_p50_ms'))} / {fmt(s.get('same_reads_p95_ms'), ' ms')}",
            fmt(s.get("get_run_server_same_reads_ratio_p95"), "×", 2)
            + interval(s.get("get_run_server_same_reads_ratio_p95_interval")),
            str(s["failures"]), str(s["lost_records"]),
            f"{fmt(cpu['all'], '', 2)} ({fmt(cpu['agent_functions'], '', 2)} + "
            f"{fmt(cpu['platform_functions'], '', 2)})",
            str(s.get("processes_started", "—")),
        ])
    table(rows)
    top = r.get("status_at_top")
    if top and top["bursts"] > 1:
        print(f"\n   Status reads during {top['concurrency']} concurrent runs, pooled over "
              f"{top['bursts']} bursts (the rung above and {top['bursts'] - 1} more; "
              f"failures / lost records in the extra bursts: {top['failures']} / "
              f"{top['lost_records']}); target ≤ 1.3:")
        status_rows([(str(top["concurrency"]), top)])


# ---------------------------------------------------------------------------------------
# 4. Compiler time, definition sizes, estimates vs observed


def compiler(args: argparse.Namespace, observed: dict[str, float]) -> dict[str, Any]:
    times = []
    for _ in range(args.compiler_reps):
        out = tempfile.mkdtemp(prefix="bench-compiler-")
        started = time.perf_counter()
        subprocess.run(["cargo", "run", "--quiet", "--bin", "compiler", "--", "--out", out],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - started) * 1000)
        shutil.rmtree(out)
    manifest = json.loads((ROOT / "build/manifest.json").read_text())
    machines = []
    for machine in manifest["state_machines"]:
        path = ROOT / "build" / machine["definition"]
        size = path.stat().st_size
        machines.append({
            "workflow": machine["workflow"],
            "definition_bytes": size,
            "share_of_limit": size / DEFINITION_LIMIT_BYTES,
            "estimate": machine.get("estimate", {}),
            "observed_transitions": observed.get(machine["workflow"]),
        })
    return {"reps": args.compiler_reps, "wall_ms": median(times), "wall_ms_all": times,
            "state_machines": machines}


def print_compiler(r: dict[str, Any]) -> None:
    print(f"\n4. Compiler: `cargo run --bin compiler -- --out DIR` (already built), median of "
          f"{r['reps']}: {fmt(r['wall_ms'], ' ms', 0)}")
    keys = sorted({k for m in r["state_machines"] for k in m["estimate"]
                   if k in ("state_transitions", "expected_state_transitions", "expected_transitions")
                   or "transition" in k and "cost" not in k})
    rows = [["workflow", "definition", "of 1 MB limit"] + [f"estimate: {k}" for k in keys]
            + ["observed transitions (median)"]]
    for m in r["state_machines"]:
        rows.append([m["workflow"], f"{m['definition_bytes']:,} B", f"{m['share_of_limit']:.2%}"]
                    + [fmt(m["estimate"].get(k)) for k in keys]
                    + [fmt(m["observed_transitions"])])
    table(rows)


# ---------------------------------------------------------------------------------------
# Results: print, save, compare


def headline(result: dict[str, Any]) -> dict[str, float]:
    """The figures --compare diffs, flattened to name → value."""
    flat: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            flat[prefix] = float(value)
        elif isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, list):
            for inner in value:
                if isinstance(inner, dict):
                    label = inner.get("concurrency") or inner.get("workflow")
                    if label is not None:
                        walk(f"{prefix}[{label}]", inner)

    walk("", result.get("sections", {}))
    return flat


def compare(current: dict[str, Any], earlier_path: Path, earlier: dict[str, Any]) -> None:
    now, then = headline(current), headline(earlier)
    print(f"\nDeltas against {earlier_path} ({earlier.get('started_at', '?')}):")
    rows = [["figure", "then", "now", "change"]]
    skip = ("reps", "wall_ms_all", "share_of_limit")
    for key in sorted(now.keys() & then.keys()):
        if any(part in key for part in skip):
            continue
        a, b = then[key], now[key]
        change = "=" if a == b else (f"{(b - a) / a:+.1%}" if a else f"{b - a:+g}")
        rows.append([key, f"{a:,.4g}", f"{b:,.4g}", change])
    table(rows)


def print_all(result: dict[str, Any]) -> None:
    sections = result["sections"]
    if "cold" in sections:
        print_cold_start(sections["cold"])
    if "steps" in sections:
        print_step_latency(sections["steps"])
    if "ladder" in sections:
        print_ladder(sections["ladder"])
    if "compiler" in sections:
        print_compiler(sections["compiler"])


def pooled_status(samples: list[list[Any]]) -> dict[str, Any]:
    """One p95 ratio from the status-read samples of several rungs (rows as in
    `status_samples`, made during the load): in the API against the GetItem made at the
    same time, and against the same two reads."""
    pairs = [(x[2], x[3]) for x in samples if x[2] is not None and x[3] is not None]
    both = [(x[2], x[6]) for x in samples
            if len(x) > 6 and x[2] is not None and x[6] is not None]

    def p95(values: list[tuple[float, float]], side: int) -> float | None:
        return percentile([v[side] for v in values], 95)

    return {
        "pairs": len(pairs),
        "in_api_p95_ms": p95(pairs, 0),
        "get_item_p95_ms": p95(pairs, 1),
        "ratio_p95": ratio(p95(pairs, 0), p95(pairs, 1)),
        "ratio_p95_interval": p95_ratio_interval(pairs),
        "same_reads_pairs": len(both),
        "same_reads_p95_ms": p95(both, 1),
        "same_reads_ratio_p95": ratio(p95(both, 0), p95(both, 1)),
        "same_reads_ratio_p95_interval": p95_ratio_interval(both),
    }


def status_rows(label_rows: list[tuple[str, dict[str, Any]]]) -> None:
    rows = [["runs", "pairs", "in the API p95", "GetItem at the same time p95",
             "in the API / GetItem p95", "the same two reads p95", "in the API / the same reads"]]
    for label, r in label_rows:
        rows.append([
            label, str(r["pairs"]), fmt(r["in_api_p95_ms"], " ms"), fmt(r["get_item_p95_ms"], " ms"),
            verdict(r["ratio_p95"], 1.3) + interval(r["ratio_p95_interval"]),
            f"{fmt(r['same_reads_p95_ms'], ' ms')} ({r['same_reads_pairs']})",
            fmt(r["same_reads_ratio_p95"], "×", 2) + interval(r["same_reads_ratio_p95_interval"]),
        ])
    table(rows)


def pool(paths: list[Path]) -> None:
    """The status reads made during the load in several results, pooled per rung: one p95
    ratio from all their pairs, where one rung's pairs place it only within about ±0.4."""
    by_rung: dict[int, list[list[Any]]] = {}
    for path in paths:
        ladder_result = json.loads(path.read_text())["sections"].get("ladder")
        ladder_result = ladder_result or {}
        for rung in ladder_result.get("steps", []) + ladder_result.get("again", []):
            for sample in rung.get("status_samples", []):
                # Results before the flag: a sample that came back within the rung's wall
                # time (a little stricter than the handler's start).
                in_load = sample[7] if len(sample) > 7 else sample[0] <= rung["wall_s"]
                if in_load:
                    by_rung.setdefault(rung["concurrency"], []).append(sample)
    print(f"Status reads during the load, pooled over {len(paths)} results (target ≤ 1.3)")
    status_rows([(str(n), pooled_status(samples)) for n, samples in sorted(by_rung.items())])


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="fewer reps (3, cold start 5) and the ladder up to 25")
    parser.add_argument("--reps", type=int, help="reps per pair in section 2 (default 21)")
    parser.add_argument("--only", default="cold,steps,ladder,compiler",
                        help="comma-separated sections: cold,steps,ladder,compiler")
    parser.add_argument("--ladder", help="concurrency levels, e.g. 10,25,50,100")
    parser.add_argument("--status-bursts", type=int,
                        help="bursts at the top rung whose status reads are pooled (default 3)")
    parser.add_argument("--dev-bootstrap", action="store_true",
                        help="cold start with the dev build of bootstrap (labelled so)")
    parser.add_argument("--compare", type=Path, help="print deltas against this earlier result")
    parser.add_argument("--out", type=Path, help="also write the result here")
    parser.add_argument("--pool", type=Path, nargs="+", metavar="RESULT",
                        help="pool the status reads of these results per rung; runs nothing")
    args = parser.parse_args()
    if args.pool:
        pool(args.pool)
        return
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    if args.compare and args.only == parser.get_default("only") and len(sys.argv) == 3:
        # `bench/run --compare FILE` alone: the latest result against FILE, nothing rerun.
        current = json.loads((RESULTS / "latest.json").read_text())
        print_all(current)
        compare(current, args.compare, json.loads(args.compare.read_text()))
        return
    # Read now: the run below rewrites latest.json, which may be the file compared with.
    earlier = json.loads(args.compare.read_text()) if args.compare else None
    args.reps = args.reps or (5 if args.quick else 21)
    args.cold_reps = 5 if args.quick else 15
    args.compiler_reps = 1 if args.quick else 3
    args.status_bursts = max(1, args.status_bursts or (1 if args.quick else 3))
    args.ladder = [int(n) for n in (args.ladder or ("10,25" if args.quick else "10,25,50,100"))
                   .split(",")]

    started = time.time()
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip(),
        "host": {"cores": os.cpu_count(), "python": platform.python_version(),
                 "stack": "LocalStack 4.8 host mode + DynamoDB Local"},
        "options": {"quick": args.quick, "reps": args.reps, "cold_reps": args.cold_reps,
                    "ladder": args.ladder, "status_bursts": args.status_bursts},
        "sections": {},
    }
    deployment = stack.ensure_deployed()
    api = stack.RunApi(deployment["api_url"], (stack.CACHE / "api-key-local").read_text().strip())
    out = result["sections"]
    if "cold" in sections:
        print("bench: 1. agent cold start…", flush=True)
        out["cold"] = cold_start(args, deployment)
        print_cold_start(out["cold"])
    if "steps" in sections:
        print("\nbench: 2. per-agent-step latency…", flush=True)
        out["steps"] = step_latency(args, deployment, api)
        print_step_latency(out["steps"])
    if "ladder" in sections:
        print("\nbench: 3. concurrency ladder…", flush=True)
        out["ladder"] = ladder(args, deployment, api)
        print_ladder(out["ladder"])
    if "compiler" in sections:
        print("\nbench: 4. compiler…", flush=True)
        observed: dict[str, float] = {}
        for kind, (workflow, _) in PAIRS.items():
            if kind in out.get("steps", {}):
                observed[workflow] = out["steps"][kind]["switchyard"]["transitions"]
        for step in out.get("ladder", {}).get("steps", []):
            observed.setdefault(step["workflow"], step["transitions_median"])
        out["compiler"] = compiler(args, observed)
        print_compiler(out["compiler"])
    result["wall_s"] = time.time() - started

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace(":", "").replace("-", "")
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    paths = [RESULTS / f"{stamp}.json", RESULTS / "latest.json"] + ([args.out] if args.out else [])
    for path in paths:
        path.write_text(text)
    print(f"\nbench: done in {result['wall_s']:.0f} s; results: {paths[0]} (and latest.json)")
    if args.compare and earlier is not None:
        compare(result, args.compare, earlier)


if __name__ == "__main__":
    main()
