//! The approval callback behind a Function URL.
//!
//! `GET /approvals/{id}?decision=..&expires=..&sig=..` shows what is being decided and a form;
//! it never changes anything, so mail scanners that prefetch links are harmless. The form
//! posts back to the same URL with `notes` (and, on a gate without designated approvers, an
//! optional typed `approver`, recorded as unverified); only that POST decides. A designated
//! approver's link names them inside its signature: that is who is recorded. A body that
//! does not parse is refused (400) and decides nothing.
//! Answers are HTML, rendered by `maud` (which escapes every value it is given), or JSON
//! `{error, message, field?}` when the client asks for JSON.

use std::collections::HashMap;

use aws_lambda_events::http::header::ACCEPT;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::error_answer;
use super::links::{LinkSigner, SignedDecision};
use super::secret;
use super::{
    now_secs, ApprovalRecord, ApprovalStatus, ApprovalStore, Approver, Decision, DecisionError,
    DecisionRequest, SummaryField,
};
use crate::function_url::{self, UrlRequest, UrlResponse};
use crate::ConfigError;

/// The pages' policy: inline styles only, forms post to this origin, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the pages say when a backing service failed (the details go to the logs).
const UNAVAILABLE_MESSAGE: &str = "Approvals are unavailable right now; try again in a minute.";

pub struct Callback {
    store: ApprovalStore,
    signer: LinkSigner,
}

/// What the callback answers: status and body, HTML or JSON.
pub struct Answer {
    pub status: u16,
    pub json: bool,
    pub body: String,
}

impl Answer {
    pub fn into_response(self) -> UrlResponse {
        let content_type = if self.json {
            "application/json"
        } else {
            "text/html; charset=utf-8"
        };
        let headers = function_url::header_map([
            ("content-type", content_type),
            // Decision pages must not be cached or framed by anyone.
            ("cache-control", "no-store"),
            ("x-frame-options", "DENY"),
            // No scripts, no outside resources, forms only back here; the signed link
            // in the URL never leaks through a Referer.
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("referrer-policy", "no-referrer"),
            ("x-content-type-options", "nosniff"),
        ]);
        function_url::response(self.status, headers, self.body)
    }
}

impl Callback {
    /// At cold start: the approvals table from the environment, the link secret(s) from SSM
    /// Parameter Store (see [`super::secret`]).
    pub async fn from_env(config: &aws_config::SdkConfig) -> Result<Callback, ConfigError> {
        // The links this function checks were made with its own URL; any base works for
        // verifying, which covers only id, decision, approver and expiry.
        let signer = secret::load_signer(config, "/").await?;
        Ok(Callback {
            store: ApprovalStore::from_env(config)?,
            signer,
        })
    }

    pub async fn handle(&self, event: Value) -> Result<UrlResponse, std::convert::Infallible> {
        let answer = match serde_json::from_value::<UrlRequest>(event) {
            Ok(request) => self.answer(request).await,
            Err(e) => Answer {
                status: 400,
                json: true,
                body: json!({ "error": "bad_request", "message": e.to_string() }).to_string(),
            },
        };
        Ok(answer.into_response())
    }

