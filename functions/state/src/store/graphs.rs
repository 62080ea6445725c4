//! The graphs table: one item per graph a tenant ran, created once. It bounds how many
//! distinct graphs (and so state machines) one tenant can create.

use aws_sdk_dynamodb::types::Select;

use super::{applied, decode, encode, s, State, StateError};
use crate::record::GraphRecord;
use crate::schema::Table;

const TABLE: Table = Table::Graphs;

pub struct Graphs<'a> {
    pub(super) state: &'a State,
}

impl Graphs<'_> {
    fn name(&self) -> &str {
        self.state.table(TABLE)
    }

    /// The tenant's record of `workflow`, if it ran that graph before.
    pub async fn get(
        &self,
        tenant: &str,
        workflow: &str,
    ) -> Result<Option<GraphRecord>, StateError> {
        let output = self
            .state
            .client
            .get_item()
            .table_name(self.name())
            .key("tenant_id", s(tenant))
            .key("workflow", s(workflow))
            .send()
            .await
            .map_err(|e| StateError::dynamodb(TABLE, "read a graph", e))?;
        output.item().map(|item| decode(TABLE, item)).transpose()
    }

    /// How many graphs the tenant has, counting no further than `up_to`.
    pub async fn count(&self, tenant: &str, up_to: usize) -> Result<usize, StateError> {
        let mut counted = 0usize;
        let mut start = None;
        loop {
            let output = self
                .state
                .client
                .query()
                .table_name(self.name())
                .key_condition_expression("tenant_id = :t")
                .expression_attribute_values(":t", s(tenant))
                .select(Select::Count)
                .limit(up_to.clamp(1, 1000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StateError::dynamodb(TABLE, "count graphs", e))?;
            counted += output.count().max(0) as usize;
            start = output.last_evaluated_key().cloned();
            if start.is_none() || counted >= up_to {
                return Ok(counted);
            }
        }
    }

    /// Records a graph; `Ok(false)` if the tenant had it already.
    pub async fn create(&self, graph: &GraphRecord) -> Result<bool, StateError> {
        let result = self
            .state
            .client
            .put_item()
            .table_name(self.name())
            .set_item(Some(encode(TABLE, graph)?))
            .condition_expression("attribute_not_exists(workflow)")
            .send()
            .await;
        applied(result, TABLE, "record a graph")
    }
}
