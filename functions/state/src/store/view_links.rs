//! The view links table: created once by the API, read by the hash of a token.

use super::{applied, decode, encode, State, StateError};
use crate::record::ViewLinkRecord;
use crate::schema::Table;

const TABLE: Table = Table::ViewLinks;

pub struct ViewLinks<'a> {
    pub(super) state: &'a State,
}

impl ViewLinks<'_> {
    /// Stores a new link; `Ok(false)` if one with the same hash exists (it never should).
    pub async fn create(&self, link: &ViewLinkRecord) -> Result<bool, StateError> {
        let result = self
            .state
            .client
            .put_item()
            .table_name(self.state.table(TABLE))
            .set_item(Some(encode(TABLE, link)?))
            .condition_expression("attribute_not_exists(token_hash)")
            .send()
            .await;
        applied(result, TABLE, "create a view link")
    }

    pub async fn get(&self, token_hash: &str) -> Result<Option<ViewLinkRecord>, StateError> {
        let item = self
            .state
            .get_item(TABLE, token_hash, "read a view link")
            .await?;
        item.map(|item| decode(TABLE, &item)).transpose()
    }
}
