//! Query strings: which parameters an endpoint takes, pages and their cursors, filters.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use switchyard_state::{ApprovalStatus, RunStatus, UnknownStatus};

use crate::backend::{PageCursor, PageRequest, RunFilter};
use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
pub const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// The query string's parameters; each may appear once and must be one of `allowed`.
pub fn query(raw: &str, allowed: &[&str]) -> Result<BTreeMap<String, String>, ApiError> {
    let mut params = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        if !allowed.contains(&name.as_ref()) {
            let expected = if allowed.is_empty() {
                "this endpoint takes no query parameters".to_owned()
            } else {
                format!("unknown parameter; expected {}", allowed.join(", "))
            };
            return Err(ApiError::bad_field(name.as_ref(), expected));
        }
        if params.insert(name.to_string(), value.to_string()).is_some() {
            return Err(ApiError::bad_field(name.as_ref(), "given more than once"));
        }
    }
    Ok(params)
}

fn one_of(
    params: &BTreeMap<String, String>,
    field: &str,
    allowed: &[&str],
) -> Result<Option<String>, ApiError> {
    match params.get(field).map(|v| v.to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        Some(v) => Err(ApiError::bad_field(
            field,
            format!("`{v}` is not one of {}", allowed.join(", ")),
        )),
    }
}

/// A view link's lifetime in seconds: `ttl_seconds`, an hour when absent.
pub fn view_ttl(params: &BTreeMap<String, String>) -> Result<u64, ApiError> {
    use crate::view_link::{DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS};
    match params.get("ttl_seconds").filter(|v| !v.is_empty()) {
        None => Ok(DEFAULT_TTL_SECONDS),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(n))
            .ok_or_else(|| {
                ApiError::bad_field(
                    "ttl_seconds",
                    format!(
                        "expected a number of seconds from {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS}"
                    ),
                )
            }),
    }
}

pub fn page(params: &BTreeMap<String, String>) -> Result<PageRequest, ApiError> {
    let limit = match params.get("limit").filter(|v| !v.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_field("limit", format!("expected a number from 1 to {MAX_LIMIT}"))
            })?,
    };
    let after = match params.get("cursor").filter(|v| !v.is_empty()) {
        None => None,
        Some(cursor) => Some(decode_cursor(cursor)?),
    };
    Ok(PageRequest { limit, after })
}

/// Default and largest page of `/logs` lines and `/timeline` events.
pub const DEFAULT_EVENT_LIMIT: usize = 500;
pub const MAX_EVENT_LIMIT: usize = 1000;

/// A page of a run's log lines or timeline events: `limit` and `cursor` (the position to go
/// on from, as the previous answer's `next_cursor` gave it).
#[derive(Debug, PartialEq, Eq)]
pub struct EventPage {
    pub limit: usize,
    pub offset: usize,
}

