//! Reading what clients send: the API key, JSON bodies, query strings and cursors. Pure, so
//! every rule is unit-tested; each refusal names the field it is about.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use switchyard_lambda::approval::{Approver, DecisionRequest};
use switchyard_sdk::WorkflowRegistration;

use switchyard_state::{ApprovalStatus, RunStatus, UnknownStatus};

use crate::backend::{PageCursor, PageRequest, RunFilter};
use crate::error::ApiError;
use crate::http::ApiRequest;

/// Step Functions refuses execution inputs over 256 KiB.
pub const MAX_EXECUTION_INPUT: usize = 256 * 1024;
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// The workflow the campaign seed's `{brand_id, selected_month, tenant_id}` body starts.
pub const CAMPAIGN_WORKFLOW: &str = "campaign-creation";
const CAMPAIGN_FIELDS: [&str; 2] = ["brand_id", "selected_month"];
/// Keys are a few dozen characters; anything much longer is not one.
const MAX_KEY_LEN: usize = 256;

pub const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// The API key from `Authorization: Bearer <key>` or `x-api-key: <key>`.
pub fn api_key(request: &ApiRequest) -> Result<&str, ApiError> {
    let key = match request.header("authorization") {
        Some(value) => {
            let (scheme, key) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(ApiError::Unauthorized(
                    "the Authorization header must be `Bearer <API key>`",
                ));
            }
            key.trim()
        }
        None => request.header("x-api-key").map(str::trim).unwrap_or(""),
    };
    if key.is_empty() {
        return Err(ApiError::Unauthorized(
            "an API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>`",
        ));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(ApiError::Unauthorized("unknown API key"));
    }
    Ok(key)
}

/// The body as a JSON object.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson(
            "the body is empty; expected a JSON object".to_owned(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(ApiError::MalformedJson(format!(
            "expected a JSON object, got {}",
            json_kind(&other)
        ))),
        Err(e) => Err(ApiError::MalformedJson(e.to_string())),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn optional_string(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::bad_field(
            field,
            format!("expected a string, got {}", json_kind(other)),
        )),
    }
}

fn required_string(body: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    optional_string(body, field)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_field(field, "required"))
}

/// A validated `POST /runs/start`.
#[derive(Debug)]
pub struct StartRun {
    pub workflow: &'static str,
    pub input: Value,
    /// Passed into the execution input; `false` makes gates wait even where the deployment
    /// auto-approves in development.
    pub auto_approve: Option<bool>,
}

impl StartRun {
    /// The execution input every state machine expects.
    pub fn execution_input(&self, tenant: &str) -> Value {
        let mut input = serde_json::json!({ "input": self.input, "tenant_id": tenant });
        if let Some(auto) = self.auto_approve {
            input["auto_approve"] = Value::Bool(auto);
        }
        input
    }
}

