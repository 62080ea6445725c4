//! Human approval gates.
//!
//! Request side ([`request`]): a gate's `.waitForTaskToken` task stores the request and its
//! task token in DynamoDB, signs one link per allowed decision and notifies approvers.
//! Decision side ([`callback`]): a Function URL shows a confirmation page on GET (changing
//! nothing, so link scanners are harmless) and decides on POST. [`ApprovalStore::decide`] is
//! the one code path every way of deciding goes through.

pub mod callback;
pub mod links;
pub mod request;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use switchyard_sdk::ApprovalDecision;

use crate::store::now_ms;

/// Longest approver name or email accepted.
pub const MAX_APPROVER_BYTES: usize = 256;
/// Longest notes accepted with a decision (the record must stay far below DynamoDB's 400 KB).
pub const MAX_NOTES_BYTES: usize = 4096;

/// The reserved decision every gate allows.
pub const REJECT: &str = "reject";
/// The positive decision of a gate without choices.
pub const APPROVE: &str = "approve";

pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// An approval request as stored (the task token stays inside this module).
#[derive(Clone, Debug, Serialize)]
pub struct ApprovalRecord {
    pub request_id: String,
    pub run_id: String,
    pub tenant_id: String,
    pub workflow: String,
    pub gate: String,
    pub subject: String,
    pub summary: String,
    pub choices: Vec<String>,
    pub approvers: Vec<String>,
    pub status: String,
    pub created_at: u64,
    pub expires_at: u64,
    pub links: HashMap<String, String>,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<u64>,
    pub notes: Option<String>,
    #[serde(skip)]
    task_token: String,
}

impl ApprovalRecord {
    /// The decisions this gate accepts: its choices (or `approve`), and `reject`.
    pub fn allowed_decisions(&self) -> Vec<String> {
        let mut allowed = if self.choices.is_empty() {
            vec![APPROVE.to_owned()]
        } else {
            self.choices.clone()
        };
        allowed.push(REJECT.to_owned());
        allowed
    }

    fn from_item(item: &HashMap<String, AttributeValue>) -> Option<ApprovalRecord> {
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let n = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
        };
        let list = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_l().ok())
                .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
                .unwrap_or_default()
        };
        let links = item
            .get("links")
            .and_then(|v| v.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Some(ApprovalRecord {
            request_id: s("request_id")?,
            run_id: s("run_id")?,
            tenant_id: s("tenant_id")?,
            workflow: s("workflow").unwrap_or_default(),
            gate: s("gate")?,
            subject: s("subject").unwrap_or_default(),
            summary: s("summary").unwrap_or_default(),
            choices: list("choices"),
            approvers: list("approvers"),
            status: s("status")?,
            created_at: n("created_at").unwrap_or_default(),
            expires_at: n("expires_at").unwrap_or_default(),
            links,
            decision: s("decision"),
            decided_by: s("decided_by"),
            decided_at: n("decided_at"),
            notes: s("notes"),
            task_token: s("task_token")?,
        })
    }
}

/// Why a decision was refused. Each maps to one HTTP status; in every case nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("the link's signature does not match")]
    BadSignature,
    #[error("the link expired")]
    LinkExpired,
    #[error("no approval request `{0}`")]
    NotFound(String),
    #[error("already {status} by {by} at {at}")]
    AlreadyDecided { status: String, by: String, at: u64 },
    #[error("the request expired: the run no longer waits for it")]
    RequestExpired,
    #[error("`{decision}` is not one of the allowed decisions: {}", allowed.join(", "))]
    NotAllowed {
        decision: String,
        allowed: Vec<String>,
    },
    #[error("`{0}` is not a designated approver of this gate")]
    NotAnApprover(String),
    #[error("{field}: {message}")]
    BadRequest {
        field: &'static str,
        message: String,
    },
    #[error("approvals are unavailable: {0}")]
    Unavailable(String),
}

