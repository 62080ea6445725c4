//! The model-cache table: replies kept for a tenant by the opt-in response cache. A put
//! replaces what the key held (the same request answered again); a read serves only a fresh
//! reply of the asking tenant (the Time to Live deletes late).

use super::{decode, encode, State, StateError};
use crate::record::ModelCacheRecord;
use crate::schema::Table;

const TABLE: Table = Table::ModelCache;

pub struct ModelCache<'a> {
    pub(super) state: &'a State,
}

impl ModelCache<'_> {
    /// The tenant's reply under `cache_key`, if it is still fresh at `now_s` (epoch seconds).
    /// An eventually consistent read: a reply stored a moment ago may be missed once.
    pub async fn get(
        &self,
        cache_key: &str,
        tenant: &str,
        now_s: u64,
    ) -> Result<Option<ModelCacheRecord>, StateError> {
        let output = self
            .state
            .client
            .get_item()
            .table_name(self.state.table(TABLE))
            .key(TABLE.spec().hash.name, super::s(cache_key))
            .send()
            .await
            .map_err(|e| StateError::dynamodb(TABLE, "read a cached reply", e))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let record: ModelCacheRecord = decode(TABLE, &item)?;
        Ok((record.tenant_id == tenant && record.fresh(now_s)).then_some(record))
    }

    /// Keeps a reply until its `expires_at`.
    pub async fn put(&self, record: &ModelCacheRecord) -> Result<(), StateError> {
        self.state
            .client
            .put_item()
            .table_name(self.state.table(TABLE))
            .set_item(Some(encode(TABLE, record)?))
            .send()
            .await
            .map_err(|e| StateError::dynamodb(TABLE, "cache a reply", e))?;
        Ok(())
    }
}
