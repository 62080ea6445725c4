//! The one component that corrects run records from their executions. A record can miss a
//! run's end when the execution ended outside the state machine (stopped from the console,
//! timed out as a whole) or the run-tracker failed to record it. Reads never write: they
//! show [`effective`] status. [`reconcile`] writes: a cancel runs it first, and [`sweep`]
//! runs it over every run recorded as running, on a schedule: an EventBridge rule in the
//! template ticks the deployed API function every five minutes.

use serde_json::Value;
use switchyard_lambda::summarize;

use crate::backend::{Backend, Execution, ExecutionStatus, RunEnd, RunRecord, RunStatus};
use crate::error::ApiError;

/// How much of a run's output its record keeps (as the run-tracker does).
const SUMMARY_CHARS: usize = 1_000;

/// How an execution ended, as a run record would say it.
pub enum Ended {
    Finished(RunEnd),
    Aborted,
}

/// `None` while the execution runs.
pub fn ended(execution: &Execution) -> Option<Ended> {
    let output_summary = || {
        let output = execution.output.as_deref().unwrap_or("null");
        let value = serde_json::from_str(output).unwrap_or_else(|_| Value::String(output.into()));
        summarize(&value, SUMMARY_CHARS)
    };
    let text = |v: &Option<String>, default: &str| v.clone().unwrap_or_else(|| default.to_owned());
    match execution.status {
        ExecutionStatus::Running => None,
        ExecutionStatus::Succeeded => Some(Ended::Finished(RunEnd::Succeeded {
            output_summary: output_summary(),
        })),
        ExecutionStatus::Failed => Some(Ended::Finished(RunEnd::Failed {
            error: text(&execution.error, "States.Unknown"),
            cause: text(&execution.cause, ""),
        })),
        ExecutionStatus::TimedOut => Some(Ended::Finished(RunEnd::Failed {
            error: text(&execution.error, "States.Timeout"),
            cause: text(&execution.cause, "the execution timed out"),
        })),
        ExecutionStatus::Aborted => Some(Ended::Aborted),
    }
}

/// The run as it really is, without writing: a record that says `running` over an ended
/// execution shows the end; a record that says finished while the execution still runs (the
/// tracker records the end a moment before the execution ends) shows `running`, so the
/// output arrives with the final status.
pub fn effective(mut run: RunRecord, execution: Option<&Execution>) -> RunRecord {
    let Some(execution) = execution else {
        return run;
    };
    if run.status == RunStatus::Cancelled {
        return run;
    }
    if execution.status == ExecutionStatus::Running {
        if run.status.is_finished() {
            run.status = RunStatus::Running;
            run.finished_at = None;
        }
        return run;
    }
    if run.status == RunStatus::Running {
        match ended(execution) {
            Some(Ended::Finished(RunEnd::Succeeded { output_summary })) => {
                run.status = RunStatus::Succeeded;
                run.output_summary = Some(output_summary);
            }
            Some(Ended::Finished(RunEnd::Failed { error, cause })) => {
                run.status = RunStatus::Failed;
                run.failure_error = Some(error);
                run.failure_cause = Some(cause);
            }
            Some(Ended::Aborted) => run.status = RunStatus::Cancelled,
            None => {}
        }
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
    let Some(end) = execution
        .filter(|_| run.status == RunStatus::Running)
        .and_then(ended)
    else {
        return Ok(run);
    };
    match &end {
        Ended::Finished(end) => backend.end_run(&run.run_id, end).await?,
        Ended::Aborted => {
            backend.cancel_run(&run.run_id).await?;
        }
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
/// execution has ended. No race with the run-tracker: it records a run's end in a task
/// before the execution ends, so an ended execution under a `running` record is one the
/// tracker will never record.
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
        if after.status != RunStatus::Running {
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