/// `{workflow, input, tenant_id?, auto_approve?}`, or the campaign seed's
/// `{brand_id, selected_month, tenant_id?, auto_approve?}`.
pub fn start_run(
    body: &[u8],
    tenant: &str,
    workflows: &[&'static WorkflowRegistration],
) -> Result<StartRun, ApiError> {
    let mut body = json_object(body)?;
    if let Some(claimed) = optional_string(&body, "tenant_id")? {
        if claimed != tenant {
            return Err(ApiError::TenantMismatch);
        }
    }
    let auto_approve = match body.get("auto_approve") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            return Err(ApiError::bad_field(
                "auto_approve",
                format!("expected a boolean, got {}", json_kind(other)),
            ))
        }
    };
    let seed_form =
        !body.contains_key("workflow") && CAMPAIGN_FIELDS.iter().any(|f| body.contains_key(*f));
    let (name, input, prefix) = if seed_form {
        body.remove("tenant_id");
        body.remove("auto_approve");
        (CAMPAIGN_WORKFLOW.to_owned(), Value::Object(body), None)
    } else {
        let name = optional_string(&body, "workflow")?.ok_or_else(|| {
            ApiError::bad_field(
                "workflow",
                "required: the workflow to start (or send the campaign form {brand_id, selected_month})",
            )
        })?;
        if let Some(unknown) = body.keys().find(|k| {
            !matches!(
                k.as_str(),
                "workflow" | "input" | "tenant_id" | "auto_approve"
            )
        }) {
            return Err(ApiError::bad_field(
                unknown.as_str(),
                "unknown field; expected workflow, input, tenant_id, auto_approve",
            ));
        }
        let input = body
            .remove("input")
            .ok_or_else(|| ApiError::bad_field("input", "required: the run input"))?;
        (name, input, Some("input"))
    };
    // The runtime's offload marker is its own to write: refused anywhere in a client's input.
    if switchyard_lambda::payload::contains_reference(&input) {
        return Err(ApiError::bad_field(
            body_path(prefix, "input"),
            format!(
                "`{}` is reserved for the platform's payload references",
                switchyard_lambda::payload::REFERENCE_KEY
            ),
        ));
    }
    let registration =
        workflows
            .iter()
            .find(|w| w.name == name)
            .ok_or_else(|| ApiError::UnknownWorkflow {
                name: name.clone(),
                known: workflows.iter().map(|w| w.name.to_owned()).collect(),
            })?;
    (registration.check_input)(input.clone()).map_err(|e| ApiError::InvalidInput {
        field: body_path(prefix, &e.field),
        message: e.message,
    })?;
    let start = StartRun {
        workflow: registration.name,
        input,
        auto_approve,
    };
    if start.execution_input(tenant).to_string().len() > MAX_EXECUTION_INPUT {
        return Err(ApiError::TooLarge {
            field: "input",
            limit: MAX_EXECUTION_INPUT,
        });
    }
    Ok(start)
}

/// Where in the request body a field of the run input is: `check_input` names it relative
/// to the input (`input` meaning the whole).
fn body_path(prefix: Option<&str>, field: &str) -> String {
    match (prefix, field) {
        (Some(prefix), "input") => prefix.to_owned(),
        (Some(prefix), f) if f.starts_with('[') => format!("{prefix}{f}"),
        (Some(prefix), f) => format!("{prefix}.{f}"),
        (None, "input") => "body".to_owned(),
        (None, f) => f.to_owned(),
    }
}

/// A validated `POST /approvals/submit`, decided as `identity` (the API key's): who decides
/// is never a body field.
pub fn decision(body: &[u8], identity: String) -> Result<DecisionRequest, ApiError> {
    let body = json_object(body)?;
    if body.contains_key("approver") {
        return Err(ApiError::bad_field(
            "approver",
            "not accepted: decisions are recorded as the API key's identity",
        ));
    }
    if let Some(unknown) = body
        .keys()
        .find(|k| !matches!(k.as_str(), "request_id" | "decision" | "notes"))
    {
        return Err(ApiError::bad_field(
            unknown.as_str(),
            "unknown field; expected request_id, decision, notes",
        ));
    }
    Ok(DecisionRequest {
        request_id: required_string(&body, "request_id")?,
        decision: required_string(&body, "decision")?,
        approver: Approver::Verified(identity),
        notes: optional_string(&body, "notes")?,
    })
}

