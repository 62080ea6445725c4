//! Every way a request can fail, each with one HTTP status and one `error` code.

use serde_json::json;
use switchyard_lambda::approval::http::error_answer;
use switchyard_lambda::approval::DecisionError;

use crate::backend::{BackendError, RunStatus};
use crate::http::ApiResponse;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{field}: {message}")]
    BadField { field: String, message: String },
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    /// A graph sent to run that cannot run; `pointer` is a JSON pointer into the body.
    #[error("{message}")]
    InvalidGraph { pointer: String, message: String },
    #[error("this tenant has run {limit} distinct graphs, the most it may; run one of those again, or ask an operator to raise the limit")]
    GraphQuota { limit: usize },
    #[error("this deployment cannot build graphs: {0}")]
    GraphsUnavailable(&'static str),
    #[error("no workflow named `{name}`; known: {}", known.join(", "))]
    UnknownWorkflow { name: String, known: Vec<String> },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("the body's tenant_id is not the tenant of this API key")]
    TenantMismatch,
    #[error("{0}")]
    NotFound(String),
    #[error("workflow `{0}` is not deployed")]
    NotDeployed(String),
    #[error("{method} is not allowed on {path}; allowed: {}", allowed.join(", "))]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: &'static [&'static str],
    },
    #[error("run {run_id} has ended: it is {status}")]
    NotRunning { run_id: String, status: RunStatus },
    #[error("{field} is too large: at most {limit} bytes are accepted")]
    TooLarge { field: &'static str, limit: usize },
    #[error(transparent)]
    Decision(#[from] DecisionError),
    #[error(transparent)]
    ViewLink(#[from] crate::view_link::ViewRefusal),
    #[error("the platform is unavailable: {0}")]
    Unavailable(BackendError),
}

impl From<BackendError> for ApiError {
    fn from(error: BackendError) -> ApiError {
        match error {
            BackendError::NotDeployed(workflow) => ApiError::NotDeployed(workflow),
            BackendError::GraphsUnavailable(why) => ApiError::GraphsUnavailable(why),
            unavailable => ApiError::Unavailable(unavailable),
        }
    }
}

impl ApiError {
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadField {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::MalformedJson(_)
            | ApiError::BadField { .. }
            | ApiError::InvalidInput { .. }
            | ApiError::UnknownWorkflow { .. }
            | ApiError::InvalidGraph { .. } => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::TenantMismatch | ApiError::GraphQuota { .. } => 403,
            ApiError::NotFound(_) | ApiError::NotDeployed(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::NotRunning { .. } => 409,
            ApiError::TooLarge { .. } => 413,
            ApiError::Decision(e) => error_answer(e).status,
            ApiError::ViewLink(refusal) => refusal.status(),
            ApiError::Unavailable(_) | ApiError::GraphsUnavailable(_) => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::BadField { .. } => "bad_request",
            ApiError::InvalidInput { .. } => "invalid_input",
            ApiError::UnknownWorkflow { .. } => "unknown_workflow",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::TenantMismatch => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::NotDeployed(_) => "workflow_not_deployed",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::NotRunning { .. } => "not_running",
            ApiError::TooLarge { .. } => "payload_too_large",
            ApiError::Decision(e) => error_answer(e).code,
            ApiError::ViewLink(refusal) => refusal.code(),
            ApiError::Unavailable(_) | ApiError::GraphsUnavailable(_) => "unavailable",
            ApiError::InvalidGraph { .. } => "invalid_graph",
            ApiError::GraphQuota { .. } => "quota_exceeded",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::MalformedJson(_) => Some("body"),
            ApiError::BadField { field, .. } | ApiError::InvalidInput { field, .. } => Some(field),
            ApiError::UnknownWorkflow { .. } | ApiError::NotDeployed(_) => Some("workflow"),
            ApiError::TenantMismatch => Some("tenant_id"),
            ApiError::TooLarge { field, .. } => Some(field),
            ApiError::InvalidGraph { pointer, .. } => Some(pointer),
            ApiError::GraphQuota { .. } => Some("graph"),
            ApiError::Decision(e) => error_answer(e).field,
            ApiError::ViewLink(_) => Some("view"),
            _ => None,
        }
    }

    /// `{error, message, field?}` with the error's status and headers.
    pub fn response(&self) -> ApiResponse {
        // Infrastructure detail (AWS request ids, endpoints) is for our logs, not for clients.
        let message = match self {
            ApiError::Unavailable(_)
            | ApiError::Decision(DecisionError::Store(_) | DecisionError::Resume { .. }) => {
                tracing::error!(error = %self, "backend unavailable");
                "the service is temporarily unavailable; try again".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({ "error": self.code(), "message": message });
        if let Some(field) = self.field() {
            body["field"] = json!(field);
        }
        match self {
            ApiError::Decision(DecisionError::AlreadyDecided { status, by, at }) => {
                body["status"] = json!(status);
                body["decided_by"] = json!(by);
                body["decided_at"] = json!(at);
            }
            ApiError::NotRunning { status, .. } => body["status"] = json!(status),
            _ => {}
        }
        let response = ApiResponse::json(self.status(), &body);
        match self {
            ApiError::Unauthorized(_) => response.with_header("www-authenticate", "Bearer"),
            ApiError::MethodNotAllowed { allowed, .. } => {
                response.with_header("allow", &allowed.join(", "))
            }
            _ => response,
        }
    }
}

#[cfg(test)]
mod tests {
    use switchyard_state::ApprovalStatus;

    use super::*;

    #[test]
    fn decision_errors_keep_their_status_code_and_field() {
        let error = ApiError::from(DecisionError::NotAllowed {
            decision: "maybe".into(),
            allowed: vec!["approve".into(), "reject".into()],
        });
        let response = error.response();
        assert_eq!(response.status, 400);
        assert_eq!(
            response.json_body(),
            json!({
                "error": "decision_not_allowed",
                "message": "`maybe` is not one of the allowed decisions: approve, reject",
                "field": "decision",
            })
        );
        let decided = ApiError::from(DecisionError::AlreadyDecided {
            status: ApprovalStatus::Approved,
            by: "ada".into(),
            at: 7,
        })
        .response();
        assert_eq!(decided.status, 409);
        assert_eq!(decided.json_body()["decided_by"], "ada");
        assert_eq!(
            ApiError::from(DecisionError::NotFound("r".into())).status(),
            404
        );
        assert_eq!(ApiError::from(DecisionError::RequestExpired).status(), 410);
        let notes = ApiError::from(DecisionError::BadRequest {
            field: "notes",
            message: "too long".into(),
        });
        assert_eq!(
            (notes.status(), notes.code(), notes.field()),
            (400, "bad_request", Some("notes"))
        );
        let store = ApiError::from(DecisionError::Resume {
            detail: "sfn".into(),
            source: "timeout".into(),
        });
        assert_eq!((store.status(), store.code()), (503, "unavailable"));
    }

    #[test]
    fn unauthorized_and_wrong_method_carry_their_headers() {
        let response = ApiError::Unauthorized("missing API key").response();
        assert_eq!(response.status, 401);
        assert_eq!(response.headers["www-authenticate"], "Bearer");
        let response = ApiError::MethodNotAllowed {
            method: "PUT".into(),
            path: "/runs/x".into(),
            allowed: &["GET", "DELETE"],
        }
        .response();
        assert_eq!(response.status, 405);
        assert_eq!(response.headers["allow"], "GET, DELETE");
        assert_eq!(response.json_body()["error"], "method_not_allowed");
    }

    #[test]
    fn every_client_error_is_4xx_and_names_its_field_when_it_has_one() {
        let errors = [
            ApiError::MalformedJson("eof".into()),
            ApiError::bad_field("limit", "not a number"),
            ApiError::InvalidInput {
                field: "input.selected_month".into(),
                message: "missing field".into(),
            },
            ApiError::UnknownWorkflow {
                name: "x".into(),
                known: vec![],
            },
            ApiError::TenantMismatch,
            ApiError::NotDeployed("x".into()),
            ApiError::TooLarge {
                field: "input",
                limit: 1,
            },
        ];
        for error in errors {
            let response = error.response();
            assert!((400..500).contains(&response.status), "{error:?}");
            assert!(response.json_body()["field"].is_string(), "{error:?}");
        }
    }
}
