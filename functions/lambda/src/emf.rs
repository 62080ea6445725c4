//! CloudWatch metrics as Embedded Metric Format lines: a JSON object on stdout, one line,
//! which CloudWatch Logs turns into metrics (namespace, dimensions and units in its `_aws`
//! block, the values as top-level keys). No API call: an event pays for formatting and one
//! write. The metrics themselves are defined once, in
//! [`switchyard_state::schema::metrics`], which the template's dashboard plots from too.
//!
//! Run and request ids are properties, not dimensions: a dimension per run would make a
//! metric per run. Property names are capitalised like the dimensions, so a run's log view
//! (which keeps the lines whose `run_id` field is the run) leaves these lines out.

use std::io::Write;

use serde_json::{json, Map, Value};
use switchyard_state::schema::metrics::{
    Metric, MetricSet, AGENT, AGENT_ATTEMPT, AGENT_FAILED, AGENT_LATENCY, AGENT_SUCCEEDED,
    APPROVAL_DECISION, APPROVAL_TURNAROUND, COST_USD, GATE, NAMESPACE, RUN_CANCELLED, RUN_DURATION,
    RUN_END, RUN_FAILED, RUN_SUCCEEDED, TOKENS, WORKFLOW,
};
use switchyard_state::{ApprovalOutcome, ApprovalRecord, RunEnd, StepRecord};

/// One EMF document: `set`'s dimension sets over `dimensions`' values, the metrics given in
/// `values` (a metric of the set left out is not declared) and `properties`, which are
/// searchable in the logs but split no metric.
pub fn document(
    set: &MetricSet,
    timestamp_ms: u64,
    dimensions: &[(&str, &str)],
    values: &[(Metric, f64)],
    properties: &[(&str, &str)],
) -> Value {
    let mut root = Map::new();
    for (name, value) in properties.iter().chain(dimensions) {
        root.insert((*name).to_owned(), json!(value));
    }
    let mut declared = Vec::new();
    for (metric, value) in values {
        debug_assert!(
            set.metrics.contains(metric),
            "{} is not in its set",
            metric.name
        );
        root.insert(metric.name.to_owned(), json!(value));
        declared.push(json!({ "Name": metric.name, "Unit": metric.unit.as_str() }));
    }
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": set.dimensions,
                "Metrics": declared,
            }],
        }),
    );
    Value::Object(root)
}

/// Writes the document as one line on stdout, where CloudWatch Logs reads it. A line that
/// cannot be written (stdout closed) is a metric lost, never a failure of what it measures.
pub fn emit(document: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{document}");
}

/// 1 when true, else 0: the metric's average is then a rate.
fn flag(on: bool) -> f64 {
    if on {
        1.0
    } else {
        0.0
    }
}

/// A finished agent attempt, from its step record.
pub fn agent_attempt(attempt: &StepRecord, timestamp_ms: u64) -> Value {
    let succeeded = attempt.status == switchyard_state::StepStatus::Succeeded;
    let agent = attempt.agent.as_deref().unwrap_or_default();
    let workflow = attempt.workflow.as_deref().unwrap_or_default();
    let mut properties = vec![("RunId", attempt.run_id.as_str()), ("Step", &attempt.step)];
    if let Some(error) = &attempt.error_name {
        properties.push(("Error", error));
    }
    document(
        &AGENT_ATTEMPT,
        timestamp_ms,
        &[(WORKFLOW, workflow), (AGENT, agent)],
        &[
            (AGENT_LATENCY, attempt.latency_ms.unwrap_or_default() as f64),
            (AGENT_SUCCEEDED, flag(succeeded)),
            (AGENT_FAILED, flag(!succeeded)),
            (TOKENS, (attempt.tokens_in + attempt.tokens_out) as f64),
            (COST_USD, attempt.cost_usd),
        ],
        &properties,
    )
}

/// A run's end; its duration when the execution's start and stop are known.
pub fn run_end(
    workflow: &str,
    run_id: &str,
    end: &RunEnd,
    duration_ms: Option<u64>,
    timestamp_ms: u64,
) -> Value {
    let mut values = vec![
        (RUN_SUCCEEDED, flag(matches!(end, RunEnd::Succeeded { .. }))),
        (RUN_FAILED, flag(matches!(end, RunEnd::Failed { .. }))),
        (RUN_CANCELLED, flag(matches!(end, RunEnd::Cancelled))),
    ];
    values.extend(duration_ms.map(|ms| (RUN_DURATION, ms as f64)));
    let mut properties = vec![("RunId", run_id)];
    if let RunEnd::Failed { error, .. } = end {
        properties.push(("Error", error));
    }
    document(
        &RUN_END,
        timestamp_ms,
        &[(WORKFLOW, workflow)],
        &values,
        &properties,
    )
}

