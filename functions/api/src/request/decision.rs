//! `POST /approvals/submit`: which request, which decision, and notes.

use serde::Deserialize;
use switchyard_lambda::approval::{Approver, Decision, DecisionRequest};

use super::body::{decode, json_object, required};
use crate::error::ApiError;

/// `{request_id, decision, notes?}`. How long each may be is `ApprovalStore::decide`'s
/// rule, the same for every way of deciding.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    request_id: Option<String>,
    decision: Option<String>,
    notes: Option<String>,
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
    let body: DecisionBody = decode(body)?;
    Ok(DecisionRequest {
        request_id: required(body.request_id, "request_id", "required")?,
        decision: Decision::from(required(body.decision, "decision", "required")?),
        approver: Approver::Verified(identity),
        notes: body.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(ok.notes.as_deref(), Some("ok"));
        assert_eq!(ok.approver, Approver::Verified("api-key:t/abc".into()));
        for (body, field) in [
            (r#"{}"#, "request_id"),
            (r#"{"decision": "approve"}"#, "request_id"),
            (r#"{"request_id": "", "decision": "approve"}"#, "request_id"),
            (r#"{"request_id": 5, "decision": "approve"}"#, "request_id"),
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
            (
                r#"{"request_id": "r", "decision": "approve", "approver": null}"#,
                "approver",
            ),
        ] {
            let error = decision(body.as_bytes(), "api-key:t/abc".into()).expect_err("refused");
            assert_eq!(
                (error.status(), error.code(), error.field()),
                (400, "bad_request", Some(field)),
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_decisions_are_400_naming_the_body() {
        for body in ["", "[]", "\"approve\"", "{\"request_id\": "] {
            let error = decision(body.as_bytes(), "api-key:t/abc".into()).expect_err("refused");
            assert_eq!(
                (error.status(), error.code(), error.field()),
                (400, "malformed_json", Some("body")),
                "{body:?}"
            );
        }
    }
}
