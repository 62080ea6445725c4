//! `GET /metrics` on the live local stack, for a tenant made for the test: runs with known
//! outcomes (two succeed, two fail with different errors, one is cancelled) and two gated
//! runs (one decided through the API, one left to time out), then the figures of each
//! workflow, exact, and each agent's attempts as the steps table recorded them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use switchyard_e2e::{ApiClient, Stack};

const LIMIT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(300);

/// The tenant's API client, with what every answer here must be: JSON, never a 5xx.
struct Api(ApiClient);

impl Api {
    /// A tenant made for this test alone, so its figures hold only what the test did.
    async fn fresh_tenant(label: &'static str) -> Api {
        let client = tokio::task::spawn_blocking(move || ApiClient::fresh_tenant(label))
            .await
            .expect("a key");
        Api(client)
    }

    /// `(status, body)`; every answer is JSON, never a 5xx.
    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, body) = self.0.call(method, path, body.cloned()).await;
        assert!(status < 500, "{method} {path} answered {status}: {body}");
        (status, body)
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn start(&self, workflow: &str, input: Value, auto_approve: bool) -> String {
        let mut body = json!({ "workflow": workflow, "input": input });
        if !auto_approve {
            body["auto_approve"] = json!(false);
        }
        let (status, started) = self.call("POST", "/runs/start", Some(&body)).await;
        assert_eq!(status, 202, "start {body}: {started}");
        started["run_id"].as_str().expect("a run id").to_owned()
    }

    /// Follows the run until it leaves `running`.
    async fn finished(&self, run_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let run = self.get(&format!("/runs/{run_id}")).await;
            if run["status"] != "running" {
                return run;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {run_id} still running after {LIMIT:?}: {run}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The run's pending request at `gate`, once it waits there.
    async fn pending(&self, run_id: &str, gate: &str) -> Value {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let run = self.get(&format!("/runs/{run_id}")).await;
            let pending = run["approvals"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["gate"] == gate && a["status"] == "pending")
                .cloned();
            if let Some(approval) = pending {
                return approval;
            }
            assert_eq!(run["status"], "running", "{run_id} ended first: {run}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {run_id} not waiting at {gate} after {LIMIT:?}: {run}"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Per agent: attempts, succeeded, failed, running — from the step records of `runs`.
async fn recorded_attempts(stack: &Stack, runs: &[&str]) -> BTreeMap<String, [u64; 4]> {
    let mut counts: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    for run in runs {
        for step in stack.step_records(run).await {
            let Some(agent) = step.get("agent").and_then(Value::as_str) else {
                continue;
            };
            let entry = counts.entry(agent.to_owned()).or_default();
            entry[0] += 1;
            match step.get("status").and_then(Value::as_str) {
                Some("succeeded") => entry[1] += 1,
                Some("failed") => entry[2] += 1,
                _ => entry[3] += 1,
            }
        }
    }
    counts
}

/// Per agent, as `/metrics` reports them.
fn reported_attempts(metrics: &Value) -> BTreeMap<String, [u64; 4]> {
    metrics["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let n = |key: &str| a[key].as_u64().unwrap_or_default();
            (
                a["agent"].as_str().unwrap_or_default().to_owned(),
                [n("attempts"), n("succeeded"), n("failed"), n("running")],
            )
        })
        .collect()
}

/// `GET /metrics?workflow=<workflow>` once its agents agree with the step records of `runs`
/// and `settled` holds (records land a little after the runs end: a stopped run's last
/// attempt, an expiry), or as it is after 20 s; with those step records' counts.
async fn settled_metrics(
    api: &Api,
    stack: &Stack,
    workflow: &str,
    runs: &[&str],
    settled: impl Fn(&Value) -> bool,
) -> (Value, BTreeMap<String, [u64; 4]>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let recorded = recorded_attempts(stack, runs).await;
        let metrics = api.get(&format!("/metrics?workflow={workflow}")).await;
        let agreed = reported_attempts(&metrics) == recorded && settled(&metrics);
        if agreed || tokio::time::Instant::now() >= deadline {
            return (metrics, recorded);
        }
        tokio::time::sleep(POLL).await;
    }
}

fn only_workflow<'a>(metrics: &'a Value, name: &str) -> &'a Value {
    let workflows = metrics["workflows"].as_array().expect("workflows");
    assert_eq!(workflows.len(), 1, "{metrics}");
    assert_eq!(workflows[0]["workflow"], name, "{metrics}");
    &workflows[0]
}

