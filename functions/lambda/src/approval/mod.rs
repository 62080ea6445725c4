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
pub mod secret;

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
    /// Whether `decided_by` was proven (a designated approver's signed link, an API key) or
    /// only typed by whoever held the link.
    pub approver_verified: Option<bool>,
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
            approver_verified: item
                .get("approver_verified")
                .and_then(|v| v.as_bool().ok())
                .copied(),
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

/// Who asks for a decision, and how sure we are of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approver {
    /// Proven: named inside a signed link, or the identity of the API key that called.
    Verified(String),
    /// Typed into the form by whoever holds an undesignated gate's link.
    Unverified(String),
    /// Nobody gave a name.
    Anonymous,
}

impl Approver {
    /// A name typed into a form: unverified, or anonymous when empty.
    pub fn typed(name: Option<String>) -> Approver {
        match name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) {
            Some(name) => Approver::Unverified(name),
            None => Approver::Anonymous,
        }
    }

    /// The name recorded as `decided_by`.
    pub fn name(&self) -> &str {
        match self {
            Approver::Verified(name) | Approver::Unverified(name) => name,
            Approver::Anonymous => "anonymous",
        }
    }

    pub fn is_verified(&self) -> bool {
        matches!(self, Approver::Verified(_))
    }
}

/// A decision someone asks for.
#[derive(Clone, Debug)]
pub struct DecisionRequest {
    pub request_id: String,
    pub decision: String,
    pub approver: Approver,
    pub notes: Option<String>,
}

/// The status of a request whose decision is recorded but whose run is not resumed yet: a
/// retry of the decision (or the gate's timeout) completes it.
pub const DECIDING: &str = "deciding";

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
        ApprovalStore::with_clients(
            aws_sdk_dynamodb::Client::new(config),
            aws_sdk_sfn::Client::new(config),
            table,
        )
    }

    /// With given clients (tests point Step Functions at a server that fails).
    pub fn with_clients(
        dynamodb: aws_sdk_dynamodb::Client,
        sfn: aws_sdk_sfn::Client,
        table: String,
    ) -> Self {
        ApprovalStore {
            dynamodb,
            sfn,
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
        too_long(
            "approver",
            &Some(request.approver.name().to_owned()),
            MAX_APPROVER_BYTES,
        )?;
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
            // Only a proven identity counts: a typed name is what anyone can type.
            let designated = match &request.approver {
                Approver::Verified(name) => record
                    .approvers
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(name)),
                _ => false,
            };
            if !designated {
                return Err(DecisionError::NotAnApprover(
                    request.approver.name().to_owned(),
                ));
            }
        }
        Ok(())
    }

    /// Decides: a conditional write to `deciding` (the first writer wins), then resumes the
    /// run, then records the final status. If the resume fails the request stays
    /// `deciding`: a retry completes it with the recorded decision, and the gate's timeout
    /// expires it. Refused requests change nothing.
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
        if record.status == DECIDING {
            return self.complete_retry(record, request).await;
        }
        self.check(&record, request, now)?;
        let approver = request.approver.name().to_owned();
        let mut update = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("request_id", AttributeValue::S(record.request_id.clone()))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .expression_attribute_values(":status", AttributeValue::S(DECIDING.into()))
            .expression_attribute_values(":decision", AttributeValue::S(request.decision.clone()))
            .expression_attribute_values(":by", AttributeValue::S(approver.clone()))
            .expression_attribute_values(
                ":verified",
                AttributeValue::Bool(request.approver.is_verified()),
            )
            .expression_attribute_values(":at", AttributeValue::N(now.to_string()));
        let mut expression = String::from(
            "SET #status = :status, decision = :decision, decided_by = :by, \
             approver_verified = :verified, decided_at = :at",
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
        record.status = DECIDING.to_owned();
        record.decision = Some(request.decision.clone());
        record.decided_by = Some(approver);
        record.approver_verified = Some(request.approver.is_verified());
        record.decided_at = Some(now);
        record.notes = request.notes.clone().filter(|n| !n.is_empty());
        self.complete(record).await
    }

    /// A decision arriving while an earlier one is recorded but not resumed: the recorded
    /// one is completed, and stands; the caller learns whether it was theirs.
    async fn complete_retry(
        &self,
        record: ApprovalRecord,
        request: &DecisionRequest,
    ) -> Result<ApprovalRecord, DecisionError> {
        let same = record.decision.as_deref() == Some(request.decision.as_str())
            && record.decided_by.as_deref() == Some(request.approver.name());
        let completed = self.complete(record).await?;
        if same {
            return Ok(completed);
        }
        Err(DecisionError::AlreadyDecided {
            status: completed.status,
            by: completed.decided_by.unwrap_or_default(),
            at: completed.decided_at.unwrap_or_default(),
        })
    }

    /// Resumes the run with a `deciding` request's recorded decision, then records the final
    /// status. Safe to repeat: Step Functions refuses a second resume of the same token, and
    /// that is read as "already resumed" only after the first one succeeded.
    async fn complete(&self, mut record: ApprovalRecord) -> Result<ApprovalRecord, DecisionError> {
        let decision_name = record.decision.clone().unwrap_or_default();
        let status = if decision_name == REJECT {
            "rejected"
        } else {
            "approved"
        };
        let decision = ApprovalDecision::picked(
            &record.choices,
            &decision_name,
            record.decided_by.clone(),
            record.notes.clone(),
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
                self.mark_expired(&record.request_id, Some(DECIDING))
                    .await?;
                return Err(DecisionError::RequestExpired);
            }
            tracing::error!(
                run_id = %record.run_id,
                request_id = %record.request_id,
                error = %aws_sdk_sfn::error::DisplayErrorContext(&e),
                "decision recorded but the run was not resumed; a retry completes it"
            );
            return Err(DecisionError::Unavailable(
                aws_sdk_sfn::error::DisplayErrorContext(e).to_string(),
            ));
        }
        let finished = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("request_id", AttributeValue::S(record.request_id.clone()))
            .update_expression("SET #status = :status")
            .condition_expression("#status = :deciding")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", AttributeValue::S(status.into()))
            .expression_attribute_values(":deciding", AttributeValue::S(DECIDING.into()))
            .send()
            .await;
        if let Err(e) = finished {
            // The run is resumed; a concurrent retry may have recorded the status already.
            if !e
                .as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception())
            {
                tracing::error!(request_id = %record.request_id, error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e), "run resumed but its final status was not recorded");
            }
        }
        tracing::info!(
            run_id = %record.run_id,
            step = %record.gate,
            tenant_id = %record.tenant_id,
            request_id = %record.request_id,
            decision = %decision_name,
            approver = record.decided_by.as_deref().unwrap_or_default(),
            approver_verified = record.approver_verified.unwrap_or(false),
            "approval decided"
        );
        record.status = status.to_owned();
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
            // The wait is over: a decision that never reached the run does not count either.
            if item_gate == gate && (status == "pending" || status == DECIDING) {
                self.mark_expired(id, Some(status)).await?;
                expired += 1;
            }
        }
        Ok(expired)
    }
}

/// The approvals table's index by run.
pub const RUN_INDEX: &str = "by-run";