    async fn answer(&self, request: UrlRequest) -> Answer {
        let wants_json = function_url::header_contains(&request, ACCEPT, "application/json");
        let method = function_url::method(&request);
        let raw_path = request.raw_path.as_deref().unwrap_or_default();
        let raw_query = request.raw_query_string.as_deref().unwrap_or_default();
        let Some(request_id) = raw_path
            .strip_prefix("/approvals/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
        else {
            return failure(&DecisionError::NotFound(raw_path.to_owned()), wants_json);
        };
        let query: HashMap<String, String> = form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();
        let signed = match signed_decision(request_id, &query) {
            Ok(signed) => signed,
            Err(e) => return failure(&e, wants_json),
        };
        if !self.signer.verify(&signed) {
            return failure(&DecisionError::BadSignature, wants_json);
        }
        if now_secs() > signed.expires {
            return failure(&DecisionError::LinkExpired, wants_json);
        }
        match method.as_str() {
            "GET" | "HEAD" => match self.store.get(request_id).await {
                Ok(record) => confirmation_page(&record, &signed, raw_query, wants_json),
                Err(e) => failure(&e, wants_json),
            },
            "POST" => {
                let form = match form_fields(&request) {
                    Ok(form) => form,
                    Err(e) => return failure(&e, wants_json),
                };
                let approver = match &signed.approver {
                    Some(designated) => Approver::Verified(designated.clone()),
                    None => Approver::typed(form.approver),
                };
                let decision = DecisionRequest {
                    request_id: request_id.to_owned(),
                    decision: Decision::from(signed.decision.as_str()),
                    approver,
                    notes: form.notes,
                };
                match self.store.decide(&decision, None).await {
                    Ok(record) => decided_page(&record, wants_json),
                    Err(e) => failure(&e, wants_json),
                }
            }
            _ => Answer {
                status: 405,
                json: wants_json,
                body: json!({ "error": "method_not_allowed", "message": "GET shows the decision, POST makes it" }).to_string(),
            },
        }
    }
}

fn signed_decision(
    request_id: &str,
    query: &HashMap<String, String>,
) -> Result<SignedDecision, DecisionError> {
    let field = |name: &'static str| {
        query.get(name).cloned().ok_or(DecisionError::BadRequest {
            field: name,
            message: "missing from the link".to_owned(),
        })
    };
    let expires = field("expires")?
        .parse()
        .map_err(|_| DecisionError::BadRequest {
            field: "expires",
            message: "not a timestamp".to_owned(),
        })?;
    Ok(SignedDecision {
        request_id: request_id.to_owned(),
        decision: field("decision")?,
        approver: query.get("approver").cloned(),
        expires,
        key_id: query.get("kid").cloned(),
        signature: field("sig")?,
    })
}

/// What the confirmation form posts.
#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormFields {
    #[serde(default)]
    pub approver: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// The posted form (urlencoded, or JSON when the content type says so). Anything that does
/// not parse, repeats a field or sends one the form does not have is refused.
pub fn form_fields(request: &UrlRequest) -> Result<FormFields, DecisionError> {
    let malformed = |message: String| DecisionError::BadRequest {
        field: "body",
        message,
    };
    let bytes =
        function_url::body(request).map_err(|_| malformed("not valid base64".to_owned()))?;
    if function_url::is_json(request) {
        // An object only: serde would also read a struct from a list.
        return match serde_json::from_slice::<Value>(&bytes) {
            Ok(object @ Value::Object(_)) => serde_json::from_value::<FormFields>(object)
                .map_err(|e| malformed(format!("not the form's fields: {e}"))),
            Ok(_) => Err(malformed("expected a JSON object".to_owned())),
            Err(e) => Err(malformed(format!("not JSON: {e}"))),
        };
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed("not UTF-8".to_owned()))?;
    let mut fields = FormFields::default();
    for (name, value) in form_urlencoded::parse(text.as_bytes()) {
        let slot = match name.as_ref() {
            "approver" => &mut fields.approver,
            "notes" => &mut fields.notes,
            other => {
                return Err(malformed(format!(
                    "unknown field `{}`; the form has approver and notes",
                    other.chars().take(64).collect::<String>()
                )))
            }
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(malformed(format!("`{name}` given more than once")));
        }
    }
    Ok(fields)
}

