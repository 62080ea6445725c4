//! How a refused decision answers over HTTP, for every HTTP layer that decides: the approval
//! callback and the API. [`DecisionError`] itself says only what went wrong.

use super::DecisionError;

/// A refused decision as HTTP: one status, one `error` code, the field at fault if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorAnswer {
    pub status: u16,
    pub code: &'static str,
    pub field: Option<&'static str>,
}

pub fn error_answer(error: &DecisionError) -> ErrorAnswer {
    let (status, code) = match error {
        DecisionError::BadSignature => (403, "bad_signature"),
        DecisionError::LinkExpired => (410, "link_expired"),
        DecisionError::NotFound(_) => (404, "not_found"),
        DecisionError::AlreadyDecided { .. } => (409, "already_decided"),
        DecisionError::RequestExpired => (410, "request_expired"),
        DecisionError::NotAllowed { .. } => (400, "decision_not_allowed"),
        DecisionError::NotAnApprover(_) => (403, "not_an_approver"),
        DecisionError::BadRequest { .. } => (400, "bad_request"),
        DecisionError::Store(_) | DecisionError::Resume { .. } => (503, "unavailable"),
    };
    let field = match error {
        DecisionError::NotAllowed { .. } => Some("decision"),
        DecisionError::NotAnApprover(_) => Some("approver"),
        DecisionError::BadRequest { field, .. } => Some(*field),
        _ => None,
    };
    ErrorAnswer {
        status,
        code,
        field,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_mistakes_are_4xx_and_outages_503() {
        let cases = [
            (DecisionError::BadSignature, 403),
            (DecisionError::LinkExpired, 410),
            (DecisionError::NotFound("r".into()), 404),
            (DecisionError::RequestExpired, 410),
            (DecisionError::NotAnApprover("ada".into()), 403),
            (
                DecisionError::Resume {
                    detail: "d".into(),
                    source: "s".into(),
                },
                503,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error_answer(&error).status, status, "{error:?}");
        }
    }
}