#[tokio::test]
async fn metrics_count_the_tenants_outcomes_errors_agents_and_gates_exactly() {
    let stack = Stack::connect().await;
    let (api, other) = tokio::join!(
        Api::fresh_tenant("metrics"),
        Api::fresh_tenant("metrics-other")
    );

    // Nothing ran yet: the workflow asked about shows, empty.
    let before = api.get("/metrics?workflow=self-test").await;
    let empty = only_workflow(&before, "self-test");
    assert_eq!(
        (
            &empty["runs_started"],
            &empty["completion_rate"],
            &before["agents"]
        ),
        (&json!(0), &Value::Null, &json!([])),
        "{before}"
    );

    // Known outcomes: two successes (one after a retried failure), a run whose flaky step
    // never recovers (Agent.Retryable), one with too many map items (Switchyard.TooManyItems),
    // and one cancelled while its flaky step retries.
    let numbers: Vec<i64> = (1..=11).collect();
    let inputs = [
        json!({ "fail_times": 0, "numbers": [1, 2] }),
        json!({ "fail_times": 1, "numbers": [3] }),
        json!({ "fail_times": 9, "numbers": [] }),
        json!({ "fail_times": 0, "numbers": numbers }),
    ];
    let mut runs = Vec::new();
    for input in inputs {
        runs.push(api.start("self-test", input, true).await);
    }
    let to_cancel = api
        .start(
            "self-test",
            json!({ "fail_times": 3, "numbers": [4] }),
            true,
        )
        .await;
    let (status, cancelled) = api
        .call("DELETE", &format!("/runs/{to_cancel}"), None)
        .await;
    assert_eq!(status, 200, "cancel: {cancelled}");
    runs.push(to_cancel);

    // Two gated runs: one decided through the API, one left until its 8 s gate times out.
    let decided = api
        .start("gate-test", json!({ "topic": "yes" }), false)
        .await;
    let timed_out = api
        .start("gate-test", json!({ "topic": "late" }), false)
        .await;
    let request = api.pending(&decided, "ask").await;
    let decision = json!({ "request_id": request["request_id"], "decision": "approve" });
    let (status, answer) = api.call("POST", "/approvals/submit", Some(&decision)).await;
    assert_eq!(status, 200, "decision: {answer}");

    let mut ended = Vec::new();
    for run in runs.iter().chain([&decided, &timed_out]) {
        ended.push(api.finished(run).await["status"].clone());
    }
    assert_eq!(
        ended,
        [
            "succeeded",
            "succeeded",
            "failed",
            "failed",
            "cancelled",
            "succeeded",
            "succeeded"
        ],
        "the runs ended as planned"
    );

    // The self-test figures, exact; each agent's attempts as the steps table has them.
    let self_test_runs: Vec<&str> = runs.iter().map(String::as_str).collect();
    let (metrics, recorded) =
        settled_metrics(&api, &stack, "self-test", &self_test_runs, |_| true).await;
    let figures = only_workflow(&metrics, "self-test");
    assert_eq!(
        (
            &figures["runs_started"],
            &figures["succeeded"],
            &figures["failed"],
            &figures["cancelled"],
            &figures["running"],
            &figures["ended"],
        ),
        (
            &json!(5),
            &json!(2),
            &json!(2),
            &json!(1),
            &json!(0),
            &json!(5)
        ),
        "{figures}"
    );
    assert_eq!(figures["completion_rate"], json!(0.4), "{figures}");
    assert_eq!(figures["failure_rate"], json!(0.4), "{figures}");
    assert_eq!(
        figures["failures_by_error"],
        json!({ "Agent.Retryable": 1, "Switchyard.TooManyItems": 1 }),
        "{figures}"
    );
    let mean = figures["execution_ms"]["mean"].as_u64().expect("a mean");
    let p95 = figures["execution_ms"]["p95"].as_u64().expect("a p95");
    assert!(mean > 0 && mean <= p95, "{figures}");
    assert_eq!(reported_attempts(&metrics), recorded, "{metrics}");
    assert!(
        recorded.get("flaky").is_some_and(|c| c[2] >= 5),
        "the flaky step's failures are among them: {recorded:?}"
    );
    // Gate-test's runs are not self-test's.
    assert_eq!(metrics["approvals"]["overall"]["requested"], 0, "{metrics}");

    // The gates: one approved through the API, one expired.
    let gate_runs = [decided.as_str(), timed_out.as_str()];
    let (gates, gate_attempts) = settled_metrics(&api, &stack, "gate-test", &gate_runs, |m| {
        let overall = &m["approvals"]["overall"];
        overall["pending"] == 0 && overall["requested"] == 2
    })
    .await;
    let figures = only_workflow(&gates, "gate-test");
    assert_eq!(
        (&figures["runs_started"], &figures["completion_rate"]),
        (&json!(2), &json!(1.0)),
        "{figures}"
    );
    let overall = &gates["approvals"]["overall"];
    assert_eq!(
        (
            &overall["requested"],
            &overall["decided"],
            &overall["approved"],
            &overall["rejected"],
            &overall["expired"],
            &overall["pending"],
        ),
        (
            &json!(2),
            &json!(1),
            &json!(1),
            &json!(0),
            &json!(1),
            &json!(0)
        ),
        "{overall}"
    );
    assert!(
        overall["turnaround_ms"]["p50"]
            .as_u64()
            .is_some_and(|ms| ms < 60_000),
        "{overall}"
    );
    let per_gate = gates["approvals"]["gates"].as_array().expect("gates");
    assert_eq!(per_gate.len(), 1, "{gates}");
    assert_eq!(
        (&per_gate[0]["workflow"], &per_gate[0]["gate"]),
        (&json!("gate-test"), &json!("ask"))
    );
    assert_eq!(reported_attempts(&gates), gate_attempts, "{gates}");
    assert_eq!(
        gate_attempts.keys().collect::<Vec<_>>(),
        ["on_approved", "on_timed_out"],
        "one attempt down each path"
    );

    // Another tenant sees none of it.
    let theirs = other.get("/metrics?workflow=self-test").await;
    assert_eq!(
        only_workflow(&theirs, "self-test")["runs_started"],
        0,
        "{theirs}"
    );
    assert_eq!(theirs["agents"], json!([]), "{theirs}");
    let all_theirs = other.get("/metrics").await;
    assert_eq!(all_theirs["workflows"], json!([]), "{all_theirs}");
    assert_eq!(
        all_theirs["approvals"]["overall"]["requested"], 0,
        "{all_theirs}"
    );

    // Bad parameters name their field.
    for (query, field) in [
        ("window_minutes=0", "window_minutes"),
        ("window_minutes=43201", "window_minutes"),
        ("workflow=no-such-workflow", "workflow"),
    ] {
        let (status, body) = api.call("GET", &format!("/metrics?{query}"), None).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{query}: {body}"
        );
    }
}
