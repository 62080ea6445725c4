//! The run-tracker function: the state machine calls it when a run starts and when it
//! finishes either way, so the runs table follows every execution, including failures that
//! happen outside any agent (a gate timing out, a map refusing its items, an uncaught error).

use serde::Deserialize;
use serde_json::Value;
use switchyard_sdk::RunContext;

use crate::store::{summarize, RunOutcome, RunStore, StoreError};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Started,
    Succeeded,
    Failed,
    /// A gate's wait timed out: its pending requests can no longer be decided.
    ApprovalExpired,
}

#[derive(Debug, Deserialize)]
pub struct TrackerEvent {
    pub phase: Phase,
    pub run_id: String,
    pub execution_arn: String,
    pub tenant_id: String,
    pub workflow: String,
    #[serde(default)]
    pub data: Value,
    #[serde(default)]
    pub meta: Value,
    /// The gate, for `approval_expired`.
    #[serde(default)]
    pub gate: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error("tracker event is malformed: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Approvals(#[from] crate::approval::DecisionError),
}

impl From<TrackerError> for lambda_runtime::Diagnostic {
    fn from(error: TrackerError) -> Self {
        let error_type = match error {
            TrackerError::Malformed(_) => "Tracker.Malformed",
            TrackerError::Store(_) | TrackerError::Approvals(_) => "Tracker.Unavailable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

pub async fn handle(
    store: &RunStore,
    approvals: &crate::approval::ApprovalStore,
    payload: Value,
) -> Result<Value, TrackerError> {
    let event: TrackerEvent = serde_json::from_value(payload)?;
    let summary = summarize(&event.data, 1_000);
    match event.phase {
        Phase::Started => {
            let run = RunContext {
                run_id: event.run_id.clone(),
                tenant_id: event.tenant_id.clone(),
                workflow: event.workflow.clone(),
                ..RunContext::default()
            };
            store
                .run_started(&run, &event.execution_arn, &summary)
                .await?;
        }
        Phase::Succeeded => {
            store
                .run_finished(
                    &event.run_id,
                    RunOutcome::Succeeded {
                        output_summary: &summary,
                    },
                )
                .await?
        }
        Phase::ApprovalExpired => {
            let gate = event.gate.as_deref().unwrap_or_default();
            let expired = approvals.expire_gate(&event.run_id, gate).await?;
            tracing::info!(run_id = %event.run_id, step = gate, expired, "approval wait timed out");
        }
        Phase::Failed => {
            let error = event.meta["error"]["Error"]
                .as_str()
                .unwrap_or("States.Unknown");
            let cause = event.meta["error"]["Cause"].as_str().unwrap_or_default();
            store
                .run_finished(&event.run_id, RunOutcome::Failed { error, cause })
                .await?
        }
    }
    tracing::info!(run_id = %event.run_id, tenant_id = %event.tenant_id, workflow = %event.workflow, phase = ?event.phase, "run recorded");
    Ok(Value::Null)
}
