//! The page rendered from fixture records: what a person sees, checked in the HTML. Set
//! `RUN_PAGE_FIXTURE_OUT=/tmp/page.html` to also write the campaign page there (to look at it
//! in a browser, or screenshot it with headless Chromium).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use switchyard_sdk::ir::Workflow;

use super::*;
use switchyard_state::Decision;

const T0: u64 = 1_764_756_000_000;

fn workflow(name: &str) -> Workflow {
    switchyard_agents::link();
    let registration = switchyard_sdk::workflows()
        .into_iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no workflow {name}"));
    (registration.definition)()
}

fn attempt(step: &str, agent: &str, attempt: u64, status: StepStatus, at_s: u64) -> StepRecord {
    let finished = status != StepStatus::Running;
    StepRecord {
        run_id: "run-1".into(),
        step_key: format!("{step}#{attempt:02}"),
        step: step.into(),
        attempt,
        agent: Some(agent.into()),
        tenant_id: "acme".into(),
        status,
        started_at: T0 + at_s * 1000,
        finished_at: finished.then_some(T0 + at_s * 1000 + 1_400),
        latency_ms: finished.then_some(1_400 + at_s * 37),
        tokens_in: if finished { 1_200 + at_s * 13 } else { 0 },
        tokens_out: if finished { 380 + at_s * 7 } else { 0 },
        cost_usd: if finished {
            0.00042 * (at_s + 1) as f64
        } else {
            0.0
        },
        model: Some("embedded".into()),
        error_name: (status == StepStatus::Failed).then(|| "Agent.Retryable".into()),
        error_message: (status == StepStatus::Failed).then(|| "the model timed out".into()),
        ..StepRecord::default()
    }
}

/// A campaign at its content gate: strategy approved, content written (the copywriter once
/// retried), QA passed, waiting for a person.
fn campaign_at_content_gate() -> (RunRecord, Vec<StepRecord>, Vec<ApprovalRecord>) {
    let run = RunRecord {
        input_summary: Some(json!({ "brand_id": "acme", "selected_month": "2024-11" }).to_string()),
        ..RunRecord::started("run-1", "acme", "campaign-creation", T0)
    };
    let steps = vec![
        attempt("analyze", "analyst", 0, StepStatus::Succeeded, 1),
        attempt("strategize", "strategist", 0, StepStatus::Succeeded, 3),
        attempt(
            "subject_lines",
            "subject_line_writer",
            0,
            StepStatus::Succeeded,
            20,
        ),
        attempt("copy", "copywriter", 0, StepStatus::Failed, 20),
        attempt("copy", "copywriter", 1, StepStatus::Succeeded, 23),
        attempt("mockup", "mockup_designer", 0, StepStatus::Succeeded, 20),
        attempt(
            "personalization",
            "personalizer",
            0,
            StepStatus::Succeeded,
            21,
        ),
        attempt("qa", "qa_reviewer", 0, StepStatus::Succeeded, 26),
    ];
    let gate = |gate: &str, subject: &str| ApprovalRecord {
        request_id: format!("req-{gate}"),
        run_id: "run-1".into(),
        tenant_id: "acme".into(),
        workflow: "campaign-creation".into(),
        gate: gate.into(),
        subject: subject.into(),
        ..ApprovalRecord::default()
    };
    let approvals = vec![
        ApprovalRecord {
            status: ApprovalStatus::Approved,
            decision: Some(Decision::Approve),
            decided_by: Some("ada@acme.test".into()),
            decided_at: Some(T0 / 1000 + 15),
            created_at: T0 / 1000 + 5,
            ..gate("approve_strategy", "Approve the campaign strategy")
        },
        ApprovalRecord {
            status: ApprovalStatus::Pending,
            created_at: T0 / 1000 + 28,
            expires_at: T0 / 1000 + 86_428,
            summary: json!({
                "subject_lines": ["November deals are here", "Your winter picks, 20% off"],
                "copy": "Cosy up with our November collection: warm layers, bright colours.",
                "qa": { "passed": true, "score": 0.92 }
            })
            .to_string(),
            links: BTreeMap::from([
                (
                    "approve".into(),
                    "https://callback.test/approvals/req-approve_content?decision=approve&sig=a"
                        .into(),
                ),
                (
                    "reject".into(),
                    "https://callback.test/approvals/req-approve_content?decision=reject&sig=b"
                        .into(),
                ),
            ]),
            ..gate("approve_content", "Approve the campaign content")
        },
    ];
    (run, steps, approvals)
}

fn page<'a>(
    run: &'a RunRecord,
    steps: &'a [StepRecord],
    approvals: &'a [ApprovalRecord],
    workflow: Option<&'a Workflow>,
) -> RunPage<'a> {
    RunPage {
        run,
        steps,
        approvals,
        parked: &[],
        workflow,
        state_url: "/runs/run-1/page/state?view=syv_test",
        link_expires_at: T0 + 3_600_000,
        now: T0 + 31_000,
    }
}

