//! The steps table: one item per attempt, started once and finished once. An attempt's end
//! is one write of the whole record, so it does not wait for its start's write.

use super::listing::all_of;
use super::{decode, encode, lost_condition, s, State, StateError};
use crate::record::{StepRecord, StepStatus};
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

    /// Records a finished attempt (`step` with its end, usage and error) in one write,
    /// whether or not its start landed yet. `Ok(false)` if it was already finished (a
    /// duplicated invocation): the first end stands.
    pub async fn finish(&self, step: &StepRecord) -> Result<bool, StateError> {
        let result = self
            .state
            .client
            .put_item()
            .table_name(self.name())
            .set_item(Some(encode(TABLE, step)?))
            .condition_expression("attribute_not_exists(step_key) OR #status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", s(StepStatus::Running.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if lost_condition(&e) => {
                tracing::warn!(
                    run_id = %step.run_id,
                    step_key = %step.step_key,
                    "step attempt already finished; its first end stands"
                );
                Ok(false)
            }
            Err(e) => Err(StateError::dynamodb(TABLE, "finish an attempt", e)),
        }
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