pub fn event_page(params: &BTreeMap<String, String>) -> Result<EventPage, ApiError> {
    let number = |field: &str, default: usize, range: std::ops::RangeInclusive<usize>| match params
        .get(field)
        .filter(|v| !v.is_empty())
    {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ApiError::bad_field(
                    field,
                    format!(
                        "expected a number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    };
    Ok(EventPage {
        limit: number("limit", DEFAULT_EVENT_LIMIT, 1..=MAX_EVENT_LIMIT)?,
        offset: number("cursor", 0, 0..=1_000_000)?,
    })
}

impl EventPage {
    /// This page of `items`, and the cursor of the next one if there is more.
    pub fn cut<T>(&self, items: Vec<T>) -> (Vec<T>, Option<String>) {
        let total = items.len();
        let page: Vec<T> = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        let end = self.offset.saturating_add(page.len());
        (page, (end < total).then(|| end.to_string()))
    }
}

/// A status parameter, read as its kind's enum.
fn status<S: std::str::FromStr<Err = UnknownStatus>>(
    params: &BTreeMap<String, String>,
) -> Result<Option<S>, ApiError> {
    match params.get("status").map(|v| v.to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|e: UnknownStatus| ApiError::bad_field("status", e.to_string())),
    }
}

pub fn run_filter(params: &BTreeMap<String, String>) -> Result<RunFilter, ApiError> {
    Ok(RunFilter {
        status: status::<RunStatus>(params)?,
        workflow: params.get("workflow").filter(|w| !w.is_empty()).cloned(),
    })
}

pub fn approval_status(
    params: &BTreeMap<String, String>,
) -> Result<Option<ApprovalStatus>, ApiError> {
    status(params)
}

pub fn log_level(params: &BTreeMap<String, String>) -> Result<Option<String>, ApiError> {
    one_of(params, "level", &LOG_LEVELS)
}

/// Opaque to clients: base64url of the last item's id and creation time.
pub fn encode_cursor(cursor: &PageCursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode_cursor(text: &str) -> Result<PageCursor, ApiError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<PageCursor>(&bytes).ok())
        // The id becomes a DynamoDB start key: it must look like the ids we hand out.
        .filter(|cursor| crate::route::is_run_id(&cursor.id))
        .ok_or_else(|| {
            ApiError::bad_field(
                "cursor",
                "not a cursor this API returned (pass next_cursor as is)",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_and_timeline_pages_are_bounded() {
        let params = |q: &str| query(q, &["limit", "cursor"]).expect("known parameters");
        let page = event_page(&params("")).expect("defaults");
        assert_eq!(
            page,
            EventPage {
                limit: DEFAULT_EVENT_LIMIT,
                offset: 0
            }
        );
        let (items, next) = event_page(&params("limit=2"))
            .expect("valid")
            .cut((0..5).collect());
        assert_eq!((items, next.as_deref()), (vec![0, 1], Some("2")));
        let (items, next) = event_page(&params("limit=2&cursor=4"))
            .expect("valid")
            .cut((0..5).collect());
        assert_eq!((items, next), (vec![4], None));
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=x",
            "cursor=-1",
            "cursor=99999999",
        ] {
            let error = event_page(&params(bad)).expect_err("refused");
            assert_eq!(error.status(), 400, "{bad}");
        }
    }

    #[test]
    fn queries_are_checked() {
        let params = query(
            "status=running&limit=5&workflow=self-test",
            &["status", "limit", "workflow", "cursor"],
        )
        .expect("valid");
        assert_eq!(
            run_filter(&params).expect("valid").status,
            Some(RunStatus::Running)
        );
        assert_eq!(page(&params).expect("valid").limit, 5);
        assert_eq!(page(&BTreeMap::new()).expect("valid").limit, DEFAULT_LIMIT);
        let bad = |raw: &str| {
            let error = query(raw, &["status", "limit", "cursor", "level"])
                .and_then(|p| {
                    page(&p)?;
                    run_filter(&p)?;
                    log_level(&p)
                })
                .expect_err("refused");
            (error.status(), error.field().map(str::to_owned))
        };
        assert_eq!(bad("stauts=running"), (400, Some("stauts".into())));
        assert_eq!(bad("status=done"), (400, Some("status".into())));
        assert_eq!(bad("limit=0"), (400, Some("limit".into())));
        assert_eq!(bad("limit=101"), (400, Some("limit".into())));
        assert_eq!(bad("limit=ten"), (400, Some("limit".into())));
        assert_eq!(bad("limit=1&limit=2"), (400, Some("limit".into())));
        assert_eq!(bad("cursor=%%%"), (400, Some("cursor".into())));
        assert_eq!(bad("cursor=e30"), (400, Some("cursor".into())));
        assert_eq!(bad("level=loud"), (400, Some("level".into())));
    }

    #[test]
    fn cursors_round_trip() {
        let cursor = PageCursor {
            id: "run-1".into(),
            created_at: 1_700_000_000_000,
        };
        let params = BTreeMap::from([("cursor".to_owned(), encode_cursor(&cursor))]);
        assert_eq!(page(&params).expect("valid").after, Some(cursor));
    }
}
