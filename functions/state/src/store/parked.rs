//! The parked table: the steps of paused runs that wait at a boundary, each with the task
//! token that lets it go on. Whoever takes a token (deletes its item) is the one who sends
//! it back, so a resume racing a step that parks sends each token once.

use aws_sdk_dynamodb::types::ReturnValue;

use super::{decode, encode, s, State, StateError};
use crate::record::ParkedRecord;
use crate::schema::Table;

const TABLE: Table = Table::Parked;
const TOKEN: &str = "task_token";

pub struct Parked<'a> {
    pub(super) state: &'a State,
}

impl Parked<'_> {
    fn name(&self) -> &str {
        self.state.table(TABLE)
    }

    /// Records a parked step and its task token (a step parks once per boundary; parking
    /// the same step again replaces the record).
    pub async fn park(&self, parked: &ParkedRecord, task_token: &str) -> Result<(), StateError> {
        let mut item = encode(TABLE, parked)?;
        item.insert(TOKEN.to_owned(), s(task_token));
        self.state
            .client
            .put_item()
            .table_name(self.name())
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StateError::dynamodb(TABLE, "park a step", e))?;
        Ok(())
    }

    /// The run's parked steps, without their tokens (a listing never reads one), read
    /// consistently.
    pub async fn of_run(&self, run_id: &str) -> Result<Vec<ParkedRecord>, StateError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .state
                .client
                .query()
                .table_name(self.name())
                .key_condition_expression("run_id = :r")
                .expression_attribute_values(":r", s(run_id))
                .projection_expression("run_id, park_key, step, #item, tenant_id, parked_at")
                .expression_attribute_names("#item", "item")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StateError::dynamodb(TABLE, "list parked steps", e))?;
            for item in output.items() {
                records.push(decode(TABLE, item)?);
            }
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(records);
            }
        }
    }

    /// Takes one parked step's token: deletes its item and returns the token it held, or
    /// `None` if someone else took it first.
    pub async fn take(&self, run_id: &str, park_key: &str) -> Result<Option<String>, StateError> {
        let output = self
            .state
            .client
            .delete_item()
            .table_name(self.name())
            .key("run_id", s(run_id))
            .key("park_key", s(park_key))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| StateError::dynamodb(TABLE, "take a parked step", e))?;
        Ok(output
            .attributes()
            .and_then(|item| item.get(TOKEN))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    /// Takes every parked step of the run: what a resume sends on and a cancel fails.
    pub async fn take_all(&self, run_id: &str) -> Result<Vec<(ParkedRecord, String)>, StateError> {
        let mut taken = Vec::new();
        for parked in self.of_run(run_id).await? {
            if let Some(token) = self.take(run_id, &parked.park_key).await? {
                taken.push((parked, token));
            }
        }
        Ok(taken)
    }
}
