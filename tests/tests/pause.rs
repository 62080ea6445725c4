//! Pausing, resuming and cancelling runs through the Run API on the live local stack, and
//! following a run through its event stream (`GET /runs/{id}/events`).
//!
//! The `pause-test` workflow has slow steps (`delay_ms` each): `hold_step`, `pace_step`, a map
//! over four numbers one item at a time (`slow_square_one`), then a parallel pair (`total`,
//! `max`, in the parallel step `totals`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};
use switchyard_e2e::{function_url_client, ApiClient, Stack};

const LIMIT: Duration = Duration::from_secs(120);
/// How long a paused run is watched for a step that should not start.
const HELD: Duration = Duration::from_secs(3);

fn input(delay_ms: u64) -> Value {
    json!({ "delay_ms": delay_ms, "numbers": [1, 2, 3, 4] })
}

/// The run's step attempts as `step[item]#attempt` → status.
fn attempts(run: &Value) -> BTreeMap<String, String> {
    run["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let item = s["item"]
                .as_u64()
                .map(|i| format!("[{i}]"))
                .unwrap_or_default();
            (
                format!(
                    "{}{item}#{}",
                    s["step"].as_str().unwrap_or("?"),
                    s["attempt"]
                ),
                s["status"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

/// Whether `step` (`item`) has an attempt still running.
fn is_running(run: &Value, step: &str, item: Option<u64>) -> bool {
    run["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["step"] == step && s["item"].as_u64() == item && s["status"] == "running")
}

/// The workflow's steps in the order they run; the last stage is the parallel pair.
const ORDER: [&[(&str, Option<u64>)]; 7] = [
    &[("hold_step", None)],
    &[("pace_step", None)],
    &[("slow_square_one", Some(0))],
    &[("slow_square_one", Some(1))],
    &[("slow_square_one", Some(2))],
    &[("slow_square_one", Some(3))],
    &[("total", None), ("max", None)],
];

fn parked(run: &Value) -> Vec<(String, Option<u64>)> {
    run["parked"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["step"].as_str().unwrap_or("?").to_owned(),
                p["item"].as_u64(),
            )
        })
        .collect()
}

fn ended(run: &Value) -> bool {
    !matches!(run["status"].as_str(), Some("running" | "paused"))
}

/// Pauses `run_id` and checks it waits with the step after the last one admitted parked
/// and no agent starting for a while; resumes it, checks its steps were released and
/// returns the stage of [`ORDER`] held and the parked step.
///
/// `intended` is the stage of [`ORDER`] the caller paused it to hold. A pause can land later
/// than the caller saw the run; the step held is then still exactly the one after the last
/// one admitted, which is what this checks. A late pause is reported, not failed.
async fn hold_then_resume(
    api: &ApiClient,
    run_id: &str,
    intended: usize,
) -> (usize, (String, Option<u64>)) {
    let (status, body) = api.post(&format!("/runs/{run_id}/pause"), json!({})).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("paused")),
        "{body}"
    );
    let waiting = api
        .run_until(run_id, "parked", LIMIT, |run| !parked(run).is_empty())
        .await;
    assert_eq!(waiting["status"], "paused");
    // Nothing starts while it is paused, and the parked step left no attempt behind.
    let before = attempts(&waiting);
    assert!(before.values().all(|s| s == "succeeded"), "{before:?}");
    // Steps run one stage at a time, so the attempts made are the first stages, and the
    // one parked is in the next.
    let held = before.len();
    let stage = ORDER
        .get(held)
        .unwrap_or_else(|| panic!("every stage ran, yet a step parked: {waiting}"));
    let parked_now = parked(&waiting);
    assert!(
        parked_now.len() == 1
            && stage
                .iter()
                .any(|(step, item)| parked_now[0] == ((*step).to_owned(), *item)),
        "expected one of {stage:?} parked after {before:?}: {waiting}"
    );
    if held != intended {
        eprintln!(
            "{run_id}: the pause landed later than intended ({:?}): {stage:?} parked",
            ORDER[intended]
        );
    }
    tokio::time::sleep(HELD).await;
    let still = api.run(run_id).await;
    assert_eq!(still["status"], "paused");
    assert_eq!(attempts(&still), before, "an agent started while paused");
    assert_eq!(parked(&still), parked(&waiting));
    let (status, body) = api.post(&format!("/runs/{run_id}/resume"), json!({})).await;
    assert_eq!(
        (
            status,
            body["status"].as_str(),
            body["released_steps"].as_u64()
        ),
        (200, Some("running"), Some(1)),
        "{body}"
    );
    (
        held,
        parked_now.into_iter().next().expect("one parked step"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_run_resumes_where_it_stopped_and_ends_as_an_unpaused_one() {
    let api = ApiClient::fresh_tenant("pause");
    // The paused runs' steps are slow enough that a pause sent when a step is seen running
    // lands before the next one is admitted.
    let baseline = api.start("pause-test", input(1_000)).await;
    let at_top = api.start("pause-test", input(2_500)).await;
    let at_boundary = api.start("pause-test", input(2_500)).await;
    let in_map = api.start("pause-test", input(2_500)).await;
    let at_parallel = api.start("pause-test", input(2_500)).await;

    // Paused while the first step runs: it finishes, and the second (a top-level step that
    // waits in the definition's shared wait) parks; resumed, it goes back to that step.
    let pausing_at_top = async {
        api.run_until(&at_top, "in its first step", LIMIT, |run| {
            is_running(run, "hold_step", None)
        })
        .await;
        hold_then_resume(&api, &at_top, 1).await
    };
    // Paused while the second step runs: it finishes, and the map's first item parks.
    let pausing_at_boundary = async {
        api.run_until(&at_boundary, "in its second step", LIMIT, |run| {
            is_running(run, "pace_step", None)
        })
        .await;
        hold_then_resume(&api, &at_boundary, 2).await
    };
    // Paused inside the map, while item 1 runs: item 2 parks.
    let pausing_in_map = async {
        api.run_until(&in_map, "at the map's item 1", LIMIT, |run| {
            is_running(run, "slow_square_one", Some(1))
        })
        .await;
        hold_then_resume(&api, &in_map, 4).await
    };
    // Paused while the map's last item runs: the parallel step's branches are refused as
    // one (whichever asked first is the one named), and neither starts; resumed, the
    // parallel step goes again whole, and each branch runs once.
    let pausing_at_parallel = async {
        api.run_until(&at_parallel, "at the map's last item", LIMIT, |run| {
            is_running(run, "slow_square_one", Some(3))
        })
        .await;
        hold_then_resume(&api, &at_parallel, 6).await
    };
    let (top_parked, _, map_parked, parallel_parked) = tokio::join!(
        pausing_at_top,
        pausing_at_boundary,
        pausing_in_map,
        pausing_at_parallel
    );

    let mut views = Vec::new();
    for run_id in [&baseline, &at_top, &at_boundary, &in_map, &at_parallel] {
        views.push(api.run_until(run_id, "ended", LIMIT, ended).await);
    }
    let expected = &views[0];
    assert_eq!(expected["status"], "succeeded", "{expected}");
    assert_eq!(expected["output"], json!([30, 16]), "{expected}");
    for view in &views[1..] {
        assert_eq!(view["status"], "succeeded", "{view}");
        // The same output, and the same attempts: every step once, nothing re-run.
        assert_eq!(view["output"], expected["output"]);
        assert_eq!(attempts(view), attempts(expected));
        assert_eq!(view["paused_at"].as_array().map(Vec::len), Some(1));
        assert_eq!(view["resumed_at"].as_array().map(Vec::len), Some(1));
        assert!(view.get("parked").is_none(), "{view}");
    }
    assert_eq!(attempts(expected).len(), 2 + 4 + 2);
    // The shared wait went back to the step it held, and only to it: the first step ran
    // once, the parked one was entered twice (refused, then run).
    let stack = Stack::connect().await;
    let arn = views[1]["execution_arn"].as_str().expect("an arn");
    let finished = stack.wait_execution(arn, LIMIT).await;
    if top_parked.1 == ("pace_step".to_owned(), None) {
        let entered = finished.entered();
        let times = |state: &str| entered.iter().filter(|s| *s == state).count();
        assert_eq!(
            ["hold_step", "pace_step", "run-parked", "run-resumed"].map(times),
            [1, 2, 1, 1],
            "{entered:?}"
        );
    }
    stack.assert_attempts_recorded(arn, &finished).await;
    // The parallel step went again whole, and its branches ran once each.
    let arn = views[4]["execution_arn"].as_str().expect("an arn");
    let finished = stack.wait_execution(arn, LIMIT).await;
    if parallel_parked.0 == ORDER.len() - 1 {
        let entered = finished.entered();
        let times = |state: &str| entered.iter().filter(|s| *s == state).count();
        assert_eq!(
            ["totals", "run-parked", "run-resumed"].map(times),
            [2, 1, 1],
            "{entered:?}"
        );
    }
    stack.assert_attempts_recorded(arn, &finished).await;

    // The event stream tells the same story: the step before the parked one started before
    // the pause, and the parked one after the resume.
    let (status, page) = api.get(&format!("/runs/{in_map}/events")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["ended"], true);
    let events = page["events"].as_array().cloned().unwrap_or_default();
    let position = |kind: &str, step: Option<(&str, Option<u64>)>| {
        events
            .iter()
            .position(|e| {
                e["kind"] == kind
                    && step.is_none_or(|(name, item)| e["step"] == name && e["item"] == json!(item))
            })
            .unwrap_or_else(|| panic!("no {kind} {step:?} in {events:?}"))
    };
    let (held, (step, item)) = &map_parked;
    let before = ORDER[held - 1][0];
    assert!(position("run_paused", None) < position("run_resumed", None));
    assert!(position("step_started", Some(before)) < position("run_paused", None));
    assert!(position("run_resumed", None) < position("step_started", Some((step, *item))));
    assert_eq!(
        events.last().map(|e| e["kind"].clone()),
        Some(json!("run_ended"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_stops_a_paused_run_and_a_run_at_a_gate_at_once() {
    let stack = Stack::connect().await;
    let api = ApiClient::fresh_tenant("cancel");
    let execution_of = |run: &Value| run["execution_arn"].as_str().expect("an arn").to_owned();
    let aborted_soon = |arn: String| {
        let stack = &stack;
        async move {
            // Promptly: well before any wait would end by itself (a gate waits 300 s).
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            loop {
                if stack.status(&arn).await == ExecutionStatus::Aborted {
                    return;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{arn} is still running after its run was cancelled"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };

    // A paused run with a parked step.
    let paused = api.start("pause-test", input(500)).await;
    let (status, _) = api.post(&format!("/runs/{paused}/pause"), json!({})).await;
    assert_eq!(status, 200);
    let waiting = api
        .run_until(&paused, "parked", LIMIT, |run| !parked(run).is_empty())
        .await;
    let (status, body) = api.post(&format!("/runs/{paused}/cancel"), json!({})).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("cancelled")),
        "{body}"
    );
    aborted_soon(execution_of(&waiting)).await;
    let after = api.run(&paused).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(
        attempts(&after),
        attempts(&waiting),
        "no step ran after the cancel"
    );
    // It cannot be resumed.
    let (status, body) = api.post(&format!("/runs/{paused}/resume"), json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("not_running")),
        "{body}"
    );

    // A run waiting at a gate: stopped at once, and its links answer 410.
    let gated = api
        .start("gate-test", json!({ "topic": "cancel me" }))
        .await;
    let pending = api
        .run_until(&gated, "at its gate", LIMIT, |run| {
            run["approvals"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["status"] == "pending"))
        })
        .await;
    let link = pending["approvals"][0]["links"]["approve"]
        .as_str()
        .expect("an approve link")
        .to_owned();
    let (status, _) = api.call("DELETE", &format!("/runs/{gated}"), None).await;
    assert_eq!(status, 200);
    aborted_soon(execution_of(&pending)).await;
    let after = api.run(&gated).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["approvals"][0]["status"], "expired", "{after}");
    let page = function_url_client(&link)
        .get(&link)
        .send()
        .await
        .expect("the link answers");
    assert_eq!(page.status().as_u16(), 410);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_event_stream_delivers_every_event_once_in_order() {
    let api = ApiClient::fresh_tenant("events");
    let run_id = api
        .start("pause-test", json!({ "delay_ms": 300, "numbers": [2, 3] }))
        .await;
    // Follow it as a client would: long-polls, each from the last cursor.
    let mut cursor: Option<String> = None;
    let mut followed: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let path = match &cursor {
            Some(c) => format!("/runs/{run_id}/events?wait=5&after={c}"),
            None => format!("/runs/{run_id}/events?wait=5"),
        };
        let (status, page) = api.get(&path).await;
        assert_eq!(status, 200, "{page}");
        followed.extend(page["events"].as_array().cloned().unwrap_or_default());
        cursor = page["cursor"].as_str().map(str::to_owned);
        if page["ended"] == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream never ended"
        );
    }
    // The same events as one read of the ended run, each once.
    let (_, whole) = api.get(&format!("/runs/{run_id}/events")).await;
    let key = |e: &Value| format!("{} {} {} {}", e["kind"], e["step"], e["item"], e["attempt"]);
    let once: BTreeSet<String> = followed.iter().map(key).collect();
    assert_eq!(
        once.len(),
        followed.len(),
        "an event came twice: {followed:?}"
    );
    let all: BTreeSet<String> = whole["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(key)
        .collect();
    assert_eq!(once, all);
    // 2 + 2 + 2 steps, each started and succeeded, between the run's start and end.
    assert_eq!(followed.len(), 2 + 2 * 6, "{followed:?}");
    assert_eq!(followed[0]["kind"], "run_started");
    assert_eq!(
        followed.last().map(|e| e["kind"].clone()),
        Some(json!("run_ended"))
    );
    for event in followed.iter().filter(|e| e["kind"] == "step_succeeded") {
        let started = followed.iter().position(|e| {
            e["kind"] == "step_started" && e["step"] == event["step"] && e["item"] == event["item"]
        });
        let finished = followed.iter().position(|e| e == event);
        assert!(started < finished, "{event} before its start");
    }
    // After the end, nothing more comes from the last cursor.
    let (_, rest) = api
        .get(&format!(
            "/runs/{run_id}/events?after={}",
            cursor.unwrap_or_default()
        ))
        .await;
    assert_eq!(rest["events"], json!([]));
    assert_eq!(rest["ended"], true);

    // A cursor or a wait the API did not give is a 400 naming its field.
    for (query, field) in [("after=not-a-cursor", "after"), ("wait=99", "wait")] {
        let (status, body) = api.get(&format!("/runs/{run_id}/events?{query}")).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{query}: {body}"
        );
    }
}
