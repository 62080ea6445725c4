//! Every read and write of the tables. The rules live here, once: records are created once
//! (conditional puts), a finished run is never rewritten, a step attempt is finished and
//! counted once, an approval moves `pending → deciding → approved | rejected` and is expired
//! only from an open status.

mod approvals;
mod graphs;
mod keys;
mod listing;
mod model_cache;
mod parked;
mod runs;
mod steps;
mod view_links;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use approvals::{Approvals, DecisionStart, StoredApproval};
pub use graphs::Graphs;
pub use keys::ApiKeys;
pub use model_cache::ModelCache;
pub use parked::Parked;
pub use runs::{RunFilter, Runs};
pub use steps::Steps;
pub use view_links::ViewLinks;

use crate::record::{ApiKeyRecord, RunRecord};
use crate::schema::Table;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// A table read or write that failed. The AWS error is kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{table} table: {operation}: {detail}")]
    Dynamodb {
        table: &'static str,
        operation: &'static str,
        detail: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{table} table: item `{key}` is not a valid record: {source}")]
    Corrupt {
        table: &'static str,
        key: String,
        #[source]
        source: serde_dynamo::Error,
    },
    #[error("{table} table: a record does not encode: {source}")]
    Encode {
        table: &'static str,
        #[source]
        source: serde_dynamo::Error,
    },
    #[error("{table} table: {operation}: DynamoDB left the read unprocessed, again and again")]
    Unprocessed {
        table: &'static str,
        operation: &'static str,
    },
    #[error("environment variable {0} is required: it names a table")]
    MissingVar(&'static str),
    #[error("the deployment names no `{0}` table")]
    MissingTable(&'static str),
}

impl StateError {
    fn dynamodb<E, R>(table: Table, operation: &'static str, error: SdkError<E, R>) -> StateError
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        StateError::Dynamodb {
            table: table.spec().suffix,
            operation,
            detail: aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string(),
            source: Box::new(error),
        }
    }
}

/// A conditional write's outcome: `Ok(true)` if it was applied, `Ok(false)` if its condition
/// did not hold, the error otherwise.
fn applied<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    table: Table,
    operation: &'static str,
) -> Result<bool, StateError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if lost_condition(&e) => Ok(false),
        Err(e) => Err(StateError::dynamodb(table, operation, e)),
    }
}

/// Whether a conditional write lost its condition.
fn lost_condition<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn encode<T: Serialize>(table: Table, record: &T) -> Result<Item, StateError> {
    serde_dynamo::to_item(record).map_err(|source| StateError::Encode {
        table: table.spec().suffix,
        source,
    })
}