impl DecisionError {
    pub fn status(&self) -> u16 {
        match self {
            DecisionError::BadSignature | DecisionError::NotAnApprover(_) => 403,
            DecisionError::LinkExpired | DecisionError::RequestExpired => 410,
            DecisionError::NotFound(_) => 404,
            DecisionError::AlreadyDecided { .. } => 409,
            DecisionError::NotAllowed { .. } | DecisionError::BadRequest { .. } => 400,
            DecisionError::Unavailable(_) => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            DecisionError::BadSignature => "bad_signature",
            DecisionError::LinkExpired => "link_expired",
            DecisionError::NotFound(_) => "not_found",
            DecisionError::AlreadyDecided { .. } => "already_decided",
            DecisionError::RequestExpired => "request_expired",
            DecisionError::NotAllowed { .. } => "decision_not_allowed",
            DecisionError::NotAnApprover(_) => "not_an_approver",
            DecisionError::BadRequest { .. } => "bad_request",
            DecisionError::Unavailable(_) => "unavailable",
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            DecisionError::NotAllowed { .. } => Some("decision"),
            DecisionError::NotAnApprover(_) => Some("approver"),
            DecisionError::BadRequest { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A decision someone asks for.
#[derive(Clone, Debug)]
pub struct DecisionRequest {
    pub request_id: String,
    pub decision: String,
    pub approver: Option<String>,
    pub notes: Option<String>,
}

pub struct ApprovalStore {
    dynamodb: aws_sdk_dynamodb::Client,
    sfn: aws_sdk_sfn::Client,
    table: String,
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> DecisionError {
    DecisionError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

impl ApprovalStore {
    pub fn new(config: &aws_config::SdkConfig, table: String) -> Self {
        ApprovalStore {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
            table,
        }
    }

    pub async fn get(&self, request_id: &str) -> Result<ApprovalRecord, DecisionError> {
        // Ids are UUIDs: anything else cannot exist, and must not reach DynamoDB's key limits.
        let plausible = !request_id.is_empty()
            && request_id.len() <= 64
            && request_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !plausible {
            return Err(DecisionError::NotFound(
                request_id.chars().take(64).collect(),
            ));
        }
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("request_id", AttributeValue::S(request_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        item.item()
            .and_then(ApprovalRecord::from_item)
            .ok_or_else(|| DecisionError::NotFound(request_id.to_owned()))
    }

    /// Checks the request is still decidable by this person and decision. Reads only.
    pub fn check(
        &self,
        record: &ApprovalRecord,
        request: &DecisionRequest,
        now: u64,
    ) -> Result<(), DecisionError> {
        let too_long = |field: &'static str, value: &Option<String>, limit: usize| match value {
            Some(v) if v.len() > limit => Err(DecisionError::BadRequest {
                field,
                message: format!("at most {limit} bytes"),
            }),
            _ => Ok(()),
        };
        too_long("approver", &request.approver, MAX_APPROVER_BYTES)?;
        too_long("notes", &request.notes, MAX_NOTES_BYTES)?;
        if record.status != "pending" {
            if record.status == "expired" {
                return Err(DecisionError::RequestExpired);
            }
            return Err(DecisionError::AlreadyDecided {
                status: record.status.clone(),
                by: record.decided_by.clone().unwrap_or_default(),
                at: record.decided_at.unwrap_or_default(),
            });
        }
        if now > record.expires_at {
            return Err(DecisionError::RequestExpired);
        }
        let allowed = record.allowed_decisions();
        if !allowed.contains(&request.decision) {
            return Err(DecisionError::NotAllowed {
                decision: request.decision.clone(),
                allowed,
            });
        }
        if !record.approvers.is_empty() {
            let approver = request.approver.clone().unwrap_or_default();
            if !record
                .approvers
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&approver))
            {
                return Err(DecisionError::NotAnApprover(approver));
            }
        }
        Ok(())
    }

    /// Decides: conditional write (the first writer wins), then resumes the run. Refused
    /// requests change nothing.
    pub async fn decide(
        &self,
        request: &DecisionRequest,
        tenant: Option<&str>,
    ) -> Result<ApprovalRecord, DecisionError> {
        let now = now_secs();
        let mut record = self.get(&request.request_id).await?;
        if tenant.is_some_and(|t| t != record.tenant_id) {
            // Another tenant's request does not exist as far as this caller can tell.
            return Err(DecisionError::NotFound(request.request_id.clone()));
        }
        self.check(&record, request, now)?;
        let approver = request
            .approver
            .clone()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "anonymous".to_owned());
        let status = if request.decision == REJECT {
            "rejected"
        } else {
            "approved"
        };
        let mut update = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("request_id", AttributeValue::S(record.request_id.clone()))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .expression_attribute_values(":status", AttributeValue::S(status.into()))
            .expression_attribute_values(":decision", AttributeValue::S(request.decision.clone()))
            .expression_attribute_values(":by", AttributeValue::S(approver.clone()))
            .expression_attribute_values(":at", AttributeValue::N(now.to_string()));
        let mut expression = String::from(
            "SET #status = :status, decision = :decision, decided_by = :by, decided_at = :at",
        );
        if let Some(notes) = request.notes.clone().filter(|n| !n.is_empty()) {
            expression.push_str(", notes = :notes");
            update = update.expression_attribute_values(":notes", AttributeValue::S(notes));
        }
        if let Err(e) = update.update_expression(expression).send().await {
            let lost = e
                .as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception());
            if lost {
                // Someone decided first: report who.
                let current = self.get(&request.request_id).await?;
                return Err(DecisionError::AlreadyDecided {
                    status: current.status,
                    by: current.decided_by.unwrap_or_default(),
                    at: current.decided_at.unwrap_or_default(),
                });
            }
            return Err(unavailable(e));
        }
        let decision = ApprovalDecision::picked(
            &record.choices,
            &request.decision,
            Some(approver.clone()),
            request.notes.clone(),
            false,
        );
        let output = serde_json::to_string(&decision)
            .map_err(|e| DecisionError::Unavailable(e.to_string()))?;
        if let Err(e) = self
            .sfn
            .send_task_success()
            .task_token(&record.task_token)
            .output(output)
            .send()
            .await
        {
            let gone = e.as_service_error().is_some_and(|s| {
                s.is_task_timed_out() || s.is_task_does_not_exist() || s.is_invalid_token()
            });
            if gone {
                // The run stopped waiting (timed out or stopped): the decision cannot count.
                self.mark_expired(&record.request_id, Some(status)).await?;
                return Err(DecisionError::RequestExpired);
            }
            return Err(DecisionError::Unavailable(
                aws_sdk_sfn::error::DisplayErrorContext(e).to_string(),
            ));
        }
        tracing::info!(
            run_id = %record.run_id,
            step = %record.gate,
            tenant_id = %record.tenant_id,
            request_id = %record.request_id,
            decision = %request.decision,
            approver = %approver,
            "approval decided"
        );
        record.status = status.to_owned();
        record.decision = Some(request.decision.clone());
        record.decided_by = Some(approver);
        record.decided_at = Some(now);
        record.notes = request.notes.clone();
        Ok(record)
    }

    /// Marks a request expired, if it is still `from` (pending unless given).
    pub async fn mark_expired(
        &self,
        request_id: &str,
        from: Option<&str>,
    ) -> Result<(), DecisionError> {
        let result = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("request_id", AttributeValue::S(request_id.to_owned()))
            .update_expression("SET #status = :expired")
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":expired", AttributeValue::S("expired".into()))
            .expression_attribute_values(
                ":from",
                AttributeValue::S(from.unwrap_or("pending").into()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Expires the pending requests of one gate of a run (its wait timed out).
    pub async fn expire_gate(&self, run_id: &str, gate: &str) -> Result<u32, DecisionError> {
        let page = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .index_name(RUN_INDEX)
            .key_condition_expression("run_id = :run")
            .expression_attribute_values(":run", AttributeValue::S(run_id.to_owned()))
            .send()
            .await
            .map_err(unavailable)?;
        let mut expired = 0;
        for item in page.items() {
            let (Some(id), Some(item_gate), Some(status)) = (
                item.get("request_id").and_then(|v| v.as_s().ok()),
                item.get("gate").and_then(|v| v.as_s().ok()),
                item.get("status").and_then(|v| v.as_s().ok()),
            ) else {
                continue;
            };
            if item_gate == gate && status == "pending" {
                self.mark_expired(id, None).await?;
                expired += 1;
            }
        }
        Ok(expired)
    }
}

/// The approvals table's index by run.
pub const RUN_INDEX: &str = "by-run";
