//! A tenant's items through a `by-tenant` index, newest first: bounded and resumable pages,
//! or bounded windows.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{s, Item, StateError};
use crate::record::{Page, PageCursor, PageRequest};
use crate::schema::{Index, Table};

/// DynamoDB pages one listing reads before answering with a cursor.
const MAX_LISTING_PAGES: usize = 10;
/// Items read per page when a filter applies (filters apply after the read).
const FILTERED_PAGE_SIZE: u32 = 100;

pub(super) struct Listing<'a> {
    pub table: Table,
    pub name: &'a str,
    pub index: Index,
    pub tenant: &'a str,
    /// Attribute = value conditions.
    pub filters: Vec<(&'static str, String)>,
}

fn cursor_of(table: Table, index: Index, item: &Item) -> Option<PageCursor> {
    let range = index.range?.name;
    Some(PageCursor {
        id: item.get(table.spec().hash.name)?.as_s().ok()?.clone(),
        created_at: item.get(range)?.as_n().ok()?.parse().ok()?,
    })
}

/// Reads at most [`MAX_LISTING_PAGES`] pages; the cursor resumes after the last item
/// returned (or read, when the budget ran out first).
pub(super) async fn newest_first(
    client: &aws_sdk_dynamodb::Client,
    listing: Listing<'_>,
    page: &PageRequest,
) -> Result<Page<Item>, StateError> {
    let index = listing.index;
    let hash = index.hash.name;
    let mut names = HashMap::from([("#h".to_owned(), hash.to_owned())]);
    let mut values = HashMap::from([(":h".to_owned(), s(listing.tenant))]);
    let mut conditions = Vec::new();
    for (i, (attribute, value)) in listing.filters.iter().enumerate() {
        names.insert(format!("#f{i}"), (*attribute).to_owned());
        values.insert(format!(":f{i}"), s(value.clone()));
        conditions.push(format!("#f{i} = :f{i}"));
    }
    let page_size = if conditions.is_empty() {
        page.limit
    } else {
        page.limit.max(FILTERED_PAGE_SIZE)
    };
    let mut start = match (&page.after, index.range) {
        (Some(cursor), Some(range)) => Some(HashMap::from([
            (
                listing.table.spec().hash.name.to_owned(),
                s(cursor.id.clone()),
            ),
            (hash.to_owned(), s(listing.tenant)),
            (
                range.name.to_owned(),
                AttributeValue::N(cursor.created_at.to_string()),
            ),
        ])),
        _ => None,
    };
    let mut items = Vec::new();
    for _ in 0..MAX_LISTING_PAGES {
        let output = client
            .query()
            .table_name(listing.name)
            .index_name(index.name)
            .key_condition_expression("#h = :h")
            .set_filter_expression((!conditions.is_empty()).then(|| conditions.join(" AND ")))
            .set_expression_attribute_names(Some(names.clone()))
            .set_expression_attribute_values(Some(values.clone()))
            .scan_index_forward(false)
            .limit(page_size as i32)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| StateError::dynamodb(listing.table, "list", e))?;
        let read = output.items();
        for (i, item) in read.iter().enumerate() {
            items.push(item.clone());
            if items.len() == page.limit as usize {
                let last_of_all = i + 1 == read.len() && output.last_evaluated_key().is_none();
                let next = if last_of_all {
                    None
                } else {
                    cursor_of(listing.table, index, item)
                };
                return Ok(Page { items, next });
            }
        }
        match output.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => return Ok(Page { items, next: None }),
        }
    }
    let next = start
        .as_ref()
        .and_then(|key| cursor_of(listing.table, index, key));
    Ok(Page { items, next })
}

/// Every item of a query on one key value (a run's steps or approvals), with only
/// `attributes` (all of them when empty).
#[allow(clippy::too_many_arguments)]
pub(super) async fn all_of(
    client: &aws_sdk_dynamodb::Client,
    table: Table,
    name: &str,
    index: Option<Index>,
    key: &'static str,
    value: &str,
    consistent: bool,
    attributes: &[&str],
) -> Result<Vec<Item>, StateError> {
    let (projection, mut names) = projection(attributes);
    names.insert("#k".to_owned(), key.to_owned());
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = client
            .query()
            .table_name(name)
            .set_index_name(index.map(|i| i.name.to_owned()))
            .key_condition_expression("#k = :k")
            .set_projection_expression(projection.clone())
            .set_expression_attribute_names(Some(names.clone()))
            .expression_attribute_values(":k", s(value))
            // Indexes are eventually consistent only.
            .set_consistent_read((consistent && index.is_none()).then_some(true))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StateError::dynamodb(table, "query", e))?;
        items.extend(output.items().iter().cloned());
        start = output.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// A projection expression naming `attributes` through placeholders (attributes may be
/// reserved words: `status` is), and the placeholders' names; none when `attributes` is
/// empty.
pub(super) fn projection(attributes: &[&str]) -> (Option<String>, HashMap<String, String>) {
    let mut names = HashMap::new();
    let mut projected = Vec::new();
    for (i, attribute) in attributes.iter().enumerate() {
        names.insert(format!("#p{i}"), (*attribute).to_owned());
        projected.push(format!("#p{i}"));
    }
    ((!projected.is_empty()).then(|| projected.join(", ")), names)
}

/// A tenant's items whose index range key is at least `since`, newest first, with only
/// `attributes`. At most `limit` items are read (the listing's filters apply after the read,
/// so they narrow what is returned, not what is read); `true` when there were more.
pub(super) async fn newest_since(
    client: &aws_sdk_dynamodb::Client,
    listing: Listing<'_>,
    since: u64,
    attributes: &[&str],
    limit: usize,
) -> Result<(Vec<Item>, bool), StateError> {
    let index = listing.index;
    let range = index.range.map(|r| r.name).unwrap_or("created_at");
    let mut names = HashMap::from([
        ("#h".to_owned(), index.hash.name.to_owned()),
        ("#r".to_owned(), range.to_owned()),
    ]);
    let mut values = HashMap::from([
        (":h".to_owned(), s(listing.tenant)),
        (":since".to_owned(), AttributeValue::N(since.to_string())),
    ]);
    let mut conditions = Vec::new();
    for (i, (attribute, value)) in listing.filters.iter().enumerate() {
        names.insert(format!("#f{i}"), (*attribute).to_owned());
        values.insert(format!(":f{i}"), s(value.clone()));
        conditions.push(format!("#f{i} = :f{i}"));
    }
    // Through placeholders: attributes may be reserved words (`status` is).
    let mut projected = Vec::new();
    for (i, attribute) in attributes.iter().enumerate() {
        names.insert(format!("#p{i}"), (*attribute).to_owned());
        projected.push(format!("#p{i}"));
    }
    let mut items = Vec::new();
    let mut read = 0;
    let mut start = None;
    loop {
        let output = client
            .query()
            .table_name(listing.name)
            .index_name(index.name)
            .key_condition_expression("#h = :h AND #r >= :since")
            .set_filter_expression((!conditions.is_empty()).then(|| conditions.join(" AND ")))
            .set_projection_expression((!projected.is_empty()).then(|| projected.join(", ")))
            .set_expression_attribute_names(Some(names.clone()))
            .set_expression_attribute_values(Some(values.clone()))
            .scan_index_forward(false)
            .limit((limit - read).clamp(1, 1000) as i32)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| StateError::dynamodb(listing.table, "list a window", e))?;
        read += output.scanned_count().max(0) as usize;
        items.extend(output.items().iter().cloned());
        start = output.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok((items, false));
        }
        if read >= limit {
            return Ok((items, true));
        }
    }
}
