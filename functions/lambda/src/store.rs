//! Run state in DynamoDB: one item per run, one per step attempt.
//!
//! Writes are conditional so a retried or duplicated invocation never double-counts or
//! overwrites a finished record: a step attempt's key is run + step + map item + attempt, it
//! is created once, finished once, and only the write that finishes it adds to the run's
//! totals. A run leaves `running` once; a cancelled run stays cancelled.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use switchyard_sdk::RunContext;

use crate::{required_var, ConfigError};

#[derive(Debug, thiserror::Error)]
#[error("run state store: {0}")]
pub struct StoreError(String);

fn store_error<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    StoreError(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

/// Whether a conditional write lost its condition (the record was already there or done).
fn lost_condition<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// How a run ended, as the run-tracker reports it.
pub enum RunOutcome<'a> {
    Succeeded { output_summary: &'a str },
    Failed { error: &'a str, cause: &'a str },
}

/// What one step attempt cost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepUsage {
    pub latency_ms: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    pub model: Option<String>,
}

pub struct RunStore {
    dynamodb: aws_sdk_dynamodb::Client,
    runs: String,
    steps: String,
}

impl RunStore {
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<RunStore, ConfigError> {
        Ok(RunStore {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            runs: required_var("RUNS_TABLE")?,
            steps: required_var("STEPS_TABLE")?,
        })
    }

    /// Marks the run running (first call creates it). Refused if it already finished.
    pub async fn run_started(
        &self,
        run: &RunContext,
        execution_arn: &str,
        input_summary: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let result = self
            .dynamodb
            .update_item()
            .table_name(&self.runs)
            .key("run_id", s(&run.run_id))
            .update_expression(
                "SET #status = :running, tenant_id = :tenant, workflow = :workflow, \
                 execution_arn = :arn, input_summary = :input, updated_at = :now, \
                 created_at = if_not_exists(created_at, :now)",
            )
            .condition_expression("attribute_not_exists(#status) OR #status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":tenant", s(&run.tenant_id))
            .expression_attribute_values(":workflow", s(&run.workflow))
            .expression_attribute_values(":arn", s(execution_arn))
            .expression_attribute_values(":input", s(input_summary))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if lost_condition(&e) => {
                tracing::warn!(run_id = %run.run_id, "run already finished; start not recorded");
                Ok(())
            }
            Err(e) => Err(store_error(e)),
        }
    }

    /// Moves a running run to succeeded or failed; a run cancelled meanwhile stays cancelled.
    pub async fn run_finished(
        &self,
        run_id: &str,
        outcome: RunOutcome<'_>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let request = self
            .dynamodb
            .update_item()
            .table_name(&self.runs)
            .key("run_id", s(run_id))
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":now", n(now));
        let request = match outcome {
            RunOutcome::Succeeded { output_summary } => request
                .update_expression(
                    "SET #status = :done, finished_at = :now, updated_at = :now, output_summary = :output",
                )
                .expression_attribute_values(":done", s("succeeded"))
                .expression_attribute_values(":output", s(output_summary)),
            RunOutcome::Failed { error, cause } => request
                .update_expression(
                    "SET #status = :done, finished_at = :now, updated_at = :now, \
                     failure_error = :error, failure_cause = :cause",
                )
                .expression_attribute_values(":done", s("failed"))
                .expression_attribute_values(":error", s(error))
                .expression_attribute_values(":cause", s(cause)),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if lost_condition(&e) => {
                tracing::warn!(run_id, "run is no longer running; outcome not recorded");
                Ok(())
            }
            Err(e) => Err(store_error(e)),
        }
    }

    fn step_key(run: &RunContext) -> String {
        match run.item {
            Some(item) => format!("{}#{item:05}#{:02}", run.step, run.attempt),
            None => format!("{}#{:02}", run.step, run.attempt),
        }
    }

    /// Records the attempt as running. `false` if this attempt was already recorded (a
    /// duplicated invocation): it then must not be counted again.
    pub async fn step_started(&self, run: &RunContext, agent: &str) -> Result<bool, StoreError> {
        let mut item = HashMap::from([
            ("run_id".to_owned(), s(&run.run_id)),
            ("step_key".to_owned(), s(Self::step_key(run))),
            ("step".to_owned(), s(&run.step)),
            ("attempt".to_owned(), n(run.attempt)),
            ("agent".to_owned(), s(agent)),
            ("tenant_id".to_owned(), s(&run.tenant_id)),
            ("status".to_owned(), s("running")),
            ("started_at".to_owned(), n(now_ms())),
        ]);
        if let Some(index) = run.item {
            item.insert("item".to_owned(), n(index));
        }
        let result = self
            .dynamodb
            .put_item()
            .table_name(&self.steps)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(step_key)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if lost_condition(&e) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Finishes the attempt (once) and adds its usage to the run's totals.
    pub async fn step_finished(
        &self,
        run: &RunContext,
        usage: &StepUsage,
        error: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut request = self
            .dynamodb
            .update_item()
            .table_name(&self.steps)
            .key("run_id", s(&run.run_id))
            .key("step_key", s(Self::step_key(run)))
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":latency", n(usage.latency_ms))
            .expression_attribute_values(":tin", n(usage.tokens_in))
            .expression_attribute_values(":tout", n(usage.tokens_out))
            .expression_attribute_values(":cost", n(usage.cost_usd))
            .expression_attribute_values(":model", s(usage.model.as_deref().unwrap_or("none")));
        let mut expression = String::from(
            "SET #status = :status, finished_at = :now, latency_ms = :latency, tokens_in = :tin, \
             tokens_out = :tout, cost_usd = :cost, model = :model",
        );
        match error {
            Some((name, message)) => {
                expression.push_str(", error_name = :ename, error_message = :emessage");
                request = request
                    .expression_attribute_values(":status", s("failed"))
                    .expression_attribute_values(":ename", s(name))
                    .expression_attribute_values(":emessage", s(message));
            }
            None => request = request.expression_attribute_values(":status", s("succeeded")),
        }
        match request.update_expression(expression).send().await {
            Ok(_) => {}
            Err(e) if lost_condition(&e) => {
                tracing::warn!(run_id = %run.run_id, step = %run.step, "step attempt already finished; not counted again");
                return Ok(());
            }
            Err(e) => return Err(store_error(e)),
        }
        let totals = self
            .dynamodb
            .update_item()
            .table_name(&self.runs)
            .key("run_id", s(&run.run_id))
            .update_expression(
                "ADD tokens_in :tin, tokens_out :tout, cost_usd :cost, step_attempts :one \
                 SET current_step = :step, updated_at = :now",
            )
            .condition_expression("attribute_exists(run_id)")
            .expression_attribute_values(":tin", n(usage.tokens_in))
            .expression_attribute_values(":tout", n(usage.tokens_out))
            .expression_attribute_values(":cost", n(usage.cost_usd))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":step", s(&run.step))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match totals {
            Ok(_) => Ok(()),
            Err(e) if lost_condition(&e) => {
                tracing::warn!(run_id = %run.run_id, "no run record (started outside a Switchyard state machine?)");
                Ok(())
            }
            Err(e) => Err(store_error(e)),
        }
    }
}

/// A short, readable form of a JSON value for records and logs.
pub fn summarize(value: &serde_json::Value, limit: usize) -> String {
    let text = value.to_string();
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
