//! The steps table: one item per attempt, created once and finished once.

use super::listing::all_of;
use super::{decode, encode, lost_condition, n, now_ms, s, State, StateError};
use crate::record::{StepRecord, StepStatus, StepUsage};
use crate::schema::Table;

const TABLE: Table = Table::Steps;

pub struct Steps<'a> {
    pub(super) state: &'a State,
}

impl Steps<'_> {
    fn name(&self) -> &str {
        self.state.table(TABLE)
    }

    /// Records an attempt as running. `Ok(false)` if this attempt was already recorded (a
    /// duplicated invocation): it must then not be counted again.
    pub async fn start(&self, step: &StepRecord) -> Result<bool, StateError> {
        let result = self
            .state
            .client
            .put_item()
            .table_name(self.name())
            .set_item(Some(encode(TABLE, step)?))
            .condition_expression("attribute_not_exists(step_key)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if lost_condition(&e) => Ok(false),
            Err(e) => Err(StateError::dynamodb(TABLE, "record an attempt", e)),
        }
    }

    /// Finishes a running attempt with its usage and error (name, message), if any.
    /// `Ok(false)` if it was already finished: the caller then must not count it again.
    pub async fn finish(
        &self,
        run_id: &str,
        step_key: &str,
        usage: &StepUsage,
        error: Option<(&str, &str)>,
    ) -> Result<bool, StateError> {
        let mut request = self
            .state
            .client
            .update_item()
            .table_name(self.name())
            .key("run_id", s(run_id))
            .key("step_key", s(step_key))
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s(StepStatus::Running.as_str()))
            .expression_attribute_values(":now", n(now_ms()))
            .expression_attribute_values(":latency", n(usage.latency_ms))
            .expression_attribute_values(":tin", n(usage.tokens_in))
            .expression_attribute_values(":tout", n(usage.tokens_out))
            .expression_attribute_values(":cost", n(usage.cost_usd));
        let mut expression = String::from(
            "SET #status = :status, finished_at = :now, latency_ms = :latency, tokens_in = :tin, \
             tokens_out = :tout, cost_usd = :cost",
        );
        if let Some(model) = &usage.model {
            expression.push_str(", model = :model");
            request = request.expression_attribute_values(":model", s(model));
        }
        match error {
            Some((name, message)) => {
                expression.push_str(", error_name = :ename, error_message = :emessage");
                request = request
                    .expression_attribute_values(":status", s(StepStatus::Failed.as_str()))
                    .expression_attribute_values(":ename", s(name))
                    .expression_attribute_values(":emessage", s(message));
            }
            None => {
                request = request
                    .expression_attribute_values(":status", s(StepStatus::Succeeded.as_str()))
            }
        }
        match request.update_expression(expression).send().await {
            Ok(_) => Ok(true),
            Err(e) if lost_condition(&e) => {
                tracing::warn!(
                    run_id,
                    step_key,
                    "step attempt already finished; not counted again"
                );
                Ok(false)
            }
            Err(e) => Err(StateError::dynamodb(TABLE, "finish an attempt", e)),
        }
    }

    /// Finishes an attempt and, if this write is the one that finished it, adds its usage
    /// to the run's totals: a duplicated invocation is never counted twice.
    pub async fn finish_and_count(
        &self,
        run_id: &str,
        step: &str,
        step_key: &str,
        usage: &StepUsage,
        error: Option<(&str, &str)>,
    ) -> Result<(), StateError> {
        if self.finish(run_id, step_key, usage, error).await? {
            self.state.runs().add_attempt(run_id, step, usage).await?;
        }
        Ok(())
    }

    /// Every attempt of a run, in the order they started.
    pub async fn of_run(&self, run_id: &str) -> Result<Vec<StepRecord>, StateError> {
        let items = all_of(
            &self.state.client,
            TABLE,
            self.name(),
            None,
            "run_id",
            run_id,
            true,
        )
        .await?;
        let mut steps: Vec<StepRecord> = items
            .iter()
            .map(|item| decode(TABLE, item))
            .collect::<Result<_, _>>()?;
        steps.sort_by(|a, b| (a.started_at, &a.step_key).cmp(&(b.started_at, &b.step_key)));
        Ok(steps)
    }
}
