//! Conversation traces and the opt-in response cache on the live local stack.
//!
//! The `cache-test` workflow's one agent (`cached_brief`, step `brief`) asks the model for a
//! typed brief, offering it a tool, with the response cache on. The deployed model is the
//! embedded offline one: the first round calls the tool, the second answers. Run twice with
//! the same input by one tenant, the second run is answered from the cache.

use std::time::Duration;

use serde_json::{json, Value};
use switchyard_e2e::ApiClient;

const LIMIT: Duration = Duration::from_secs(90);
const STEP: &str = "brief";

fn ended(run: &Value) -> bool {
    !matches!(run["status"].as_str(), Some("running" | "paused"))
}

fn number(value: &Value, what: &str) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{what} is not a count: {value}"))
}

/// The run's one attempt of the cached step, from its view.
fn brief_attempt(run: &Value) -> Value {
    let attempts: Vec<&Value> = run["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["step"] == STEP)
        .collect();
    assert_eq!(attempts.len(), 1, "one attempt of {STEP}: {run}");
    attempts[0].clone()
}

/// Runs `cache-test` on `input` to its end; the run's id and view.
async fn run_to_end(api: &ApiClient, input: &Value) -> (String, Value) {
    let run_id = api.start("cache-test", input.clone()).await;
    let view = api.run_until(&run_id, "ended", LIMIT, ended).await;
    assert_eq!(view["status"], "succeeded", "{view}");
    (run_id, view)
}

/// The step's trace as its tenant reads it: its text (for what must not be in it) and JSON.
async fn trace_of(api: &ApiClient, run_id: &str) -> (String, Value) {
    let (status, trace) = api.get(&format!("/runs/{run_id}/steps/{STEP}/trace")).await;
    assert_eq!(status, 200, "trace of {run_id}: {trace}");
    assert_eq!(trace["step"], STEP);
    (trace.to_string(), trace)
}

/// The exchanges of the trace's one attempt, checked against the attempt's counts.
fn exchanges(trace: &Value) -> Vec<Value> {
    let attempts = trace["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{trace}");
    let attempt = &attempts[0];
    assert_eq!(
        attempt["trace"], "inline",
        "a small trace is kept on its record: {trace}"
    );
    let exchanges = attempt["exchanges"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        exchanges.len() as u64,
        number(&attempt["model_calls"], "model_calls"),
        "every exchange is traced: {trace}"
    );
    let rounds: Vec<u64> = exchanges
        .iter()
        .map(|e| number(&e["round"], "round"))
        .collect();
    assert_eq!(rounds, (1..=exchanges.len() as u64).collect::<Vec<_>>());
    exchanges
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_run_is_answered_from_the_tenants_cache_and_its_trace_shows_it() {
    let api = ApiClient::fresh_tenant("traces");
    let other = ApiClient::fresh_tenant("traces-other");
    let topic = format!(
        "Cache check {}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let input = json!({ "topic": topic });

    // First run: the provider answers every round.
    let (first, first_view) = run_to_end(&api, &input).await;
    let spent = brief_attempt(&first_view);
    let calls = number(&spent["model_calls"], "model_calls");
    assert!(calls >= 1, "{spent}");
    assert_eq!(number(&spent["cache_hits"], "cache_hits"), 0, "{spent}");
    assert_eq!(number(&spent["tokens_saved"], "tokens_saved"), 0, "{spent}");
    let tokens =
        number(&spent["tokens_in"], "tokens_in") + number(&spent["tokens_out"], "tokens_out");
    assert!(tokens > 0, "{spent}");

    // Second run, same tenant and input: every round from the cache, nothing spent.
    let (second, second_view) = run_to_end(&api, &input).await;
    assert_eq!(
        second_view["output"], first_view["output"],
        "the same answer"
    );
    let saved = brief_attempt(&second_view);
    assert_eq!(
        number(&saved["model_calls"], "model_calls"),
        calls,
        "{saved}"
    );
    assert_eq!(number(&saved["cache_hits"], "cache_hits"), calls, "{saved}");
    assert_eq!(
        number(&saved["tokens_saved"], "tokens_saved"),
        tokens,
        "{saved}"
    );
    assert_eq!(
        number(&saved["tokens_in"], "tokens_in") + number(&saved["tokens_out"], "tokens_out"),
        0,
        "{saved}"
    );
    assert_eq!(saved["cost_usd"].as_f64(), Some(0.0), "{saved}");

    // The traces say the same, exchange by exchange.
    let (first_text, first_trace) = trace_of(&api, &first).await;
    let first_exchanges = exchanges(&first_trace);
    assert!(
        first_exchanges.iter().all(|e| e["cached"] == false),
        "{first_trace}"
    );
    let opening = &first_exchanges[0];
    assert!(
        opening["request"]["user"]
            .as_str()
            .is_some_and(|u| u.contains(&topic)),
        "the prompt is traced: {opening}"
    );
    assert_eq!(opening["request"]["output_schema"], "Brief", "{opening}");
    assert_eq!(
        opening["request"]["tools"],
        json!(["word_count"]),
        "{opening}"
    );
    assert_eq!(opening["request"]["cache_ttl_s"], 3600, "{opening}");
    assert_eq!(
        opening["reply"]["tool_calls"][0]["name"], "word_count",
        "{opening}"
    );
    assert!(
        first_exchanges
            .last()
            .is_some_and(|e| e["reply"]["answer"].is_object()),
        "the answer is traced: {first_trace}"
    );
    let (second_text, second_trace) = trace_of(&api, &second).await;
    let second_exchanges = exchanges(&second_trace);
    assert!(
        second_exchanges.iter().all(|e| e["cached"] == true),
        "{second_trace}"
    );
    assert!(number(&second_trace["attempts"][0]["tokens_saved"], "tokens_saved") > 0);
    for (spent, saved) in first_exchanges.iter().zip(&second_exchanges) {
        assert_eq!(
            saved["reply"], spent["reply"],
            "the cached reply is the one kept"
        );
        assert_eq!(saved["tokens_in"], spent["tokens_in"]);
    }

    // No API key in any trace.
    for text in [&first_text, &second_text] {
        for key in [api.key(), other.key()] {
            assert!(!text.contains(key), "a trace holds an API key: {text}");
        }
    }

    // Another tenant's key cannot read it, nor tell it from a run that does not exist.
    let (status, body) = other
        .get(&format!("/runs/{first}/steps/{STEP}/trace"))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    assert_eq!(body["message"], format!("no run `{first}`"));
    // Nor does the other tenant share the cache: its run of the same input spends.
    let (_, theirs) = run_to_end(&other, &input).await;
    let theirs = brief_attempt(&theirs);
    assert_eq!(number(&theirs["cache_hits"], "cache_hits"), 0, "{theirs}");

    // A step the run does not have is a 404 naming it.
    let (status, body) = api
        .get(&format!("/runs/{first}/steps/no_such_step/trace"))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("no_such_step")),
        "{body}"
    );
}
