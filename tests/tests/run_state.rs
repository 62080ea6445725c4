//! Run and step records in DynamoDB follow every execution, and outputs over Step Functions'
//! payload limit travel through S3.

use std::time::Duration;

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::json;
use switchyard_e2e::{run_id, Stack};

const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_successful_run_records_every_step_with_latency_tokens_and_cost() {
    let stack = Stack::connect().await;
    let run = stack
        .start(
            "dev-team",
            "tenant-runs",
            json!({ "feature": "search", "repository": "acme/api" }),
        )
        .await;
    stack.wait(&run, LIMIT).await.succeeded();
    let id = run_id(&run);
    let record = stack.run_record(id).await.expect("run record");
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["tenant_id"], "tenant-runs");
    assert_eq!(record["workflow"], "dev-team");
    assert!(record["finished_at"].as_f64() >= record["created_at"].as_f64());
    // tech_lead asked the model: its tokens are in the step record and the run's totals.
    assert!(record["tokens_in"].as_f64() > Some(0.0), "{record:?}");
    let steps = stack.step_records(id).await;
    let names: Vec<&str> = steps.iter().filter_map(|s| s["step"].as_str()).collect();
    for step in ["plan", "frontend", "backend", "qa"] {
        assert!(names.contains(&step), "{step} not recorded: {names:?}");
    }
    assert!(!names.contains(&"debug"), "a skipped step has no record");
    let plan = steps.iter().find(|s| s["step"] == "plan").expect("plan");
    assert_eq!(plan["status"], "succeeded");
    assert_eq!(plan["model"], "embedded:deterministic-v1");
    assert!(plan["tokens_out"].as_f64() > Some(0.0));
    assert!(plan["latency_ms"].as_f64().is_some());
    assert_eq!(plan["cost_usd"], 0.0, "the embedded model is free");
    let total_in: f64 = steps.iter().filter_map(|s| s["tokens_in"].as_f64()).sum();
    assert_eq!(
        record["tokens_in"].as_f64(),
        Some(total_in),
        "totals add up the steps exactly once"
    );
}

#[tokio::test]
async fn failed_attempts_are_recorded_and_the_run_fails_with_the_agents_error() {
    let stack = Stack::connect().await;
    let run = stack
        .start(
            "self-test",
            "tenant-runs",
            json!({ "fail_times": 9, "numbers": [] }),
        )
        .await;
    let finished = stack.wait(&run, LIMIT).await;
    assert_eq!(finished.status, ExecutionStatus::Failed);
    let id = run_id(&run);
    let record = stack.run_record(id).await.expect("run record");
    assert_eq!(record["status"], "failed");
    assert_eq!(record["failure_error"], "Agent.Retryable");
    let attempts: Vec<_> = stack
        .step_records(id)
        .await
        .into_iter()
        .filter(|s| s["step"] == "flaky_step")
        .collect();
    assert_eq!(attempts.len(), 4, "one record per attempt: {attempts:?}");
    assert!(attempts
        .iter()
        .all(|a| a["status"] == "failed" && a["error_name"] == "Agent.Retryable"));
}

#[tokio::test]
async fn a_failure_outside_any_agent_is_recorded_too() {
    let stack = Stack::connect().await;
    let numbers: Vec<i64> = (1..=11).collect();
    let run = stack
        .start(
            "self-test",
            "tenant-runs",
            json!({ "fail_times": 0, "numbers": numbers }),
        )
        .await;
    stack.wait(&run, LIMIT).await;
    let record = stack.run_record(run_id(&run)).await.expect("run record");
    assert_eq!(record["status"], "failed");
    assert_eq!(record["failure_error"], "Switchyard.TooManyItems");
}

#[tokio::test]
async fn a_multi_megabyte_output_crosses_steps_through_s3() {
    let stack = Stack::connect().await;
    let bytes = 3 * 1024 * 1024;
    let run = stack
        .start("payload-test", "tenant-runs", json!({ "bytes": bytes }))
        .await;
    let finished = stack.wait(&run, LIMIT).await;
    let output = finished.succeeded();
    assert_eq!(output["label"], "blob");
    assert_eq!(output["bytes"], bytes);
    assert_eq!(output["chunks"], bytes / 1024);
    // The branch routed on `label`, kept inline in the reference.
    assert!(finished.entered().contains(&"digest".to_owned()));
}

