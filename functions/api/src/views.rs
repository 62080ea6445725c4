//! What the run endpoints answer: the shapes of a run, a line of the run list, and the
//! links between them. Computed from records; nothing here reads or writes.

use serde::Serialize;
use serde_json::Value;

use crate::backend::{
    ApprovalRecord, ApprovalStatus, Execution, ExecutionStatus, RunRecord, RunStatus, StepRecord,
    StepStatus,
};

/// A run as `GET /runs/{id}` shows it.
#[derive(Serialize)]
pub struct RunView<'a> {
    run_id: &'a str,
    tenant_id: &'a str,
    workflow: &'a str,
    status: RunStatus,
    current_step: Option<&'a str>,
    created_at: u64,
    updated_at: Option<u64>,
    finished_at: Option<u64>,
    input_summary: Option<&'a str>,
    totals: Totals,
    steps: &'a [StepRecord],
    approvals: &'a [ApprovalRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Failure<'a>>,
    execution_arn: Option<&'a str>,
    links: Links,
}

impl<'a> RunView<'a> {
    /// `run` as its execution ended it (see [`crate::reconcile::effective`]), with its
    /// attempts and public approvals.
    pub fn new(
        run: &'a RunRecord,
        steps: &'a [StepRecord],
        approvals: &'a [ApprovalRecord],
        execution: Option<&Execution>,
    ) -> RunView<'a> {
        let output = execution
            .filter(|e| e.status == ExecutionStatus::Succeeded)
            .and_then(|e| e.output.as_deref())
            .map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())));
        let failure = (run.status == RunStatus::Failed).then_some(Failure {
            error: run.failure_error.as_deref(),
            cause: run.failure_cause.as_deref(),
        });
        RunView {
            run_id: &run.run_id,
            tenant_id: &run.tenant_id,
            workflow: &run.workflow,
            status: run.status,
            current_step: current_step(run, steps, approvals),
            created_at: run.created_at,
            updated_at: run.updated_at,
            finished_at: run.finished_at,
            input_summary: run.input_summary.as_deref(),
            totals: Totals::of(run),
            steps,
            approvals,
            output,
            failure,
            execution_arn: run.execution_arn.as_deref(),
            links: Links::of(&run.run_id),
        }
    }
}

/// One line of `GET /runs`.
#[derive(Serialize)]
pub struct RunSummary<'a> {
    run_id: &'a str,
    workflow: &'a str,
    status: RunStatus,
    current_step: Option<&'a str>,
    created_at: u64,
    finished_at: Option<u64>,
    totals: Totals,
    links: Links,
}

impl<'a> RunSummary<'a> {
    pub fn of(run: &'a RunRecord) -> RunSummary<'a> {
        RunSummary {
            run_id: &run.run_id,
            workflow: &run.workflow,
            status: run.status,
            current_step: run.current_step.as_deref(),
            created_at: run.created_at,
            finished_at: run.finished_at,
            totals: Totals::of(run),
            links: Links::of(&run.run_id),
        }
    }
}

#[derive(Serialize)]
struct Totals {
    tokens_in: u64,
    tokens_out: u64,
    cost_usd: f64,
    step_attempts: u64,
}

impl Totals {
    fn of(run: &RunRecord) -> Totals {
        Totals {
            tokens_in: run.tokens_in,
            tokens_out: run.tokens_out,
            cost_usd: run.cost_usd,
            step_attempts: run.step_attempts,
        }
    }
}

#[derive(Serialize)]
struct Failure<'a> {
    error: Option<&'a str>,
    cause: Option<&'a str>,
}

#[derive(Serialize)]
pub struct Links {
    #[serde(rename = "self")]
    pub this: String,
    timeline: String,
    logs: String,
}

impl Links {
    pub fn of(run_id: &str) -> Links {
        Links {
            this: format!("/runs/{run_id}"),
            timeline: format!("/runs/{run_id}/timeline"),
            logs: format!("/runs/{run_id}/logs"),
        }
    }
}

/// The step a running run is at: an agent attempt in flight, else a gate waiting for a
/// person, else the last step that finished.
fn current_step<'a>(
    run: &'a RunRecord,
    steps: &'a [StepRecord],
    approvals: &'a [ApprovalRecord],
) -> Option<&'a str> {
    if run.status != RunStatus::Running {
        return run.current_step.as_deref();
    }
    steps
        .iter()
        .filter(|s| s.status == StepStatus::Running)
        .max_by_key(|s| s.started_at)
        .map(|s| s.step.as_str())
        .or_else(|| {
            approvals
                .iter()
                .find(|a| a.status == ApprovalStatus::Pending)
                .map(|a| a.gate.as_str())
        })
        .or(run.current_step.as_deref())
}
