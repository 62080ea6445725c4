//! Runs one registered agent for a Step Functions task.

use std::sync::Arc;

use lambda_runtime::Diagnostic;
use serde::Deserialize;
use serde_json::Value;
use switchyard_sdk::{AgentContext, AgentError, AgentRegistration, EmbeddedModel, RunContext};
use tracing::Instrument;

/// What the compiled state machine sends every agent task.
#[derive(Debug, Deserialize)]
pub struct TaskEvent {
    pub input: Value,
    pub context: RunContext,
}

/// An agent failure as Step Functions sees it: the error name is what `Retry` and `Catch`
/// match.
#[derive(Debug)]
pub struct TaskFailure {
    pub name: &'static str,
    pub message: String,
}

impl From<TaskFailure> for Diagnostic {
    fn from(failure: TaskFailure) -> Diagnostic {
        Diagnostic {
            error_type: failure.name.to_owned(),
            error_message: failure.message,
        }
    }
}

impl From<AgentError> for TaskFailure {
    fn from(error: AgentError) -> TaskFailure {
        TaskFailure {
            name: error.error_name(),
            message: error.to_string(),
        }
    }
}

pub struct AgentRuntime {
    registration: &'static AgentRegistration,
    model: Arc<dyn switchyard_sdk::Model>,
}

impl AgentRuntime {
    pub fn new(registration: &'static AgentRegistration) -> Self {
        AgentRuntime {
            registration,
            model: Arc::new(EmbeddedModel),
        }
    }

    pub async fn handle(&self, payload: Value) -> Result<Value, TaskFailure> {
        let event: TaskEvent = serde_json::from_value(payload).map_err(|e| TaskFailure {
            name: AgentError::INVALID_INPUT,
            message: format!("task event is not {{input, context}}: {e}"),
        })?;
        let span = tracing::info_span!(
            "agent",
            agent = self.registration.name,
            run_id = %event.context.run_id,
            step = %event.context.step,
            tenant_id = %event.context.tenant_id,
            attempt = event.context.attempt,
        );
        async move {
            let started = std::time::Instant::now();
            let ctx = AgentContext {
                run: event.context,
                model: self.model.clone(),
            };
            let result = (self.registration.invoke)(event.input, ctx).await;
            let latency_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(_) => tracing::info!(latency_ms, "agent succeeded"),
                Err(error) => tracing::warn!(latency_ms, error = %error, error_name = error.error_name(), "agent failed"),
            }
            result.map_err(TaskFailure::from)
        }
        .instrument(span)
        .await
    }
}