#[tokio::test]
async fn every_seed_workflow_completes_and_records_its_steps() {
    let stack = Stack::connect().await;
    let seeds = [
        (
            "campaign-creation",
            json!({ "brand_id": "globex", "selected_month": "2024-11" }),
        ),
        (
            "sales-outreach",
            json!({ "quarter": "2024-Q4", "min_value": 50000.0, "stages": [], "max_emails": 3 }),
        ),
        (
            "movie-production",
            json!({ "title": "Drift", "logline": "Two pilots", "genre": "thriller", "episodes": 2 }),
        ),
        (
            "enterprise-coordinator",
            json!({ "request_id": "R-2", "department": "it", "requester": "bo", "items": [{ "description": "SaaS subscription", "quantity": 10, "unit_price": 900.0 }] }),
        ),
        (
            "dev-team",
            json!({ "feature": "export", "repository": "acme/app" }),
        ),
    ];
    let mut runs = Vec::new();
    for (workflow, input) in seeds {
        runs.push((workflow, stack.start(workflow, "tenant-seeds", input).await));
    }
    for (workflow, run) in runs {
        stack.wait(&run, LIMIT).await.succeeded();
        let id = run_id(&run);
        let record = stack
            .run_record(id)
            .await
            .unwrap_or_else(|| panic!("{workflow}: no run record"));
        assert_eq!(record["status"], "succeeded", "{workflow}");
        assert_eq!(record["workflow"], workflow);
        let steps = stack.step_records(id).await;
        assert!(!steps.is_empty(), "{workflow}: no step records");
        for step in &steps {
            assert_eq!(step["status"], "succeeded", "{workflow}: {step:?}");
            assert!(
                step["latency_ms"].as_f64().is_some(),
                "{workflow}: {step:?}"
            );
            assert!(
                step["tokens_in"].as_f64().is_some() && step["cost_usd"].as_f64().is_some(),
                "{workflow}: {step:?}"
            );
        }
        let recorded: f64 = steps.iter().filter_map(|s| s["tokens_out"].as_f64()).sum();
        assert_eq!(
            record["tokens_out"].as_f64().unwrap_or(0.0),
            recorded,
            "{workflow}: totals"
        );
    }
}

/// A parallel step's branches are admitted as one group, on the run item in DynamoDB Local:
/// a pause holds all of a group's branches or none, however their checks and the pause
/// interleave, and it never holds a group admitted before it.
#[tokio::test]
async fn a_parallel_steps_branches_are_admitted_as_one_group() {
    use switchyard_state::{Admission, RunRecord, RunStatus};
    let stack = Stack::connect().await;
    let runs = stack.state.runs();
    let run_id = format!("admit-{}", uuid::Uuid::new_v4());
    let go = |admission: &Admission| matches!(admission, Admission::Go(_));
    assert!(runs
        .start(&RunRecord::started(&run_id, "tenant-admit", "dev-team", 1))
        .await
        .expect("start"));

    // Running: the first branch admits the group.
    let first = runs.admit_group(&run_id, "build").await.expect("admit");
    assert!(go(&first), "{first:?}");
    // Paused after that: its siblings go on with it, however many ask.
    assert!(runs.pause(&run_id).await.expect("pause"));
    for _ in 0..2 {
        let sibling = runs.admit_group(&run_id, "build").await.expect("admit");
        assert!(go(&sibling), "admitted before the pause: {sibling:?}");
    }
    // A step outside any group is held, and so is every branch of a group that asks first
    // while paused.
    assert_eq!(
        runs.admission(&run_id).await.expect("read"),
        Admission::Held
    );
    for _ in 0..2 {
        let refused = runs.admit_group(&run_id, "review#r1").await.expect("admit");
        assert_eq!(refused, Admission::Held);
    }
    let record = runs.get(&run_id).await.expect("get").expect("a record");
    assert_eq!(
        record.status,
        RunStatus::Paused,
        "admitting changes no status"
    );
    // Resumed, the held group is admitted when it comes again.
    assert!(runs.resume(&run_id).await.expect("resume"));
    let resumed = runs.admit_group(&run_id, "review#r1").await.expect("admit");
    assert!(go(&resumed), "{resumed:?}");
    // A run without a record (started outside the API) is not held, and gets no record.
    let stranger = format!("admit-{}", uuid::Uuid::new_v4());
    assert_eq!(
        runs.admit_group(&stranger, "build").await.expect("admit"),
        Admission::Unrecorded
    );
    assert!(runs.get(&stranger).await.expect("get").is_none());
}

#[tokio::test]
async fn only_the_record_of_a_run_that_never_started_is_discarded() {
    use switchyard_state::{RunRecord, RunStatus};
    let stack = Stack::connect().await;
    let runs = stack.state.runs();
    let started = |id: &str| RunRecord::started(id, "tenant-discard", "dev-team", 1);

    // Recorded, and its execution never started: the record goes.
    let unstarted = format!("discard-{}", uuid::Uuid::new_v4());
    assert!(runs.start(&started(&unstarted)).await.expect("start"));
    assert!(runs.discard(&unstarted).await.expect("discard"));
    assert!(runs.get(&unstarted).await.expect("get").is_none());

    // A run that has moved on (paused, or ended) keeps its record.
    let paused = format!("discard-{}", uuid::Uuid::new_v4());
    assert!(runs.start(&started(&paused)).await.expect("start"));
    assert!(runs.pause(&paused).await.expect("pause"));
    assert!(!runs.discard(&paused).await.expect("discard"));
    let ended = format!("discard-{}", uuid::Uuid::new_v4());
    assert!(runs.start(&started(&ended)).await.expect("start"));
    assert!(runs.cancel(&ended).await.expect("cancel"));
    assert!(!runs.discard(&ended).await.expect("discard"));
    for (id, status) in [(&paused, RunStatus::Paused), (&ended, RunStatus::Cancelled)] {
        let record = runs.get(id).await.expect("get").expect("kept");
        assert_eq!(record.status, status);
    }
    // Nothing to discard: no record is made.
    let absent = format!("discard-{}", uuid::Uuid::new_v4());
    assert!(!runs.discard(&absent).await.expect("discard"));
    assert!(runs.get(&absent).await.expect("get").is_none());
}
