//! What the run endpoints answer: the shapes of a run, a line of the run list, and the
//! links between them. Computed from records; nothing here reads or writes.

use serde::Serialize;
use serde_json::Value;

use crate::backend::{
    ApprovalRecord, ApprovalStatus, RunRecord, RunStatus, StepRecord, StepStatus,
};

/// A run as `GET /runs/{id}` shows it.
#[derive(Serialize)]
pub struct RunView<'a> {
    pub run_id: &'a str,
    pub tenant_id: &'a str,
    pub workflow: &'a str,
    pub status: RunStatus,
    pub current_step: Option<&'a str>,
    pub created_at: u64,
    pub updated_at: Option<u64>,
    pub finished_at: Option<u64>,
    pub input_summary: Option<&'a str>,
    pub totals: Totals,
    pub steps: &'a [StepRecord],
    pub approvals: &'a [ApprovalRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure<'a>>,
    pub execution_arn: Option<&'a str>,
    pub links: Links,
}

/// One line of `GET /runs`.
#[derive(Serialize)]
pub struct RunSummary<'a> {
    pub run_id: &'a str,
    pub workflow: &'a str,
    pub status: RunStatus,
    pub current_step: Option<&'a str>,
    pub created_at: u64,
    pub finished_at: Option<u64>,
    pub totals: Totals,
    pub links: Links,
}

#[derive(Serialize)]
pub struct Totals {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    pub step_attempts: u64,
}

impl Totals {
    pub fn of(run: &RunRecord) -> Totals {
        Totals {
            tokens_in: run.tokens_in,
            tokens_out: run.tokens_out,
            cost_usd: run.cost_usd,
            step_attempts: run.step_attempts,
        }
    }
}

#[derive(Serialize)]
pub struct Failure<'a> {
    pub error: Option<&'a str>,
    pub cause: Option<&'a str>,
}

#[derive(Serialize)]
pub struct Links {
    #[serde(rename = "self")]
    pub this: String,
    pub timeline: String,
    pub logs: String,
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
pub fn current_step<'a>(
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
