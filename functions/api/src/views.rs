//! What the run endpoints answer: the shapes of a run, a line of the run list, and the
//! links between them. Computed from records; nothing here reads or writes.

use serde::Serialize;
use serde_json::Value;

use switchyard_state::{Budget, RunTotals};

use crate::backend::{
    ApprovalRecord, ApprovalStatus, ParkedRecord, RunRecord, RunStatus, StepRecord, StepStatus,
};

/// A run as `GET /runs/{id}` shows it.
#[derive(Serialize)]
pub struct RunView<'a> {
    run_id: &'a str,
    tenant_id: &'a str,
    workflow: &'a str,
    status: RunStatus,
    /// The step most recently started that has not finished (an agent attempt, else a gate
    /// waiting for a person); for a run that ended, the last step it started.
    current_step: Option<&'a str>,
    /// Every step in flight: several inside a parallel or a map.
    current_steps: Vec<&'a str>,
    created_at: u64,
    updated_at: Option<u64>,
    finished_at: Option<u64>,
    input_summary: Option<&'a str>,
    totals: RunTotals,
    /// Its spending limit, when it has one: its workflow's, or given at its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    budget: Option<Budget>,
    /// What its model exchanges spent against the budget so far (each attempt adds its
    /// own as it ends); only with a budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    spent: Option<Spent>,
    steps: &'a [StepRecord],
    approvals: &'a [ApprovalRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Failure<'a>>,
    execution_arn: Option<&'a str>,
    /// When it was paused and resumed, oldest first (epoch ms).
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    paused_at: &'a [u64],
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    resumed_at: &'a [u64],
    /// While paused: the steps waiting at their boundary (each map item on its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    parked: Option<Vec<Parked<'a>>>,
    links: Links,
}

/// What a run with a budget spent.
#[derive(Serialize)]
struct Spent {
    tokens: u64,
    usd: f64,
}

/// A step of a paused run waiting at its boundary.
#[derive(Serialize)]
struct Parked<'a> {
    step: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<u64>,
    parked_at: u64,
}

impl<'a> RunView<'a> {
    /// `run` with its attempts, public approvals and (while paused) parked steps; totals are
    /// summed over the attempts.
    pub fn new(
        run: &'a RunRecord,
        steps: &'a [StepRecord],
        approvals: &'a [ApprovalRecord],
        parked: Option<&'a [ParkedRecord]>,
    ) -> RunView<'a> {
        let output = run
            .output
            .as_deref()
            .filter(|_| run.status == RunStatus::Succeeded)
            .map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())));
        let in_flight = in_flight(run, steps, approvals);
        let failure = (run.status == RunStatus::Failed).then_some(Failure {
            error: run.failure_error.as_deref(),
            cause: run.failure_cause.as_deref(),
        });
        RunView {
            run_id: &run.run_id,
            tenant_id: &run.tenant_id,
            workflow: &run.workflow,
            status: run.status,
            current_step: in_flight.last().copied().or_else(|| last_started(steps)),
            current_steps: in_flight,
            created_at: run.created_at,
            updated_at: run.updated_at,
            finished_at: run.finished_at,
            input_summary: run.input_summary.as_deref(),
            totals: RunTotals::of(steps),
            budget: run.budget,
            spent: run.budget.map(|_| Spent {
                tokens: run.spent_tokens,
                usd: run.spent_usd,
            }),
            steps,
            approvals,
            output,
            failure,
            execution_arn: run.execution_arn.as_deref(),
            paused_at: &run.paused_at,
            resumed_at: &run.resumed_at,
            parked: parked.map(|parked| {
                parked
                    .iter()
                    .map(|p| Parked {
                        step: &p.step,
                        item: p.item,
                        parked_at: p.parked_at,
                    })
                    .collect()
            }),
            links: Links::of(&run.run_id),
        }
    }
}

/// One line of `GET /runs`: what the run's item holds (totals once the run ended).
#[derive(Serialize)]
pub struct RunSummary<'a> {
    run_id: &'a str,
    workflow: &'a str,
    status: RunStatus,
    created_at: u64,
    finished_at: Option<u64>,
    totals: RunTotals,
    links: Links,
}

impl<'a> RunSummary<'a> {
    pub fn of(run: &'a RunRecord) -> RunSummary<'a> {
        RunSummary {
            run_id: &run.run_id,
            workflow: &run.workflow,
            status: run.status,
            created_at: run.created_at,
            finished_at: run.finished_at,
            totals: run.totals(),
            links: Links::of(&run.run_id),
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
    events: String,
}

impl Links {
    pub fn of(run_id: &str) -> Links {
        Links {
            this: format!("/runs/{run_id}"),
            timeline: format!("/runs/{run_id}/timeline"),
            logs: format!("/runs/{run_id}/logs"),
            events: format!("/runs/{run_id}/events"),
        }
    }
}

/// The steps a run that has not ended is at, in the order they started: agent attempts in
/// flight (a paused run's steps finish their attempt), else the gates waiting for a person.
fn in_flight<'a>(
    run: &'a RunRecord,
    steps: &'a [StepRecord],
    approvals: &'a [ApprovalRecord],
) -> Vec<&'a str> {
    if !run.status.is_active() {
        return Vec::new();
    }
    let mut running: Vec<&StepRecord> = steps
        .iter()
        .filter(|s| s.status == StepStatus::Running)
        .collect();
    running.sort_by_key(|s| s.started_at);
    let mut names: Vec<&str> = Vec::new();
    for step in running {
        names.retain(|n| *n != step.step);
        names.push(&step.step);
    }
    if names.is_empty() {
        let mut pending: Vec<&ApprovalRecord> = approvals
            .iter()
            .filter(|a| a.status == ApprovalStatus::Pending)
            .collect();
        pending.sort_by_key(|a| a.created_at);
        names.extend(pending.iter().map(|a| a.gate.as_str()));
    }
    names
}

/// The step most recently started.
fn last_started(steps: &[StepRecord]) -> Option<&str> {
    steps
        .iter()
        .max_by_key(|s| s.started_at)
        .map(|s| s.step.as_str())
}