/// A decision delivered to its run (`approved` or `rejected`); `None` for a request not
/// decided yet.
pub fn approval_decision(approval: &ApprovalRecord, timestamp_ms: u64) -> Option<Value> {
    let turnaround = ApprovalOutcome::from(approval).turnaround_ms()?;
    Some(document(
        &APPROVAL_DECISION,
        timestamp_ms,
        &[(WORKFLOW, &approval.workflow), (GATE, &approval.gate)],
        &[(APPROVAL_TURNAROUND, turnaround as f64)],
        &[
            ("RunId", &approval.run_id),
            ("RequestId", &approval.request_id),
            ("Status", approval.status.as_str()),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_state::{ApprovalStatus, StepStatus};

    #[test]
    fn an_attempt_is_one_emf_document_with_both_dimension_sets() {
        let attempt = StepRecord {
            run_id: "run-1".into(),
            step: "write".into(),
            agent: Some("copywriter".into()),
            workflow: Some("campaign-creation".into()),
            status: StepStatus::Failed,
            latency_ms: Some(1250),
            tokens_in: 100,
            tokens_out: 20,
            cost_usd: 0.5,
            error_name: Some("Agent.Permanent".into()),
            ..StepRecord::default()
        };
        let line = agent_attempt(&attempt, 1_700_000_000_000).to_string();
        assert!(!line.contains('\n'));
        let parsed: Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(
            parsed,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Switchyard",
                        "Dimensions": [["Workflow", "Agent"], ["Agent"]],
                        "Metrics": [
                            { "Name": "AgentLatency", "Unit": "Milliseconds" },
                            { "Name": "AgentSucceeded", "Unit": "Count" },
                            { "Name": "AgentFailed", "Unit": "Count" },
                            { "Name": "Tokens", "Unit": "Count" },
                            { "Name": "CostUSD", "Unit": "None" },
                        ],
                    }],
                },
                "Workflow": "campaign-creation",
                "Agent": "copywriter",
                "AgentLatency": 1250.0,
                "AgentSucceeded": 0.0,
                "AgentFailed": 1.0,
                "Tokens": 120.0,
                "CostUSD": 0.5,
                "RunId": "run-1",
                "Step": "write",
                "Error": "Agent.Permanent",
            })
        );
    }

    #[test]
    fn a_run_end_counts_its_outcome_and_declares_only_the_values_it_has() {
        let failed = RunEnd::Failed {
            error: "States.Timeout".into(),
            cause: "slow".into(),
        };
        let line = run_end("self-test", "run-2", &failed, Some(4000), 5);
        assert_eq!(
            line,
            json!({
                "_aws": {
                    "Timestamp": 5,
                    "CloudWatchMetrics": [{
                        "Namespace": "Switchyard",
                        "Dimensions": [["Workflow"]],
                        "Metrics": [
                            { "Name": "RunSucceeded", "Unit": "Count" },
                            { "Name": "RunFailed", "Unit": "Count" },
                            { "Name": "RunCancelled", "Unit": "Count" },
                            { "Name": "RunDuration", "Unit": "Milliseconds" },
                        ],
                    }],
                },
                "Workflow": "self-test",
                "RunSucceeded": 0.0,
                "RunFailed": 1.0,
                "RunCancelled": 0.0,
                "RunDuration": 4000.0,
                "RunId": "run-2",
                "Error": "States.Timeout",
            })
        );
        let cancelled = run_end("self-test", "run-3", &RunEnd::Cancelled, None, 5);
        assert_eq!(cancelled["RunCancelled"], 1.0);
        assert!(cancelled.get("RunDuration").is_none());
        let declared = &cancelled["_aws"]["CloudWatchMetrics"][0]["Metrics"];
        assert_eq!(declared.as_array().map(Vec::len), Some(3), "{declared}");
    }

    #[test]
    fn a_delivered_decision_reports_its_turnaround_per_gate() {
        let mut approval = ApprovalRecord {
            request_id: "q-1".into(),
            run_id: "run-4".into(),
            workflow: "gate-test".into(),
            gate: "ask".into(),
            status: ApprovalStatus::Deciding,
            created_at: 100,
            decided_at: Some(112),
            ..ApprovalRecord::default()
        };
        assert_eq!(approval_decision(&approval, 9), None, "not delivered yet");
        approval.status = ApprovalStatus::Approved;
        let line = approval_decision(&approval, 9).unwrap_or_default();
        assert_eq!(
            line,
            json!({
                "_aws": {
                    "Timestamp": 9,
                    "CloudWatchMetrics": [{
                        "Namespace": "Switchyard",
                        "Dimensions": [["Workflow", "Gate"]],
                        "Metrics": [{ "Name": "ApprovalTurnaround", "Unit": "Milliseconds" }],
                    }],
                },
                "Workflow": "gate-test",
                "Gate": "ask",
                "ApprovalTurnaround": 12000.0,
                "RunId": "run-4",
                "RequestId": "q-1",
                "Status": "approved",
            })
        );
    }

    #[test]
    fn every_declared_dimension_has_a_value() {
        let attempt = StepRecord::default();
        for line in [
            agent_attempt(&attempt, 0),
            run_end("w", "r", &RunEnd::Cancelled, None, 0),
        ] {
            let directive = &line["_aws"]["CloudWatchMetrics"][0];
            for set in directive["Dimensions"].as_array().into_iter().flatten() {
                for name in set.as_array().into_iter().flatten() {
                    let name = name.as_str().unwrap_or_default();
                    assert!(line[name].is_string(), "{name} has no value in {line}");
                }
            }
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                let name = metric["Name"].as_str().unwrap_or_default();
                assert!(line[name].is_number(), "{name} has no value in {line}");
            }
        }
    }
}