/// The identity an API key decides as: its tenant and a prefix of its hash (which key, never
/// the key).
pub fn key_identity(tenant: &str, key_hash: &str) -> String {
    format!(
        "api-key:{tenant}/{}",
        key_hash.get(..12).unwrap_or(key_hash)
    )
}

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
    use serde_json::json;

    fn workflows() -> Vec<&'static WorkflowRegistration> {
        switchyard_agents::link();
        switchyard_sdk::workflows()
    }

    fn start(body: Value) -> Result<StartRun, ApiError> {
        start_run(body.to_string().as_bytes(), "tenant-a", &workflows())
    }

    fn refusal(body: Value) -> (u16, String, Option<String>) {
        let error = start(body).expect_err("refused");
        (
            error.status(),
            error.code().to_owned(),
            error.field().map(str::to_owned),
        )
    }

    #[test]
    fn api_keys_come_from_bearer_or_x_api_key() {
        let bearer = ApiRequest::new("GET", "/runs").with_header("Authorization", "Bearer sy_abc");
        assert_eq!(api_key(&bearer).ok(), Some("sy_abc"));
        let lower = ApiRequest::new("GET", "/runs").with_header("authorization", "bearer  sy_abc ");
        assert_eq!(api_key(&lower).ok(), Some("sy_abc"));
        let header = ApiRequest::new("GET", "/runs").with_header("X-Api-Key", "sy_def");
        assert_eq!(api_key(&header).ok(), Some("sy_def"));
        for request in [
            ApiRequest::new("GET", "/runs"),
            ApiRequest::new("GET", "/runs").with_header("authorization", "Basic dXNlcjpwdw=="),
            ApiRequest::new("GET", "/runs").with_header("authorization", "Bearer "),
            ApiRequest::new("GET", "/runs").with_header("x-api-key", "  "),
            ApiRequest::new("GET", "/runs").with_header("x-api-key", &"k".repeat(300)),
        ] {
            assert_eq!(
                api_key(&request).map_err(|e| e.status()),
                Err(401),
                "{request:?}"
            );
        }
    }

    #[test]
    fn a_start_names_workflow_and_input() {
        let run = start(json!({
            "workflow": "self-test",
            "input": { "fail_times": 0, "numbers": [1] },
            "auto_approve": false,
        }))
        .expect("valid");
        assert_eq!(run.workflow, "self-test");
        assert_eq!(
            run.execution_input("tenant-a"),
            json!({ "input": { "fail_times": 0, "numbers": [1] }, "tenant_id": "tenant-a", "auto_approve": false })
        );
        let without =
            start(json!({ "workflow": "gate-test", "input": { "topic": "t" } })).expect("valid");
        assert!(without.execution_input("t").get("auto_approve").is_none());
    }

    #[test]
    fn the_campaign_seed_form_starts_campaign_creation() {
        let run = start(
            json!({ "brand_id": "acme", "selected_month": "2024-11", "tenant_id": "tenant-a" }),
        )
        .expect("valid");
        assert_eq!(run.workflow, CAMPAIGN_WORKFLOW);
        assert_eq!(
            run.input,
            json!({ "brand_id": "acme", "selected_month": "2024-11" })
        );
        let (status, code, field) = refusal(json!({ "brand_id": "acme" }));
        assert_eq!(
            (status, code.as_str(), field.as_deref()),
            (400, "invalid_input", Some("selected_month"))
        );
    }

    #[test]
    fn bad_inputs_name_the_field_in_the_body() {
        let (status, code, field) = refusal(json!({
            "workflow": "campaign-creation",
            "input": { "brand_id": "acme", "selected_month": 11 },
        }));
        assert_eq!((status, code.as_str()), (400, "invalid_input"));
        assert_eq!(field.as_deref(), Some("input.selected_month"));
        let (_, _, field) =
            refusal(json!({ "workflow": "campaign-creation", "input": { "brand_id": "acme" } }));
        assert_eq!(field.as_deref(), Some("input.selected_month"));
        let (_, _, field) = refusal(json!({ "workflow": "campaign-creation", "input": "text" }));
        assert_eq!(field.as_deref(), Some("input"));
    }

    #[test]
    fn payload_references_in_a_clients_input_are_refused() {
        let forged =
            json!({ "bucket": "switchyard-payloads", "key": "runs/other/x.json", "bytes": 1 });
        for body in [
            json!({ "workflow": "gate-test", "input": { "topic": "t", "$payload": forged } }),
            json!({ "workflow": "self-test", "input": { "$payload": forged } }),
            json!({ "brand_id": "acme", "selected_month": "2024-11", "$payload": forged }),
            json!({ "workflow": "gate-test", "input": { "topic": "t", "deep": [{ "$payload": forged }] } }),
        ] {
            let (status, code, field) = refusal(body.clone());
            assert_eq!((status, code.as_str()), (400, "bad_request"), "{body}");
            assert!(field.is_some_and(|f| f == "input" || f == "body"), "{body}");
        }
    }

    #[test]
    fn start_refusals() {
        let cases = [
            (json!({ "input": {} }), 400, "bad_request", "workflow"),
            (
                json!({ "workflow": "self-test" }),
                400,
                "bad_request",
                "input",
            ),
            (
                json!({ "workflow": 3, "input": {} }),
                400,
                "bad_request",
                "workflow",
            ),
            (
                json!({ "workflow": "nope", "input": {} }),
                400,
                "unknown_workflow",
                "workflow",
            ),
            (
                json!({ "workflow": "self-test", "inputs": {} }),
                400,
                "bad_request",
                "inputs",
            ),
            (
                json!({ "workflow": "gate-test", "input": {"topic": "t"}, "auto_approve": "yes" }),
                400,
                "bad_request",
                "auto_approve",
            ),
            (
                json!({ "workflow": "gate-test", "input": {"topic": "t"}, "tenant_id": "tenant-b" }),
                403,
                "forbidden",
                "tenant_id",
            ),
            (
                json!({ "brand_id": "acme", "selected_month": "2024-11", "tenant_id": "tenant-b" }),
                403,
                "forbidden",
                "tenant_id",
            ),
            (
                json!({ "workflow": "gate-test", "input": { "topic": "x".repeat(MAX_EXECUTION_INPUT) } }),
                413,
                "payload_too_large",
                "input",
            ),
        ];
        for (body, status, code, field) in cases {
            let error = start(body.clone()).expect_err("refused");
            assert_eq!(
                (error.status(), error.code(), error.field()),
                (status, code, Some(field)),
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_bodies_are_400_naming_the_problem() {
        for body in ["", "  ", "{", "[1]", "\"text\"", "{\"a\":}", "\u{0}"] {
            let error = start_run(body.as_bytes(), "t", &workflows()).expect_err("refused");
            assert_eq!(
                (error.status(), error.code(), error.field()),
                (400, "malformed_json", Some("body")),
                "{body:?}"
            );
        }
        let error = start_run(&[0xff, 0xfe], "t", &workflows()).expect_err("refused");
        assert_eq!(error.status(), 400);
        let error = json_object(b"{\"a\": 1,}").expect_err("trailing comma");
        assert!(error.to_string().contains("line 1"), "{error}");
    }

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
    fn decisions_need_request_id_and_decision() {
        let ok = decision(
            br#"{"request_id": "r", "decision": "approve", "notes": "ok"}"#,
            "api-key:t/abc".into(),
        )
        .expect("valid");
        assert_eq!(
            (ok.request_id.as_str(), ok.decision.as_str()),
            ("r", "approve")
        );
        assert_eq!(ok.approver, Approver::Verified("api-key:t/abc".into()));
        for (body, field) in [
            (r#"{"decision": "approve"}"#, "request_id"),
            (r#"{"request_id": "r"}"#, "decision"),
            (r#"{"request_id": "r", "decision": ""}"#, "decision"),
            (
                r#"{"request_id": "r", "decision": "approve", "notes": 5}"#,
                "notes",
            ),
            (
                r#"{"request_id": "r", "decision": "approve", "why": "x"}"#,
                "why",
            ),
            // Who decides is the key's identity, never what the body claims.
            (
                r#"{"request_id": "r", "decision": "approve", "approver": "cfo@acme.test"}"#,
                "approver",
            ),
        ] {
            let error = decision(body.as_bytes(), "api-key:t/abc".into()).expect_err("refused");
            assert_eq!(
                (error.status(), error.field()),
                (400, Some(field)),
                "{body}"
            );
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
