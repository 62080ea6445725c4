//! The run-tracker function: the state machine calls it when a run starts and when it
//! finishes either way, so the runs table follows every execution, including failures that
//! happen outside any agent (a gate timing out, a map refusing its items, an uncaught error).

use serde::Deserialize;
use serde_json::Value;
use switchyard_state::schema::TrackerPhase as Phase;
use switchyard_state::{RunEnd, RunRecord, State, StateError};

use crate::summarize;

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
    Store(#[from] StateError),
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
    state: &State,
    approvals: &crate::approval::ApprovalStore,
    payload: Value,
) -> Result<Value, TrackerError> {
    let event: TrackerEvent = serde_json::from_value(payload)?;
    let summary = summarize(&event.data, 1_000);
    match event.phase {
        Phase::Started => {
            let mut run = RunRecord::started(
                &event.run_id,
                &event.tenant_id,
                &event.workflow,
                switchyard_state::now_ms(),
            );
            run.execution_arn = Some(event.execution_arn.clone());
            run.input_summary = Some(summary);
            state.runs().start(&run).await?;
        }
        Phase::Succeeded => {
            let end = RunEnd::Succeeded {
                output_summary: summary,
            };
            state.runs().finish(&event.run_id, &end).await?;
        }
        Phase::ApprovalExpired => {
            let gate = event.gate.as_deref().unwrap_or_default();
            let expired = approvals.expire_gate(&event.run_id, gate).await?;
            tracing::info!(run_id = %event.run_id, step = gate, expired, "approval wait timed out");
        }
        Phase::Failed => {
            let end = RunEnd::Failed {
                error: event.meta["error"]["Error"]
                    .as_str()
                    .unwrap_or("States.Unknown")
                    .to_owned(),
                cause: event.meta["error"]["Cause"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            };
            state.runs().finish(&event.run_id, &end).await?;
        }
    }
    tracing::info!(run_id = %event.run_id, tenant_id = %event.tenant_id, workflow = %event.workflow, phase = ?event.phase, "run recorded");
    Ok(Value::Null)
}