fn failure(error: &DecisionError, json: bool) -> Answer {
    let message = match error {
        DecisionError::Store(_) | DecisionError::Resume { .. } => {
            tracing::error!(error = %error, "approval callback: a backing service failed");
            UNAVAILABLE_MESSAGE.to_owned()
        }
        other => other.to_string(),
    };
    let answer = error_answer(error);
    let body = if json {
        let mut body = json!({ "error": answer.code, "message": message });
        if let Some(field) = answer.field {
            body["field"] = json!(field);
        }
        if let DecisionError::AlreadyDecided { status, by, at } = error {
            body["status"] = json!(status);
            body["decided_by"] = json!(by);
            body["decided_at"] = json!(at);
        }
        body.to_string()
    } else {
        page(
            "Not decided",
            html! {
                p { (message) }
                @if let DecisionError::AlreadyDecided { by, at, .. } = error {
                    p { "Decided by " b { (by) } " at " (at) "." }
                }
            },
        )
    };
    Answer {
        status: answer.status,
        json,
        body,
    }
}

fn confirmation_page(
    record: &ApprovalRecord,
    signed: &SignedDecision,
    query: &str,
    json: bool,
) -> Answer {
    // A request nobody waits for any more (its run ended, its gate timed out) is gone.
    let status = if record.status == ApprovalStatus::Expired {
        410
    } else {
        200
    };
    if json {
        return Answer {
            status,
            json,
            body: json!({
                "request_id": record.request_id,
                "status": record.status,
                "subject": record.subject,
                "summary": record.summary,
                "summary_fields": record.summary_fields,
                "run_id": record.run_id,
                "workflow": record.workflow,
                "gate": record.gate,
                "decision": signed.decision,
                "expires_at": record.expires_at,
            })
            .to_string(),
        };
    }
    let body = html! {
        p {
            "Run " code { (record.run_id) } " (" (record.workflow) ") waits at "
            b { (record.gate) } "."
        }
        p { "You are about to decide: " b { (signed.decision) } }
        @if record.summary_fields.is_empty() {
            (summary(&record.summary))
        } @else {
            (summary_fields(&record.summary_fields))
            details open {
                summary { "Everything the gate was sent" }
                (summary(&record.summary))
            }
        }
        @if record.status == ApprovalStatus::Pending {
            form method="post" action={ "/approvals/" (record.request_id) "?" (query) } {
                // A designated approver's link already says who they are.
                @if let Some(approver) = &signed.approver {
                    p { "Deciding as " b { (approver) } "." }
                } @else {
                    label { "Your name or email (recorded as unverified) " input name="approver"; }
                }
                label { "Notes " textarea name="notes" rows="3" {} }
                button type="submit" { "Confirm: " (signed.decision) }
            }
        } @else {
            p { "This request is already " b { (record.status.as_str()) } "." }
        }
    };
    Answer {
        status,
        json,
        body: page(&record.subject, body),
    }
}

/// The gate's summary. JSON reads as a definition list of its fields, lists as lists; text
/// that is not JSON (a summary cut short, say) is shown as it is. Long text wraps. The Run
/// API's run pages show outputs and pending gates with it too.
pub fn summary(text: &str) -> Markup {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ (Value::Object(_) | Value::Array(_))) => {
            html! { div.summary { (json_value(&value)) } }
        }
        _ => html! { pre { (text) } },
    }
}

