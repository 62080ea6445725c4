//! The API keys table: created once, read by hash, listed and revoked by operators.

use super::{applied, decode, encode, lost_condition, n, now_ms, s, Item, State, StateError};
use crate::record::ApiKeyRecord;
use crate::schema::Table;

const TABLE: Table = Table::ApiKeys;

pub struct ApiKeys<'a> {
    pub(super) state: &'a State,
}

impl ApiKeys<'_> {
    fn name(&self) -> &str {
        self.state.table(TABLE)
    }

    /// Stores a new key; `Ok(false)` if one with the same hash exists (it never should).
    pub async fn create(&self, key: &ApiKeyRecord) -> Result<bool, StateError> {
        let result = self
            .state
            .client
            .put_item()
            .table_name(self.name())
            .set_item(Some(encode(TABLE, key)?))
            .condition_expression("attribute_not_exists(key_hash)")
            .send()
            .await;
        applied(result, TABLE, "create a key")
    }

    pub async fn get(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StateError> {
        let item = self.state.get_item(TABLE, key_hash, "read a key").await?;
        item.map(|item| decode(TABLE, &item)).transpose()
    }

    /// Every key. An operator's listing: it scans.
    pub async fn all(&self) -> Result<Vec<ApiKeyRecord>, StateError> {
        let mut items: Vec<Item> = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .state
                .client
                .scan()
                .table_name(self.name())
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StateError::dynamodb(TABLE, "list keys", e))?;
            items.extend(page.items().iter().cloned());
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        items.iter().map(|item| decode(TABLE, item)).collect()
    }

    /// Revokes a key; the first revocation's time stands. Returns the key as revoked, or
    /// `None` if there is no such key.
    pub async fn revoke(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StateError> {
        let result = self
            .state
            .client
            .update_item()
            .table_name(self.name())
            .key("key_hash", s(key_hash))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :now)")
            .condition_expression("attribute_exists(key_hash)")
            .expression_attribute_values(":now", n(now_ms()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => output
                .attributes()
                .map(|item| decode(TABLE, item))
                .transpose(),
            Err(e) if lost_condition(&e) => Ok(None),
            Err(e) => Err(StateError::dynamodb(TABLE, "revoke a key", e)),
        }
    }
}