fn decode<T: DeserializeOwned>(table: Table, item: &Item) -> Result<T, StateError> {
    serde_dynamo::from_item(item.clone()).map_err(|source| StateError::Corrupt {
        table: table.spec().suffix,
        key: item
            .get(table.spec().hash.name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        source,
    })
}

/// The deployment's table names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableNames(HashMap<Table, String>);

impl TableNames {
    /// From each table's environment variable, as every deployed function gets them.
    pub fn from_env() -> Result<TableNames, StateError> {
        Table::ALL
            .into_iter()
            .map(|table| {
                let var = table.spec().env_var;
                std::env::var(var)
                    .map(|name| (table, name))
                    .map_err(|_| StateError::MissingVar(var))
            })
            .collect::<Result<_, _>>()
            .map(TableNames)
    }

    /// Each table's name from `lookup` (a deployment file's `tables`, by [`Table::key`]).
    pub fn from_lookup(
        mut lookup: impl FnMut(Table) -> Option<String>,
    ) -> Result<TableNames, StateError> {
        Table::ALL
            .into_iter()
            .map(|table| {
                lookup(table)
                    .map(|name| (table, name))
                    .ok_or(StateError::MissingTable(table.key()))
            })
            .collect::<Result<_, _>>()
            .map(TableNames)
    }

    /// `prefix` + each table's suffix, as `infra/deploy` names them.
    pub fn with_prefix(prefix: &str) -> TableNames {
        TableNames(
            Table::ALL
                .into_iter()
                .map(|t| (t, t.name_with_prefix(prefix)))
                .collect(),
        )
    }

    pub fn get(&self, table: Table) -> &str {
        // Every constructor names every table.
        self.0.get(&table).map(String::as_str).unwrap_or_default()
    }
}

/// The tables of one deployment, through one client.
#[derive(Clone, Debug)]
pub struct State {
    client: aws_sdk_dynamodb::Client,
    names: TableNames,
}

impl State {
    pub fn new(client: aws_sdk_dynamodb::Client, names: TableNames) -> State {
        State { client, names }
    }

    /// With the table names from the environment, as every deployed function gets them.
    pub fn from_env(client: aws_sdk_dynamodb::Client) -> Result<State, StateError> {
        Ok(State::new(client, TableNames::from_env()?))
    }

    pub fn runs(&self) -> Runs<'_> {
        Runs { state: self }
    }

    pub fn steps(&self) -> Steps<'_> {
        Steps { state: self }
    }

    pub fn approvals(&self) -> Approvals<'_> {
        Approvals { state: self }
    }

    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys { state: self }
    }

    pub fn parked(&self) -> Parked<'_> {
        Parked { state: self }
    }

    pub fn graphs(&self) -> Graphs<'_> {
        Graphs { state: self }
    }

    pub fn view_links(&self) -> ViewLinks<'_> {
        ViewLinks { state: self }
    }

    pub fn model_cache(&self) -> ModelCache<'_> {
        ModelCache { state: self }
    }

    fn table(&self, table: Table) -> &str {
        self.names.get(table)
    }

    /// A run and an API key, read consistently in one round trip (`BatchGetItem`): what a
    /// status read needs before it knows whose run it is.
    pub async fn run_and_key(
        &self,
        run_id: &str,
        key_hash: &str,
    ) -> Result<(Option<RunRecord>, Option<ApiKeyRecord>), StateError> {
        let [run, key] = self
            .get_items(
                [(Table::Runs, run_id), (Table::ApiKeys, key_hash)],
                "read a run and a key",
            )
            .await?;
        let run = run.map(|item| decode(Table::Runs, &item)).transpose()?;
        let key = key.map(|item| decode(Table::ApiKeys, &item)).transpose()?;
        Ok((run, key))
    }

    /// One item from each of `N` different tables by its (hash-only) key, read consistently in
    /// one `BatchGetItem`; keys DynamoDB leaves unprocessed (it may, under load) are asked
    /// again, a few times, before the read fails.
    async fn get_items<const N: usize>(
        &self,
        keys: [(Table, &str); N],
        operation: &'static str,
    ) -> Result<[Option<Item>; N], StateError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        // The request and its answer are keyed by table: one key per table.
        debug_assert!(
            keys.iter()
                .enumerate()
                .all(|(i, (table, _))| keys[..i].iter().all(|(earlier, _)| earlier != table)),
            "one key per table"
        );
        let mut found: [Option<Item>; N] = std::array::from_fn(|_| None);
        let mut request: HashMap<String, KeysAndAttributes> = keys
            .iter()
            .map(|(table, key)| {
                let keys = KeysAndAttributes::builder()
                    .keys([(table.spec().hash.name.to_owned(), s(*key))].into())
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StateError::Dynamodb {
                        table: table.spec().suffix,
                        operation,
                        detail: e.to_string(),
                        source: Box::new(e),
                    })?;
                Ok((self.table(*table).to_owned(), keys))
            })
            .collect::<Result<_, StateError>>()?;
        for round in 0..4u32 {
            if round > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(10 << round)).await;
            }
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(|e| StateError::dynamodb(keys[0].0, operation, e))?;
            for (name, items) in output.responses.unwrap_or_default() {
                let Some(at) = keys
                    .iter()
                    .position(|(table, _)| self.table(*table) == name)
                else {
                    continue;
                };
                found[at] = items.into_iter().next();
            }
            request = output.unprocessed_keys.unwrap_or_default();
            if request.is_empty() {
                return Ok(found);
            }
        }
        Err(StateError::Unprocessed {
            table: keys[0].0.spec().suffix,
            operation,
        })
    }

    /// The item of `table` whose (hash-only) key is `key`, read consistently.
    async fn get_item(
        &self,
        table: Table,
        key: &str,
        operation: &'static str,
    ) -> Result<Option<Item>, StateError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table(table))
            .key(table.spec().hash.name, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StateError::dynamodb(table, operation, e))?;
        Ok(output.item)
    }
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::*;

    fn has_keys(table: Table, item: &Item) {
        let spec = table.spec();
        for key in [Some(spec.hash), spec.range].into_iter().flatten().chain(
            spec.indexes
                .iter()
                .flat_map(|i| [Some(i.hash), i.range].into_iter().flatten()),
        ) {
            let value = item.get(key.name);
            let typed = match key.kind {
                crate::schema::AttributeType::S => value.is_some_and(|v| v.is_s()),
                crate::schema::AttributeType::N => value.is_some_and(|v| v.is_n()),
            };
            assert!(
                typed,
                "{}: key `{}` missing or mistyped in {item:?}",
                spec.suffix, key.name
            );
        }
    }

    #[test]
    fn every_record_carries_its_tables_keys_with_their_types() {
        let run = RunRecord::started("r1", "t1", "wf", 5);
        let item = encode(Table::Runs, &run).expect("encodes");
        has_keys(Table::Runs, &item);
        assert_eq!(decode::<RunRecord>(Table::Runs, &item).ok(), Some(run));

        let step = StepRecord {
            run_id: "r1".into(),
            step_key: "a#01".into(),
            step: "a".into(),
            item: Some(3),
            round: Some(2),
            attempt: 1,
            agent: Some("a".into()),
            tenant_id: "t1".into(),
            workflow: Some("wf".into()),
            tenant_agent: Some(StepRecord::tenant_agent_key("t1", "a")),
            status: StepStatus::Running,
            started_at: 9,
            finished_at: None,
            latency_ms: None,
            tokens_in: 0,
            tokens_out: 0,
            cost_usd: 0.0,
            model: None,
            model_calls: 0,
            cache_hits: 0,
            tokens_saved: 0,
            cost_saved_usd: 0.0,
            error_name: None,
            error_message: None,
        };
        let item = encode(Table::Steps, &step).expect("encodes");
        has_keys(Table::Steps, &item);
        assert_eq!(decode::<StepRecord>(Table::Steps, &item).ok(), Some(step));

        let approval = ApprovalRecord {
            request_id: "q".into(),
            run_id: "r1".into(),
            tenant_id: "t1".into(),
            workflow: "wf".into(),
            gate: "g".into(),
            subject: "s".into(),
            summary: "{}".into(),
            summary_fields: vec![
                SummaryField {
                    label: "Total".into(),
                    value: Some("12.5".into()),
                },
                SummaryField {
                    label: "Note".into(),
                    value: None,
                },
            ],
            choices: vec![],
            approvers: vec!["cfo@example.com".into()],
            on_reject: None,
            status: ApprovalStatus::Pending,
            created_at: 1,
            expires_at: 2,
            links: Default::default(),
            decision: None,
            decided_by: None,
            approver_verified: None,
            decided_at: None,
            notes: None,
            auto_approved: false,
        };
        let item = encode(Table::Approvals, &approval).expect("encodes");
        has_keys(Table::Approvals, &item);
        assert_eq!(
            decode::<ApprovalRecord>(Table::Approvals, &item).ok(),
            Some(approval)
        );

        let key = ApiKeyRecord {
            key_hash: "ab".into(),
            tenant_id: "t1".into(),
            created_at: 1,
            expires_at: None,
            revoked_at: None,
        };
        let item = encode(Table::ApiKeys, &key).expect("encodes");
        has_keys(Table::ApiKeys, &item);

        let graph = GraphRecord {
            tenant_id: "t1".into(),
            workflow: "graph-0123".into(),
            created_at: 4,
            nodes: vec!["plan".into()],
            agents: vec!["tech_lead".into()],
            description: None,
            definition: Some("{}".into()),
        };
        let item = encode(Table::Graphs, &graph).expect("encodes");
        has_keys(Table::Graphs, &item);
        assert_eq!(
            decode::<GraphRecord>(Table::Graphs, &item).ok(),
            Some(graph)
        );

        let parked = ParkedRecord {
            run_id: "r1".into(),
            park_key: ParkedRecord::key_of("square_one", Some(3)),
            step: "square_one".into(),
            item: Some(3),
            tenant_id: "t1".into(),
            parked_at: 5,
        };
        let item = encode(Table::Parked, &parked).expect("encodes");
        has_keys(Table::Parked, &item);
        assert_eq!(
            decode::<ParkedRecord>(Table::Parked, &item).ok(),
            Some(parked)
        );

        let link = ViewLinkRecord {
            token_hash: "cd".into(),
            tenant_id: "t1".into(),
            run_id: "r1".into(),
            created_at: 1,
            expires_at: 2,
        };
        let item = encode(Table::ViewLinks, &link).expect("encodes");
        has_keys(Table::ViewLinks, &item);
        assert_eq!(
            decode::<ViewLinkRecord>(Table::ViewLinks, &item).ok(),
            Some(link)
        );

        let cached = ModelCacheRecord {
            cache_key: "ef".into(),
            tenant_id: "t1".into(),
            model: "embedded:deterministic-v1".into(),
            reply: "{}".into(),
            created_at: 1,
            expires_at: 2,
        };
        let item = encode(Table::ModelCache, &cached).expect("encodes");
        has_keys(Table::ModelCache, &item);
        // The Time to Live attribute is a number of epoch seconds.
        assert!(item.get("expires_at").is_some_and(|v| v.is_n()));
        assert_eq!(
            decode::<ModelCacheRecord>(Table::ModelCache, &item).ok(),
            Some(cached)
        );
    }

    #[test]
    fn step_records_are_read_by_every_field_and_without_their_trace() {
        // Every field set (and named, so a new field is added here): the attributes a step
        // record is read from are exactly those it writes.
        let step = StepRecord {
            run_id: "r1".into(),
            step_key: "a#r0004#00001#02".into(),
            step: "a".into(),
            item: Some(1),
            round: Some(4),
            attempt: 2,
            agent: Some("a".into()),
            tenant_id: "t1".into(),
            workflow: Some("wf".into()),
            tenant_agent: Some(StepRecord::tenant_agent_key("t1", "a")),
            status: StepStatus::Failed,
            started_at: 9,
            finished_at: Some(10),
            latency_ms: Some(1),
            tokens_in: 1,
            tokens_out: 1,
            cost_usd: 0.5,
            model: Some("m".into()),
            model_calls: 2,
            cache_hits: 1,
            tokens_saved: 3,
            cost_saved_usd: 0.25,
            error_name: Some("Agent.Permanent".into()),
            error_message: Some("no".into()),
        };
        let item = encode(Table::Steps, &step).expect("encodes");
        let mut written: Vec<&str> = item.keys().map(String::as_str).collect();
        written.sort_unstable();
        let mut read = StepRecord::ATTRIBUTES.to_vec();
        read.sort_unstable();
        assert_eq!(written, read);
        assert!(!read.contains(&crate::trace::StoredTrace::INLINE_ATTRIBUTE));
        assert!(!read.contains(&crate::trace::StoredTrace::OBJECT_ATTRIBUTE));

        // The trace endpoint's view of the same item, trace included.
        let mut item = item;
        item.insert(
            crate::trace::StoredTrace::INLINE_ATTRIBUTE.into(),
            s(r#"{"exchanges":[]}"#),
        );
        let traced: crate::trace::StepTraceRecord = decode(Table::Steps, &item).expect("decodes");
        assert_eq!(
            (
                traced.model_calls,
                traced.cache_hits,
                traced.trace.as_deref()
            ),
            (2, 1, Some(r#"{"exchanges":[]}"#))
        );
        // Old records, written before these fields, still read.
        for field in [
            "model_calls",
            "cache_hits",
            "tokens_saved",
            "cost_saved_usd",
        ] {
            item.remove(field);
        }
        let old: StepRecord = decode(Table::Steps, &item).expect("decodes");
        assert_eq!((old.model_calls, old.cost_saved_usd), (0, 0.0));
    }

    #[test]
    fn a_foreign_item_is_a_corrupt_record_naming_its_key() {
        let item = Item::from([("run_id".to_owned(), s("r9"))]);
        let error = decode::<RunRecord>(Table::Runs, &item)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("runs table: item `r9` is not a valid record"),
            "{error}"
        );
    }
}