/// The gate's declared summary, first on the page: each label beside its value, nested
/// values read like the full subject, an absent value as a dash.
fn summary_fields(fields: &[SummaryField]) -> Markup {
    html! {
        dl.fields {
            @for field in fields {
                dt { (field.label) }
                dd {
                    @match field.value.as_deref().map(serde_json::from_str::<Value>) {
                        None => { span.absent title="no value" { "—" } }
                        Some(Ok(value)) => { (json_value(&value)) }
                        // Stored values are JSON; anything else is shown as it is.
                        Some(Err(_)) => { (field.value.as_deref().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// A JSON value as HTML: objects as definition lists, arrays as lists, strings as text.
pub fn json_value(value: &Value) -> Markup {
    html! {
        @match value {
            Value::Object(fields) => {
                dl { @for (name, field) in fields { dt { (name) } dd { (json_value(field)) } } }
            }
            Value::Array(items) => {
                @if let Some(columns) = columns(items) {
                    table {
                        tr { @for column in &columns { th { (column) } } }
                        @for item in items {
                            tr { @for column in &columns { td { (json_value(&item[column.as_str()])) } } }
                        }
                    }
                } @else {
                    ul { @for item in items { li { (json_value(item)) } } }
                }
            }
            Value::String(text) => { (text) }
            other => { code { (other.to_string()) } }
        }
    }
}

/// The columns of a list that reads as a table: objects with the same keys, holding plain
/// values (a calendar, line items).
fn columns(items: &[Value]) -> Option<Vec<String>> {
    let first = items.first()?.as_object()?;
    let plain = |fields: &serde_json::Map<String, Value>| {
        fields.values().all(|v| !v.is_object() && !v.is_array())
    };
    let same = items.iter().all(|item| {
        item.as_object().is_some_and(|fields| {
            plain(fields)
                && fields.len() == first.len()
                && first.keys().all(|k| fields.contains_key(k))
        })
    });
    (same && !first.is_empty()).then(|| first.keys().cloned().collect())
}

fn decided_page(record: &ApprovalRecord, json: bool) -> Answer {
    let decision = record
        .decision
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let by = record.decided_by.clone().unwrap_or_default();
    Answer {
        status: 200,
        json,
        body: if json {
            json!({
                "request_id": record.request_id,
                "status": record.status,
                "decision": decision,
                "decided_by": by,
                "approver_verified": record.approver_verified.unwrap_or(false),
                "run_id": record.run_id,
            })
            .to_string()
        } else {
            page(
                "Decision recorded",
                html! {
                    p { b { (decision) } " recorded for run " code { (record.run_id) } " by " (by) "." }
                },
            )
        },
    }
}

/// Inline only: the policy allows no outside resources.
const STYLE: &str = "body{font-family:system-ui;max-width:48rem;margin:2rem auto;padding:0 1rem}\
    label{display:block;margin:.5rem 0}input,textarea{width:100%;box-sizing:border-box}\
    pre{white-space:pre-wrap;background:#f4f4f5;padding:.5rem}\
    .summary{background:#f4f4f5;padding:.5rem}.summary>dl,.summary>ul{margin:0}dt{font-weight:600}\
    dd{margin:0 0 .5rem 1rem}ul{margin:0;padding-left:1.25rem}\
    pre,dd,li{white-space:pre-wrap;overflow-wrap:anywhere}\
    dl.fields{display:grid;grid-template-columns:minmax(6rem,max-content) 1fr;gap:.5rem 1.25rem;\
    margin:1rem 0;padding:.75rem 1rem;border:1px solid #d4d4d8;border-radius:.375rem}\
    dl.fields>dt{color:#52525b}dl.fields>dd{margin:0}.absent{color:#a1a1aa}\
    details{margin:1rem 0}details>summary{cursor:pointer;font-weight:600;margin-bottom:.5rem}\
    table{border-collapse:collapse}th{text-align:left;font-weight:600}\
    th,td{padding:.2rem .75rem .2rem 0;border-bottom:1px solid #e4e4e7;vertical-align:top;\
    overflow-wrap:break-word}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}";

fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                meta name="robots" content="noindex";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                (body)
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;

    fn post(content_type: &str, body: &str, base64: bool) -> UrlRequest {
        serde_json::from_value(json!({
            "rawPath": "/approvals/r1",
            "headers": { "content-type": content_type },
            "body": body,
            "isBase64Encoded": base64,
            "requestContext": { "http": { "method": "POST" }, "timeEpoch": 0 },
        }))
        .expect("a Function URL request")
    }

    #[test]
    fn well_formed_bodies_give_their_fields() {
        let form = form_fields(&post(
            "application/x-www-form-urlencoded",
            "approver=ada&notes=ok+then",
            false,
        ))
        .expect("parses");
        assert_eq!(form.approver.as_deref(), Some("ada"));
        assert_eq!(form.notes.as_deref(), Some("ok then"));
        let json =
            form_fields(&post("application/json", r#"{"notes":"n"}"#, false)).expect("parses");
        assert_eq!(json.notes.as_deref(), Some("n"));
        assert_eq!(
            form_fields(&post("application/x-www-form-urlencoded", "", false)).ok(),
            Some(FormFields::default())
        );
    }

    #[test]
    fn malformed_bodies_are_refused_not_read_as_empty() {
        let cases = [
            post("application/json", "{not json", false),
            post("application/json", r#"{"approver": 7}"#, false),
            post("application/json", r#"["ada"]"#, false),
            post(
                "application/json",
                r#"{"approver":"a","role":"cfo"}"#,
                false,
            ),
            post(
                "application/x-www-form-urlencoded",
                "approver=a&approver=b",
                false,
            ),
            post("application/x-www-form-urlencoded", "garbage", false),
            post("application/x-www-form-urlencoded", "%%%", true),
            post(
                "application/x-www-form-urlencoded",
                &STANDARD.encode([b'a', b'=', 0xff, 0xfe]),
                true,
            ),
        ];
        for request in &cases {
            let error = form_fields(request).expect_err("refused");
            let answer = error_answer(&error);
            assert_eq!(
                (answer.status, answer.field),
                (400, Some("body")),
                "{request:?}"
            );
        }
    }

    #[test]
    fn pages_carry_the_security_headers() {
        let response =
            serde_json::to_value(failure(&DecisionError::BadSignature, false).into_response())
                .expect("a response serialises");
        let headers = &response["headers"];
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers["content-security-policy"]
            .as_str()
            .is_some_and(
                |p| p.contains("default-src 'none'") && p.contains("frame-ancestors 'none'")
            ));
    }

    #[test]
    fn backing_service_errors_are_not_shown() {
        let detail = "ResourceNotFoundException: arn:aws:dynamodb:us-east-1:123456789012:table/x";
        let error = DecisionError::Resume {
            detail: detail.into(),
            source: detail.into(),
        };
        for json in [true, false] {
            let answer = failure(&error, json);
            assert_eq!(answer.status, 503);
            assert!(!answer.body.contains("arn:aws"), "{}", answer.body);
            assert!(answer.body.contains("unavailable"), "{}", answer.body);
        }
    }

    fn record(subject: &str, summary: &str) -> ApprovalRecord {
        ApprovalRecord {
            request_id: "r1".into(),
            run_id: "run-1".into(),
            workflow: "gate-test".into(),
            gate: "review".into(),
            subject: subject.into(),
            summary: summary.into(),
            ..ApprovalRecord::default()
        }
    }

    fn link(approver: Option<&str>) -> SignedDecision {
        SignedDecision {
            request_id: "r1".into(),
            decision: "approve".into(),
            approver: approver.map(str::to_owned),
            expires: 1,
            key_id: None,
            signature: "s".into(),
        }
    }

    #[test]
    fn pages_escape_what_they_show() {
        let hostile = "<script>alert(1)</script>";
        let page = confirmation_page(
            &record(hostile, hostile),
            &link(Some("\"><b>x")),
            "decision=approve&sig=\"",
            false,
        )
        .body;
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(!page.contains("\"><b>x"), "{page}");
        assert!(
            page.contains("action=\"/approvals/r1?decision=approve&amp;sig=&quot;\""),
            "{page}"
        );
    }

    #[test]
    fn the_form_asks_for_a_name_only_when_the_link_names_nobody() {
        let summary = "{}";
        let open = confirmation_page(&record("s", summary), &link(None), "q", false).body;
        assert!(open.contains("<input name=\"approver\">"), "{open}");
        assert!(
            open.contains("<textarea name=\"notes\" rows=\"3\">"),
            "{open}"
        );
        let designated =
            confirmation_page(&record("s", summary), &link(Some("ada")), "q", false).body;
        assert!(!designated.contains("name=\"approver\""), "{designated}");
        assert!(
            designated.contains("Deciding as <b>ada</b>"),
            "{designated}"
        );
    }

    fn field(label: &str, value: Option<&str>) -> SummaryField {
        SummaryField {
            label: label.into(),
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn the_gate_summary_comes_first_each_label_beside_its_value_escaped() {
        let mut gated = record("Approve the strategy", r#"{"objective":"grow"}"#);
        gated.summary_fields = vec![
            field("Total (USD)", Some("12500.5")),
            field("Headline", Some(r#""<b>Spring</b> & more""#)),
            field("Channels", Some(r#"["email","sms"]"#)),
            field("Owner", Some(r#"{"team":"growth"}"#)),
            field("Note", None),
            field("<script>label</script>", Some("true")),
        ];
        let page = confirmation_page(&gated, &link(None), "q", false).body;
        for shown in [
            "<dt>Total (USD)</dt><dd><code>12500.5</code></dd>",
            "<dt>Headline</dt><dd>&lt;b&gt;Spring&lt;/b&gt; &amp; more</dd>",
            "<dt>Channels</dt><dd><ul><li>email</li><li>sms</li></ul></dd>",
            "<dt>Owner</dt><dd><dl><dt>team</dt><dd>growth</dd></dl></dd>",
            "<dt>Note</dt><dd><span class=\"absent\" title=\"no value\">—</span></dd>",
            "<dt>&lt;script&gt;label&lt;/script&gt;</dt>",
        ] {
            assert!(page.contains(shown), "{shown} in {page}");
        }
        assert!(
            !page.contains("<b>Spring") && !page.contains("<script>"),
            "{page}"
        );
        // The summary first, then everything the gate was sent, open.
        let fields = page.find("<dl class=\"fields\">").expect("the summary");
        let details = page.find("<details open>").expect("the whole subject");
        assert!(fields < details, "{page}");
        assert!(
            page[details..].contains("<dt>objective</dt><dd>grow</dd>"),
            "{page}"
        );
        let json = confirmation_page(&gated, &link(None), "q", true).body;
        let json: Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(json["summary_fields"][0]["label"], "Total (USD)");
        assert!(json["summary_fields"][4].get("value").is_none());
    }

    #[test]
    fn a_gate_without_a_summary_shows_the_subject_alone() {
        let page = confirmation_page(&record("s", r#"{"a":1}"#), &link(None), "q", false).body;
        assert!(!page.contains("<details"), "{page}");
        assert!(
            page.contains("<div class=\"summary\"><dl><dt>a</dt>"),
            "{page}"
        );
    }

    #[test]
    fn json_summaries_read_as_fields_and_lists() {
        let shown =
            summary(r#"{"title":"Q3 <plan>","steps":["draft","send"],"budget":12}"#).into_string();
        assert!(
            shown.contains("<dt>title</dt><dd>Q3 &lt;plan&gt;</dd>"),
            "{shown}"
        );
        assert!(
            shown.contains("<ul><li>draft</li><li>send</li></ul>"),
            "{shown}"
        );
        assert!(shown.contains("<dd><code>12</code></dd>"), "{shown}");
        let table =
            summary(r#"{"lines":[{"sku":"a","qty":2},{"sku":"<b>","qty":1}]}"#).into_string();
        assert!(
            table.contains("<table><tr><th>qty</th><th>sku</th></tr><tr><td><code>2</code></td><td>a</td></tr><tr><td><code>1</code></td><td>&lt;b&gt;</td></tr></table>"),
            "{table}"
        );
        let mixed = summary(r#"[{"a":1},{"b":2}]"#).into_string();
        assert!(mixed.starts_with("<div class=\"summary\"><ul>"), "{mixed}");
        let cut = summary("{\"text\":\"a long te…").into_string();
        assert_eq!(cut, "<pre>{&quot;text&quot;:&quot;a long te…</pre>");
    }
}
