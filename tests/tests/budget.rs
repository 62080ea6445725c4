//! Run budgets through the Run API on the live local stack (the offline embedded model
//! answers every model exchange).
//!
//! `campaign-creation` starts with the code-only `analyst`, then `strategist`, which asks the
//! model once: a budget too small for that exchange fails the step with `Budget.Exceeded` (never retried, never sent) and
//! the run with it; a generous one lets the run go on to its first gate, with what the
//! exchange spent added to the run. `self-test` declares `budget(tokens = 100_000,
//! usd = 1.0)`, which its runs keep unless their start replaces a limit.

use std::time::Duration;

use serde_json::{json, Value};
use switchyard_e2e::ApiClient;

const LIMIT: Duration = Duration::from_secs(120);

fn campaign() -> Value {
    json!({ "brand_id": "acme", "selected_month": "2024-11" })
}

fn ended(run: &Value) -> bool {
    !matches!(run["status"].as_str(), Some("running" | "paused"))
}

/// The run's attempts of `step`.
fn attempts<'a>(run: &'a Value, step: &str) -> Vec<&'a Value> {
    run["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["step"] == step)
        .collect()
}

fn tokens_of(attempt: &Value) -> u64 {
    attempt["tokens_in"].as_u64().unwrap_or_default()
        + attempt["tokens_out"].as_u64().unwrap_or_default()
}

async fn start(api: &ApiClient, body: Value) -> String {
    let (status, answer) = api.post("/runs/start", body.clone()).await;
    assert_eq!(status, 202, "start {body}: {answer}");
    answer["run_id"].as_str().expect("a run id").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_exchange_the_budget_cannot_pay_for_fails_the_run_with_budget_exceeded() {
    let api = ApiClient::fresh_tenant("budget-spent");
    let run_id = start(
        &api,
        json!({
            "workflow": "campaign-creation",
            "input": campaign(),
            "auto_approve": false,
            "budget": { "tokens": 10 },
        }),
    )
    .await;
    let run = api.run_until(&run_id, "ended", LIMIT, ended).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["failure"]["error"], "Budget.Exceeded", "{run}");

    // The code-only analyst spends nothing and is never refused.
    let analyze = attempts(&run, "analyze");
    assert_eq!(analyze.len(), 1, "{run}");
    assert_eq!(analyze[0]["status"], "succeeded", "{run}");
    assert_eq!(tokens_of(analyze[0]), 0, "{run}");
    // `strategize` retries `Agent.Retryable` only: one attempt, failed by its budget.
    let strategize = attempts(&run, "strategize");
    assert_eq!(strategize.len(), 1, "{run}");
    assert_eq!(strategize[0]["status"], "failed", "{run}");
    assert_eq!(strategize[0]["error_name"], "Budget.Exceeded", "{run}");
    let message = strategize[0]["error_message"].as_str().unwrap_or_default();
    assert!(message.contains("of 10 tokens"), "{message}");
    // Refused before it was sent: the exchange spent nothing, and no gate opened.
    assert_eq!(tokens_of(strategize[0]), 0, "{run}");
    assert_eq!(strategize[0]["model_calls"], 0, "{run}");
    assert_eq!(run["approvals"], json!([]), "{run}");
    assert_eq!(run["budget"], json!({ "tokens": 10 }), "{run}");
    assert_eq!(run["spent"]["tokens"], 0, "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_within_its_budget_goes_on_and_shows_what_it_spent() {
    const BUDGET: u64 = 50_000;
    let api = ApiClient::fresh_tenant("budget-kept");
    let run_id = start(
        &api,
        json!({
            "workflow": "campaign-creation",
            "input": campaign(),
            "auto_approve": false,
            "budget": { "tokens": BUDGET, "usd": 1.0 },
        }),
    )
    .await;
    // Past the code-only `analyze` and the model's `strategize`, it waits at its first gate.
    let run = api
        .run_until(&run_id, "at its first gate", LIMIT, |run| {
            ended(run)
                || run["approvals"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a["gate"] == "approve_strategy" && a["status"] == "pending")
        })
        .await;
    assert_eq!(run["status"], "running", "{run}");
    let strategize = attempts(&run, "strategize");
    assert_eq!(strategize.len(), 1, "{run}");
    assert_eq!(strategize[0]["status"], "succeeded", "{run}");
    let used = tokens_of(strategize[0]);
    assert!(used > 0, "the strategist asked the model: {run}");

    // What the exchange spent was added to the run as the attempt ended: the only model
    // exchange so far, within the budget.
    let spent = run["spent"]["tokens"].as_u64().unwrap_or_default();
    assert!(spent > 0 && spent <= BUDGET, "{run}");
    assert_eq!(spent, used, "{run}");
    // The embedded model is free.
    assert_eq!(run["spent"]["usd"].as_f64(), Some(0.0), "{run}");
    assert_eq!(
        run["budget"],
        json!({ "tokens": BUDGET, "usd": 1.0 }),
        "{run}"
    );

    let (status, body) = api.call("DELETE", &format!("/runs/{run_id}"), None).await;
    assert_eq!(status, 200, "cancel: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_budget_is_refused_naming_its_field() {
    let api = ApiClient::fresh_tenant("budget-refused");
    for (budget, field) in [
        (json!({ "usd": -1.0 }), "budget.usd"),
        (json!({ "usd": 0 }), "budget.usd"),
        (json!({ "tokens": 0 }), "budget.tokens"),
        (json!({ "tokens": -5 }), "budget.tokens"),
        (json!({ "tokens": "many" }), "budget.tokens"),
        (json!({ "tokens": 10, "dollars": 2 }), "budget.dollars"),
        (json!({}), "budget"),
    ] {
        let body =
            json!({ "workflow": "campaign-creation", "input": campaign(), "budget": budget });
        let (status, answer) = api.post("/runs/start", body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str(), answer["field"].as_str()),
            (400, Some("bad_request"), Some(field)),
            "{body}: {answer}"
        );
    }
    // Nothing was started.
    let (status, list) = api.get("/runs").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["runs"], json!([]), "{list}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declared_budget_is_the_runs_unless_its_start_replaces_a_limit() {
    let api = ApiClient::fresh_tenant("budget-declared");
    let input = json!({ "fail_times": 2, "numbers": [1, 2, 3] });
    let declared = start(&api, json!({ "workflow": "self-test", "input": input })).await;
    let replaced = start(
        &api,
        json!({ "workflow": "self-test", "input": input, "budget": { "tokens": 5 } }),
    )
    .await;
    for (run_id, budget) in [
        (&declared, json!({ "tokens": 100_000, "usd": 1.0 })),
        (&replaced, json!({ "tokens": 5, "usd": 1.0 })),
    ] {
        let run = api.run_until(run_id, "ended", LIMIT, ended).await;
        // Its agents ask no model: even five tokens are enough, and nothing is spent.
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["budget"], budget, "{run}");
        assert_eq!(run["spent"], json!({ "tokens": 0, "usd": 0.0 }), "{run}");
    }
}
