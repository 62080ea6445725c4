//! The safety net under the run-tracker. Runs are recorded from their executions'
//! status-change events; a record misses its run's end only if that event was lost (or the
//! tracker failed on it after its retries). [`reconcile`] writes such an end: a cancel runs
//! it first, and [`sweep`] runs it over every run recorded as running, on a schedule: an
//! EventBridge rule in the template ticks the deployed API function every five minutes.

use serde_json::Value;
use switchyard_lambda::summarize;
use switchyard_lambda::tracker::{failure, MAX_RECORDED_OUTPUT, SUMMARY_CHARS};

use crate::backend::{Backend, Execution, ExecutionStatus, RunEnd, RunRecord, RunStatus};
use crate::error::ApiError;

/// How an execution ended, as a run record says it; `None` while it runs.
pub fn ended(execution: &Execution) -> Option<RunEnd> {
    let text = |v: &Option<String>, default: &str| v.clone().unwrap_or_else(|| default.to_owned());
    match execution.status {
        ExecutionStatus::Running => None,
        ExecutionStatus::Succeeded => {
            let output = execution.output.as_deref().unwrap_or("null");
            let value =
                serde_json::from_str(output).unwrap_or_else(|_| Value::String(output.into()));
            Some(RunEnd::Succeeded {
                output_summary: summarize(&value, SUMMARY_CHARS),
                output: (output.len() <= MAX_RECORDED_OUTPUT).then(|| output.to_owned()),
            })
        }
        ExecutionStatus::Failed => {
            let (error, cause) = failure(
                execution.error.as_deref(),
                execution.cause.as_deref(),
                false,
            );
            Some(RunEnd::Failed { error, cause })
        }
        ExecutionStatus::TimedOut => Some(RunEnd::Failed {
            error: text(&execution.error, "States.Timeout"),
            cause: text(&execution.cause, "the execution timed out"),
        }),
        ExecutionStatus::Aborted => Some(RunEnd::Cancelled),
    }
}

/// The run as it really is, without writing: a record that says `running` over an ended
/// execution shows the end (the status-change event that records it has not arrived, or was
/// lost).
pub fn effective(mut run: RunRecord, execution: Option<&Execution>) -> RunRecord {
    let Some(end) = execution.filter(|_| run.status.is_active()).and_then(ended) else {
        return run;
    };
    run.status = end.status();
    match end {
        RunEnd::Succeeded {
            output_summary,
            output,
        } => {
            run.output_summary = Some(output_summary);
            run.output = output;
        }
        RunEnd::Failed { error, cause } => {
            run.failure_error = Some(error);
            run.failure_cause = Some(cause);
        }
        RunEnd::Cancelled => {}
    }
    run
}

/// Records the end of a `running` run whose execution ended, and expires what its gates
/// still wait for. Returns the run as stored after.
pub async fn reconcile<B: Backend>(
    backend: &B,
    run: RunRecord,
    execution: Option<&Execution>,
) -> Result<RunRecord, ApiError> {
    let Some(end) = execution.filter(|_| run.status.is_active()).and_then(ended) else {
        return Ok(run);
    };
    match &end {
        RunEnd::Cancelled => {
            backend.cancel_run(&run.run_id).await?;
        }
        end => backend.end_run(&run.run_id, end).await?,
    }
    if run.status == RunStatus::Paused {
        // Its parked steps' waits ended with the execution.
        backend.end_waits(&run.run_id).await?;
    }
    expire_open_approvals(backend, &run.run_id).await?;
    tracing::info!(run_id = %run.run_id, tenant_id = %run.tenant_id, "run record reconciled with its ended execution");
    Ok(backend.run(&run.run_id).await?.unwrap_or(run))
}

/// An ended run waits for nobody: its pending approvals can no longer be decided, and a
/// decision recorded but never delivered (`deciding`) never will be.
pub async fn expire_open_approvals<B: Backend>(backend: &B, run_id: &str) -> Result<(), ApiError> {
    for approval in backend.approvals_of_run(run_id).await? {
        if approval.status.is_open() {
            backend
                .expire_approval(&approval.request_id, approval.status)
                .await?;
        }
    }
    Ok(())
}

/// Runs one sweep looks at; the rest wait for the next.
pub const SWEEP_LIMIT: u32 = 200;

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub checked: u32,
    pub reconciled: Vec<String>,
}

/// Reconciles every run recorded as running (up to [`SWEEP_LIMIT`], oldest first) whose
/// execution has ended. A race with the run-tracker is harmless: a run leaves `running`
/// once, and both write the same end.
pub async fn sweep<B: Backend>(backend: &B) -> Result<SweepReport, ApiError> {
    let mut report = SweepReport::default();
    for run in backend.running_runs(SWEEP_LIMIT).await? {
        report.checked += 1;
        let Some(arn) = run.execution_arn.clone() else {
            continue;
        };
        let execution = backend.execution(&arn).await?;
        let run_id = run.run_id.clone();
        let after = reconcile(backend, run, execution.as_ref()).await?;
        if !after.status.is_active() {
            report.reconciled.push(run_id);
        }
    }
    if !report.reconciled.is_empty() {
        tracing::info!(
            checked = report.checked,
            reconciled = report.reconciled.len(),
            "reconciler swept"
        );
    }
    Ok(report)
}

/// Whether a Lambda event is the schedule's tick (EventBridge), not an HTTP request.
pub fn is_scheduled(event: &Value) -> bool {
    event["source"] == "aws.events" && event["detail-type"] == "Scheduled Event"
}
