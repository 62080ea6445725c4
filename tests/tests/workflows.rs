//! Deployed workflows run on the live local stack with the real `bootstrap` binary.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{json, Value};
use switchyard_e2e::Stack;

const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn every_compiled_workflow_is_accepted_by_step_functions() {
    let stack = Stack::connect().await;
    for seed in [
        "campaign-creation",
        "sales-outreach",
        "movie-production",
        "enterprise-coordinator",
        "dev-team",
        "self-test",
        "payload-test",
        "gate-test",
        "shape-test",
        "cache-test",
    ] {
        let described = stack
            .sfn
            .describe_state_machine()
            .state_machine_arn(stack.state_machine(seed))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{seed}: {}", aws_sdk_sfn::error::DisplayErrorContext(e)));
        let definition = described.definition();
        assert!(
            !definition.contains("${"),
            "{seed}: placeholders left unsubstituted"
        );
        assert!(
            definition.contains(":function:switchyard-"),
            "{seed}: function ARNs substituted"
        );
    }
}

#[tokio::test]
async fn retry_then_catch_then_map_then_parallel() {
    let stack = Stack::connect().await;
    let run = stack
        .start(
            "self-test",
            "tenant-a",
            json!({ "fail_times": 2, "numbers": [1, 2, 3] }),
        )
        .await;
    let finished = stack.wait(&run, LIMIT).await;
    // 1 + 4 + 9 and the largest square.
    assert_eq!(finished.succeeded(), &json!([14, 9]));
    // The flaky step failed twice with the Rust error's name, then Retry succeeded; the
    // risky step failed permanently and Catch routed to the fallback.
    assert_eq!(
        finished.task_errors(),
        vec!["Agent.Retryable", "Agent.Retryable", "Agent.Permanent"]
    );
    let entered = finished.entered();
    let position = |name: &str| {
        entered
            .iter()
            .position(|s| s == name)
            .unwrap_or_else(|| panic!("{name} not entered: {entered:?}"))
    };
    assert!(position("risky") < position("recovered"));
    assert_eq!(
        entered.iter().filter(|s| *s == "square_one").count(),
        3,
        "one map iteration per number"
    );
    assert!(finished
        .history
        .iter()
        .any(|e| e.r#type() == &HistoryEventType::ParallelStateSucceeded));
    // Every attempt (retries, the caught failure, each map item) has a record of its own.
    stack.assert_attempts_recorded(&run, &finished).await;
}

#[tokio::test]
async fn a_retry_policy_gives_up_after_its_attempts() {
    let stack = Stack::connect().await;
    let run = stack
        .start(
            "self-test",
            "tenant-a",
            json!({ "fail_times": 9, "numbers": [] }),
        )
        .await;
    let finished = stack.wait(&run, LIMIT).await;
    assert_eq!(finished.status, ExecutionStatus::Failed);
    assert_eq!(finished.error.as_deref(), Some("Agent.Retryable"));
    // The first attempt plus max_attempts = 3 retries.
    assert_eq!(finished.task_errors().len(), 4);
}

#[tokio::test]
async fn a_map_refuses_more_items_than_declared() {
    let stack = Stack::connect().await;
    let numbers: Vec<i64> = (1..=11).collect();
    let run = stack
        .start(
            "self-test",
            "tenant-a",
            json!({ "fail_times": 0, "numbers": numbers }),
        )
        .await;
    let finished = stack.wait(&run, LIMIT).await;
    assert_eq!(finished.status, ExecutionStatus::Failed);
    assert_eq!(finished.error.as_deref(), Some("Switchyard.TooManyItems"));
    assert!(
        !finished.entered().contains(&"square_one".to_owned()),
        "no item ran"
    );
}

#[tokio::test]
async fn dev_team_runs_parallel_builds_and_skips_the_debugger_when_qa_passes() {
    let stack = Stack::connect().await;
    let run = stack
        .start(
            "dev-team",
            "tenant-a",
            json!({ "feature": "dark mode", "repository": "acme/web" }),
        )
        .await;
    let finished = stack.wait(&run, LIMIT).await;
    let output = finished.succeeded();
    assert_eq!(output["passed"], true);
    assert_eq!(output["changes"].as_array().map(Vec::len), Some(2));
    let entered = finished.entered();
    assert!(entered.contains(&"frontend".to_owned()) && entered.contains(&"backend".to_owned()));
    assert!(entered.contains(&"debug-when".to_owned()));
    assert!(
        !entered.contains(&"debug".to_owned()),
        "debugger skipped: {entered:?}"
    );
    stack.assert_attempts_recorded(&run, &finished).await;
}

#[tokio::test]
async fn enterprise_requests_route_by_category_and_skip_finance_under_5000() {
    let stack = Stack::connect().await;
    let request = json!({
        "request_id": "R-1", "department": "eng", "requester": "ada",
        "items": [{ "description": "SaaS license", "quantity": 2, "unit_price": 300.0 }]
    });
    let run = stack
        .start("enterprise-coordinator", "tenant-a", request)
        .await;
    let finished = stack.wait(&run, LIMIT).await;
    let output = finished.succeeded();
    assert_eq!(output["purchase_order"], "PO-R-1");
    let entered = finished.entered();
    assert!(entered.contains(&"it_review".to_owned()), "{entered:?}");
    assert!(
        !entered.contains(&"finance_approval".to_owned()),
        "{entered:?}"
    );
}

#[tokio::test]
async fn sales_outreach_writes_one_email_per_matching_deal() {
    let stack = Stack::connect().await;
    let request =
        json!({ "quarter": "2024-Q4", "min_value": 20000.0, "stages": [], "max_emails": 10 });
    let expected = switchyard_agents::sales::crm()
        .expect("dataset")
        .iter()
        .filter(|d| d.close_quarter == "2024-Q4" && d.value >= 20000.0)
        .count()
        .min(10);
    let run = stack.start("sales-outreach", "tenant-a", request).await;
    let finished = stack.wait(&run, LIMIT).await;
    let output = finished.succeeded();
    assert_eq!(output["emails"], expected);
    let written = finished
        .entered()
        .iter()
        .filter(|s| *s == "write_email")
        .count();
    assert_eq!(written, expected, "one map iteration per deal");
    stack.assert_attempts_recorded(&run, &finished).await;
    // Each email went through the sender: the local outbox recorded it.
    let outbox = stack.outbox(switchyard_e2e::run_id(&run)).await;
    assert_eq!(outbox.len(), expected);
    assert!(outbox.iter().all(|m| m["message"]["to"]
        .as_str()
        .is_some_and(|to| to.ends_with(".test"))));
}

#[tokio::test]
async fn gated_workflows_complete_with_dev_auto_approval() {
    // The local deployment sets AUTO_APPROVE_IN_DEV: each gate's request is stored in
    // DynamoDB and approved at once; the movie's pick-one gate delivers its first choice.
    let stack = Stack::connect().await;
    let movie = stack
        .start("movie-production", "tenant-a", json!({ "title": "Orbit", "logline": "Two rivals share a station", "genre": "sci-fi", "episodes": 3 }))
        .await;
    let campaign = stack
        .start(
            "campaign-creation",
            "tenant-a",
            json!({ "brand_id": "acme", "selected_month": "2024-11" }),
        )
        .await;
    let movie_run = movie;
    let movie = stack.wait(&movie_run, LIMIT).await;
    let output = movie.succeeded();
    assert_eq!(output["episodes"], 3);
    let revisions = movie
        .entered()
        .iter()
        .filter(|s| *s == "revise_story")
        .count();
    assert!(
        (1..=3).contains(&revisions),
        "bounded revise loop ran {revisions} times"
    );
    // Each round of the loop is recorded: the review before the first revision and after
    // each one, and every revision, with rounds that go up.
    let records = stack.assert_attempts_recorded(&movie_run, &movie).await;
    for (step, entries) in [("review_story", revisions + 1), ("revise_story", revisions)] {
        let rounds: Vec<u64> = records
            .iter()
            .filter(|r| r["step"] == step)
            .map(|r| {
                r.get("round")
                    .and_then(Value::as_u64)
                    .unwrap_or_else(|| panic!("{step} record without a round: {r:?}"))
            })
            .collect();
        assert_eq!(rounds.len(), entries, "{step}: {records:#?}");
        assert!(
            rounds.windows(2).all(|w| w[0] < w[1]),
            "{step} rounds {rounds:?}"
        );
    }
    // A step the run enters once has no round.
    assert!(records
        .iter()
        .filter(|r| r["step"] != "review_story" && r["step"] != "revise_story")
        .all(|r| r.get("round").is_none_or(Value::is_null)));
    let campaign = stack.wait(&campaign, LIMIT).await;
    let output = campaign.succeeded();
    assert!(
        output["deployment_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("dep-")),
        "{output}"
    );
    for gate in ["approve_strategy", "approve_content", "approve_deployment"] {
        assert!(
            campaign.entered().contains(&gate.to_owned()),
            "{gate} not entered"
        );
    }
}

/// `shape-test` routes on `orderTotal` (renamed by `rename_all`), `type` (a raw identifier),
/// `prio` (renamed, with SCREAMING_SNAKE variants), `is-vip` (flattened from a kebab-case struct,
/// so addressed in bracket notation),
/// an internally tagged enum, and a subject field after a gate. Each run must end in the
/// step the Rust declaration names for its input: the emitted paths are serde's, not Rust's.
#[tokio::test]
async fn runs_route_on_the_json_serde_writes() {
    let stack = Stack::connect().await;
    let order = |total: f64, kind: &str, prio: &str, channel: serde_json::Value, vip: bool| {
        json!({
            "orderTotal": total, "type": kind, "prio": prio, "channel": channel,
            "region": "eu", "is-vip": vip,
        })
    };
    let cases = [
        (
            order(8000.0, "wholesale", "HIGH", json!({"kind": "email"}), false),
            "urgent",
        ),
        (
            order(2000.0, "wholesale", "HIGH", json!({"kind": "email"}), false),
            "standard",
        ),
        (
            order(2000.0, "wholesale", "LOW", json!({"kind": "email"}), true),
            "standard",
        ),
        (
            order(10.0, "retail", "HIGH", json!({"kind": "sms"}), true),
            "texted",
        ),
        (
            order(10.0, "retail", "HIGH", json!({"kind": "email"}), true),
            "emailed",
        ),
        (
            order(
                10.0,
                "retail",
                "HIGH",
                json!({"kind": "push", "token": "t"}),
                true,
            ),
            "standard",
        ),
        (
            order(9000.0, "retail", "HIGH", json!({"kind": "sms"}), false),
            "standard",
        ),
    ];
    let mut runs = Vec::new();
    for (input, _) in &cases {
        runs.push(stack.start("shape-test", "tenant-a", input.clone()).await);
    }
    for ((input, route), run) in cases.iter().zip(&runs) {
        let finished = stack.wait(run, LIMIT).await;
        assert_eq!(
            finished.succeeded()["route"],
            json!(route),
            "input {input} should end in `{route}`"
        );
    }
}

/// An execution keeps the definition it started with, so one started before a deploy that
/// changed the agent task's event (parked, or at a gate for days) calls the current functions
/// with the earlier `{input, context}` shape: it runs on, its steps recorded under its tenant
/// and round as before.
#[tokio::test]
async fn an_execution_of_the_earlier_task_shape_runs_on_the_current_functions() {
    let stack = Stack::connect().await;
    let role = stack
        .sfn
        .describe_state_machine()
        .state_machine_arn(stack.state_machine("bench-chain"))
        .send()
        .await
        .expect("describe bench-chain")
        .role_arn()
        .to_owned();
    let relay = stack
        .lambda
        .get_function()
        .function_name("switchyard-relay")
        .send()
        .await
        .expect("the relay agent is deployed");
    let relay = relay
        .configuration()
        .and_then(|c| c.function_arn())
        .expect("its ARN")
        .to_owned();
    let earlier_task = |step: &str, round: Option<u32>| {
        let mut context = json!({
            "run_id.$": "$$.Execution.Name",
            "tenant_id.$": "$.meta.tenant_id",
            "workflow": "bench-chain",
            "step": step,
            "attempt.$": "$$.State.RetryCount",
        });
        if let Some(round) = round {
            context["round"] = json!(round);
        }
        json!({
            "Type": "Task",
            "Resource": relay,
            "Parameters": { "input.$": "$.data", "context": context },
            "ResultPath": "$.data",
        })
    };
    let mut last = earlier_task("hop2", Some(2));
    last["End"] = json!(true);
    let mut first = earlier_task("hop1", None);
    first["Next"] = json!("hop2");
    let definition = json!({ "StartAt": "hop1", "States": { "hop1": first, "hop2": last } });
    let name = format!("e2e-earlier-shape-{}", uuid::Uuid::new_v4());
    let machine = stack
        .sfn
        .create_state_machine()
        .name(&name)
        .definition(definition.to_string())
        .role_arn(role)
        .send()
        .await
        .expect("create the earlier-shape machine")
        .state_machine_arn()
        .to_owned();
    let tenant = format!("earlier-{}", uuid::Uuid::new_v4().simple());
    let envelope =
        switchyard_state::ExecutionInput::new(&tenant, json!({ "hops": 0, "note": "x" }));
    let execution = stack
        .sfn
        .start_execution()
        .state_machine_arn(&machine)
        .input(json!(envelope).to_string())
        .send()
        .await
        .expect("start")
        .execution_arn()
        .to_owned();
    let finished = stack.wait_execution(&execution, LIMIT).await;
    let _ = stack
        .sfn
        .delete_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await;
    assert_eq!(
        finished.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        finished.error
    );
    let records = stack.assert_attempts_recorded(&execution, &finished).await;
    let seen: Vec<(Value, Value, Value)> = records
        .iter()
        .map(|r| {
            (
                r["step_key"].clone(),
                r["tenant_id"].clone(),
                r["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (json!("hop1#00"), json!(tenant), json!("succeeded")),
            (json!("hop2#r0002#00"), json!(tenant), json!("succeeded")),
        ]
    );
}
