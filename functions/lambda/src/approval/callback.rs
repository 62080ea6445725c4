//! The approval callback behind a Function URL.
//!
//! `GET /approvals/{id}?decision=..&expires=..&sig=..` shows what is being decided and a form;
//! it never changes anything, so mail scanners that prefetch links are harmless. The form
//! posts back to the same URL with optional `approver` and `notes`; only that POST decides.
//! Answers are HTML, or JSON `{error, message, field?}` when the client asks for JSON.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::links::{LinkSigner, SignedDecision};
use super::{now_secs, ApprovalRecord, ApprovalStore, DecisionError, DecisionRequest};
use crate::{required_var, ConfigError};

/// A Function URL request (payload format 2.0), the parts used here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlRequest {
    pub raw_path: String,
    #[serde(default)]
    pub raw_query_string: String,
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
    pub request_context: RequestContext,
}

#[derive(Debug, Deserialize)]
pub struct RequestContext {
    pub http: HttpContext,
}

#[derive(Debug, Deserialize)]
pub struct HttpContext {
    pub method: String,
}

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
    pub fn into_response(self) -> Value {
        let content_type = if self.json {
            "application/json"
        } else {
            "text/html; charset=utf-8"
        };
        json!({
            "statusCode": self.status,
            "headers": {
                "content-type": content_type,
                // Decision pages must not be cached or framed by anyone.
                "cache-control": "no-store",
                "x-frame-options": "DENY",
            },
            "body": self.body,
        })
    }
}

impl Callback {
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<Callback, ConfigError> {
        let secret = required_var("APPROVAL_LINK_SECRET")?;
        // The links this function checks were made with its own URL; any base works for
        // verifying, which covers only id, decision and expiry.
        let signer = LinkSigner::new(secret.as_bytes(), "/")
            .ok_or(ConfigError::WeakSecret("APPROVAL_LINK_SECRET"))?;
        Ok(Callback {
            store: ApprovalStore::new(config, required_var("APPROVALS_TABLE")?),
            signer,
        })
    }

    pub async fn handle(&self, event: Value) -> Result<Value, std::convert::Infallible> {
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
        let wants_json = request
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("accept") && v.contains("application/json"));
        let method = request.request_context.http.method.to_ascii_uppercase();
        let Some(request_id) = request
            .raw_path
            .strip_prefix("/approvals/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
        else {
            return failure(
                &DecisionError::NotFound(request.raw_path.clone()),
                wants_json,
            );
        };
        let query: HashMap<String, String> =
            form_urlencoded::parse(request.raw_query_string.as_bytes())
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
                Ok(record) => confirmation_page(&record, &signed, &request.raw_query_string, wants_json),
                Err(e) => failure(&e, wants_json),
            },
            "POST" => {
                let form = form_fields(&request);
                let decision = DecisionRequest {
                    request_id: request_id.to_owned(),
                    decision: signed.decision.clone(),
                    approver: form.get("approver").cloned(),
                    notes: form.get("notes").cloned(),
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
        expires,
        signature: field("sig")?,
    })
}

fn form_fields(request: &UrlRequest) -> HashMap<String, String> {
    let body = request.body.clone().unwrap_or_default();
    let bytes = if request.is_base64_encoded {
        STANDARD.decode(body.as_bytes()).unwrap_or_default()
    } else {
        body.into_bytes()
    };
    let is_json = request
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.contains("application/json"));
    if is_json {
        return serde_json::from_slice::<HashMap<String, Value>>(&bytes)
            .map(|m| {
                m.into_iter()
                    .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
    }
    form_urlencoded::parse(&bytes).into_owned().collect()
}

fn failure(error: &DecisionError, json: bool) -> Answer {
    let mut extra = String::new();
    let mut body = json!({ "error": error.code(), "message": error.to_string() });
    if let Some(field) = error.field() {
        body["field"] = json!(field);
    }
    if let DecisionError::AlreadyDecided { status, by, at } = error {
        body["status"] = json!(status);
        body["decided_by"] = json!(by);
        body["decided_at"] = json!(at);
        extra = format!("<p>Decided by <b>{}</b> at {}.</p>", escape(by), at);
    }
    Answer {
        status: error.status(),
        json,
        body: if json {
            body.to_string()
        } else {
            page(
                "Not decided",
                &format!("<p>{}</p>{extra}", escape(&error.to_string())),
            )
        },
    }
}

fn confirmation_page(
    record: &ApprovalRecord,
    signed: &SignedDecision,
    query: &str,
    json: bool,
) -> Answer {
    if json {
        return Answer {
            status: 200,
            json,
            body: json!({
                "request_id": record.request_id,
                "status": record.status,
                "subject": record.subject,
                "summary": record.summary,
                "run_id": record.run_id,
                "workflow": record.workflow,
                "gate": record.gate,
                "decision": signed.decision,
                "expires_at": record.expires_at,
            })
            .to_string(),
        };
    }
    let state = if record.status == "pending" {
        format!(
            "<form method=\"post\" action=\"/approvals/{id}?{query}\">\
             <label>Your name or email <input name=\"approver\"></label>\
             <label>Notes <textarea name=\"notes\" rows=\"3\"></textarea></label>\
             <button type=\"submit\">Confirm: {decision}</button></form>",
            id = escape(&record.request_id),
            query = escape(query),
            decision = escape(&signed.decision),
        )
    } else {
        format!(
            "<p>This request is already <b>{}</b>.</p>",
            escape(&record.status)
        )
    };
    Answer {
        status: 200,
        json,
        body: page(
            &record.subject,
            &format!(
                "<p>Run <code>{run}</code> ({workflow}) waits at <b>{gate}</b>.</p>\
                 <p>You are about to decide: <b>{decision}</b></p>\
                 <pre>{summary}</pre>{state}",
                run = escape(&record.run_id),
                workflow = escape(&record.workflow),
                gate = escape(&record.gate),
                decision = escape(&signed.decision),
                summary = escape(&record.summary),
            ),
        ),
    }
}

fn decided_page(record: &ApprovalRecord, json: bool) -> Answer {
    let decision = record.decision.clone().unwrap_or_default();
    let by = record.decided_by.clone().unwrap_or_default();
    Answer {
        status: 200,
        json,
        body: if json {
            json!({ "request_id": record.request_id, "status": record.status, "decision": decision, "decided_by": by, "run_id": record.run_id }).to_string()
        } else {
            page(
                "Decision recorded",
                &format!(
                    "<p><b>{}</b> recorded for run <code>{}</code> by {}.</p>",
                    escape(&decision),
                    escape(&record.run_id),
                    escape(&by)
                ),
            )
        },
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">\
         <title>{title}</title><style>body{{font-family:system-ui;max-width:40rem;margin:2rem auto}}\
         label{{display:block;margin:.5rem 0}}input,textarea{{width:100%}}pre{{white-space:pre-wrap;background:#f4f4f5;padding:.5rem}}</style>\
         </head><body><h1>{title}</h1>{body}</body></html>",
        title = escape(title),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