#[test]
fn a_waiting_run_shows_its_picture_table_and_decision_buttons() {
    let flow = workflow("campaign-creation");
    let (run, steps, approvals) = campaign_at_content_gate();
    let html = page(&run, &steps, &approvals, Some(&flow)).html();
    if let Some(path) = std::env::var_os("RUN_PAGE_FIXTURE_OUT") {
        // The page, its policy, and the state a poll a moment later answers (a step started).
        let path = std::path::PathBuf::from(path);
        std::fs::write(&path, &html).expect("the fixture page is written");
        std::fs::write(path.with_extension("csp"), content_security_policy()).expect("written");
        let mut later = steps.clone();
        later.push(attempt("schedule", "scheduler", 0, StepStatus::Running, 30));
        let state = page(&run, &later, &approvals, Some(&flow)).state();
        let json = serde_json::to_string(&state).expect("serialises");
        std::fs::write(path.with_extension("state.json"), json).expect("written");
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<h1>campaign-creation</h1>"));
    assert!(html.contains("class=\"badge run-running\""));
    for (step, state) in [
        ("analyze", "succeeded"),
        ("approve_strategy", "succeeded"),
        ("content", "retried"),
        ("copy", "retried"),
        ("mockup", "succeeded"),
        ("qa_passed", "succeeded"),
        ("approve_content", "waiting"),
        ("revisions", "not-reached"),
        ("deploy", "not-reached"),
    ] {
        let node = html
            .split(&format!("data-step=\"{step}\""))
            .next()
            .and_then(|before| before.rsplit("<g class=\"").next())
            .unwrap_or_default();
        assert!(node.contains(&format!("st-{state}")), "{step}: {node}");
    }
    // One row per attempt, the retried one's error shown.
    assert_eq!(html.matches("<tr><td>").count(), steps.len());
    assert!(html.contains("<td>analyze</td>"));
    assert!(html.contains("Agent.Retryable: the model timed out"));
    // Buttons to the approval page, and the gate's subject as a definition list.
    assert!(html.contains("class=\"button approve\" href=\"https://callback.test/approvals/req-approve_content?decision=approve&amp;sig=a\""));
    assert!(html.contains(">Reject</a>"));
    assert!(html.contains("<dt>subject_lines</dt>"));
    assert!(html.contains("Decided approve by ada@acme.test"));
    // Live: the script is there, and only it (the policy allows it by hash).
    assert!(html.contains("data-live=\"true\""));
    assert_eq!(html.matches("<script>").count(), 1);
    assert!(content_security_policy().contains(&STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()))));
}

#[test]
fn an_ended_run_shows_its_output_or_failure_and_no_script() {
    let flow = workflow("gate-test");
    let done = RunRecord {
        status: RunStatus::Succeeded,
        finished_at: Some(T0 + 65_000),
        output: Some(json!({ "path": "approved", "notes": ["a", "b"] }).to_string()),
        ..RunRecord::started("run-1", "acme", "gate-test", T0)
    };
    let html = page(&done, &[], &[], Some(&flow)).html();
    assert!(html.contains("<h2>Output</h2>"));
    assert!(html.contains("<dt>path</dt><dd>approved</dd>"), "{html}");
    assert!(html.contains("1 min 05 s"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("data-live=\"false\""));

    let failed = RunRecord {
        status: RunStatus::Failed,
        failure_error: Some("Switchyard.Rejected".into()),
        failure_cause: Some("rejected at ask".into()),
        ..done
    };
    let html = page(&failed, &[], &[], Some(&flow)).html();
    assert!(html.contains("<h2>Failure</h2>"));
    assert!(html.contains("Switchyard.Rejected"));
    assert!(html.contains("class=\"node kind-terminal st-not-reached\" data-step=\"@end\""));
}

#[test]
fn a_run_without_a_known_definition_still_shows_its_steps() {
    let run = RunRecord::started("run-1", "acme", "graph-0123", T0);
    let steps = [attempt("plan", "tech_lead", 0, StepStatus::Running, 1)];
    let html = page(&run, &steps, &[], None).html();
    assert!(html.contains("No picture"));
    assert!(html.contains(">running</span>"));
}

#[test]
fn the_polled_state_matches_the_page() {
    let flow = workflow("campaign-creation");
    let (run, steps, approvals) = campaign_at_content_gate();
    let state = serde_json::to_value(page(&run, &steps, &approvals, Some(&flow)).state())
        .expect("serialises");
    assert_eq!(state["ended"], false);
    assert_eq!(state["gates"], "req-approve_content");
    let node = |key: &str| -> Value {
        state["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|n| n["key"] == key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(node("approve_content")["state"], "waiting");
    assert_eq!(node("copy")["detail"], "succeeded on attempt 2");
    assert_eq!(node("@end")["state"], "not-reached");
    assert_eq!(state["rows"].as_array().map(Vec::len), Some(steps.len()));
    assert_eq!(state["rows"][0]["cells"][0], "analyze");
    assert_eq!(state["header"]["duration"], "31.0 s so far");
    assert_eq!(state["header"]["status"], "running");
}

#[test]
fn what_a_run_records_is_escaped() {
    let flow = workflow("gate-test");
    let run = RunRecord {
        input_summary: Some("<script>alert(1)</script>".into()),
        ..RunRecord::started("run-1", "acme", "gate-test", T0)
    };
    let steps = [StepRecord {
        error_name: Some("<img src=x>".into()),
        ..attempt("approved", "on_approved", 0, StepStatus::Failed, 1)
    }];
    let html = page(&run, &steps, &[], Some(&flow)).html();
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;img src=x&gt;"));
}
