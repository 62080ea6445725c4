//! The steps table: one item per attempt, started once and finished once. An attempt's end
//! is one write of the whole record (with its conversation trace, if any), so it does not
//! wait for its start's write. Step records are read without the trace; the trace endpoint
//! reads it ([`Steps::traces_of`]).

use super::listing::{all_of, projection};
use super::{applied, decode, encode, lost_condition, s, State, StateError};
use crate::record::{StepRecord, StepStatus};
use crate::schema::{Table, STEPS_BY_AGENT};
use crate::trace::{StepTraceRecord, StoredTrace};

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
        applied(result, TABLE, "record an attempt")
    }

    /// Records a finished attempt (`step` with its end, usage and error, and its
    /// conversation trace) in one write, whether or not its start landed yet. `Ok(false)` if
    /// it was already finished (a duplicated invocation): the first end stands.
    pub async fn finish(
        &self,
        step: &StepRecord,
        trace: Option<&StoredTrace>,
    ) -> Result<bool, StateError> {
        let mut item = encode(TABLE, step)?;
        match trace {
            Some(StoredTrace::Inline(text)) => {
                item.insert(StoredTrace::INLINE_ATTRIBUTE.to_owned(), s(text.clone()));
            }
            Some(StoredTrace::Object(object)) => {
                let value = serde_dynamo::to_attribute_value(object).map_err(|source| {
                    StateError::Encode {
                        table: TABLE.spec().suffix,
                        source,
                    }
                })?;
                item.insert(StoredTrace::OBJECT_ATTRIBUTE.to_owned(), value);
            }
            None => {}
        }
        let result = self
            .state
            .client
            .put_item()
            .table_name(self.name())
            .set_item(Some(item))
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
            StepRecord::ATTRIBUTES,
        )
        .await?;
        let mut steps: Vec<StepRecord> = items
            .iter()
            .map(|item| decode(TABLE, item))
            .collect::<Result<_, _>>()?;
        steps.sort_by(|a, b| (a.started_at, &a.step_key).cmp(&(b.started_at, &b.step_key)));
        Ok(steps)
    }

    /// A tenant's attempts of `agent` that started at or after `since_ms`, newest first, at
    /// most `limit` of them (`Ok((attempts, true))` when there were more).
    pub async fn of_agent(
        &self,
        tenant: &str,
        agent: &str,
        since_ms: u64,
        limit: usize,
    ) -> Result<(Vec<StepRecord>, bool), StateError> {
        let index = STEPS_BY_AGENT;
        let range = index.range.map(|r| r.name).unwrap_or("started_at");
        let (projected, mut names) = projection(StepRecord::ATTRIBUTES);
        names.insert("#h".to_owned(), index.hash.name.to_owned());
        names.insert("#r".to_owned(), range.to_owned());
        let mut steps = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .state
                .client
                .query()
                .table_name(self.name())
                .index_name(index.name)
                .key_condition_expression("#h = :h AND #r >= :since")
                .set_projection_expression(projected.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .expression_attribute_values(":h", s(StepRecord::tenant_agent_key(tenant, agent)))
                .expression_attribute_values(
                    ":since",
                    aws_sdk_dynamodb::types::AttributeValue::N(since_ms.to_string()),
                )
                .scan_index_forward(false)
                .limit((limit - steps.len()).clamp(1, 1000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StateError::dynamodb(TABLE, "query an agent's attempts", e))?;
            for item in output.items() {
                steps.push(decode(TABLE, item)?);
            }
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok((steps, false));
            }
            if steps.len() >= limit {
                return Ok((steps, true));
            }
        }
    }

    /// Every attempt of `step` in the run (each map item's), with its trace as stored, in
    /// the order of their keys (item, then attempt).
    pub async fn traces_of(
        &self,
        run_id: &str,
        step: &str,
    ) -> Result<Vec<StepTraceRecord>, StateError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .state
                .client
                .query()
                .table_name(self.name())
                .key_condition_expression("#h = :h AND begins_with(#r, :step)")
                .expression_attribute_names("#h", TABLE.spec().hash.name)
                .expression_attribute_names("#r", "step_key")
                .expression_attribute_values(":h", s(run_id))
                // Step names hold no `#`: `a#` never matches step `ab`'s attempts.
                .expression_attribute_values(":step", s(format!("{step}#")))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StateError::dynamodb(TABLE, "read a step's traces", e))?;
            for item in output.items() {
                let record: StepTraceRecord = decode(TABLE, item)?;
                if record.step == step {
                    records.push(record);
                }
            }
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(records);
            }
        }
    }
}
