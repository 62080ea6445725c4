//! Human approval gates.
//!
//! Request side ([`request`]): a gate's `.waitForTaskToken` task stores the request and its
//! task token in DynamoDB, signs one link per allowed decision and notifies approvers.
//! Decision side ([`callback`]): a Function URL shows a confirmation page on GET (changing
//! nothing, so link scanners are harmless) and decides on POST. [`ApprovalStore::decide`] is
//! the one code path every way of deciding goes through.

pub mod callback;
pub mod http;
pub mod links;
pub mod request;
pub mod secret;

use switchyard_sdk::ApprovalDecision;
use switchyard_state::store::{DecisionStart, StoredApproval};
use switchyard_state::{now_ms, Decided, State, StateError};
pub use switchyard_state::{
    ApprovalRecord, ApprovalStatus, Decision, SummaryField, APPROVE, REJECT,
};

/// Longest approver name or email accepted.
pub const MAX_APPROVER_BYTES: usize = 256;
/// Longest notes accepted with a decision (the record must stay far below DynamoDB's 400 KB).
pub const MAX_NOTES_BYTES: usize = 4096;
/// Who `decided_by` names when development auto-approval decides.
pub const AUTO_APPROVER: &str = "auto-approver";

pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// Why a decision was refused; in every case nothing changed. [`http`] says how each answers
/// over HTTP.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("the link's signature does not match")]
    BadSignature,
    #[error("the link expired")]
    LinkExpired,
    #[error("no approval request `{0}`")]
    NotFound(String),
    #[error("already {status} by {by} at {at}")]
    AlreadyDecided {
        status: ApprovalStatus,
        by: String,
        at: u64,
    },
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
    Store(#[from] StateError),
    #[error("the run could not be resumed: {detail}")]
    Resume {
        detail: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Who asks for a decision, and how sure we are of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approver {
    /// Proven: named inside a signed link, or the identity of the API key that called.
    Verified(String),
    /// Typed into the form by whoever holds an undesignated gate's link.
    Unverified(String),
    /// Development auto-approval, deciding in the approval-request function itself.
    Automatic,
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
            Approver::Automatic => AUTO_APPROVER,
            Approver::Anonymous => "anonymous",
        }
    }

    pub fn is_verified(&self) -> bool {
        matches!(self, Approver::Verified(_) | Approver::Automatic)
    }
}

/// A decision someone asks for.
#[derive(Clone, Debug)]
pub struct DecisionRequest {
    pub request_id: String,
    pub decision: Decision,
    pub approver: Approver,
    pub notes: Option<String>,
}

pub struct ApprovalStore {
    state: State,
    sfn: aws_sdk_sfn::Client,
}

impl ApprovalStore {
    pub fn new(state: State, sfn: aws_sdk_sfn::Client) -> Self {
        ApprovalStore { state, sfn }
    }

    /// The deployment's tables and Step Functions.
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<Self, crate::ConfigError> {
        Ok(ApprovalStore::new(
            crate::state_from_env(config)?,
            aws_sdk_sfn::Client::new(config),
        ))
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The run's waits a client ends (pause, resume, cancel), through the same tables and
    /// Step Functions client.
    pub fn waits(&self) -> crate::waits::Waits<'_> {
        crate::waits::Waits {
            state: &self.state,
            sfn: &self.sfn,
        }
    }

    /// A request and its task token; `NotFound` for ids that cannot exist.
    async fn stored(&self, request_id: &str) -> Result<StoredApproval, DecisionError> {
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
        self.state
            .approvals()
            .get(request_id)
            .await?
            .ok_or_else(|| DecisionError::NotFound(request_id.to_owned()))
    }

    pub async fn get(&self, request_id: &str) -> Result<ApprovalRecord, DecisionError> {
        Ok(self.stored(request_id).await?.record)
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
        match record.status {
            ApprovalStatus::Pending => {}
            ApprovalStatus::Expired => return Err(DecisionError::RequestExpired),
            status => {
                return Err(DecisionError::AlreadyDecided {
                    status,
                    by: record.decided_by.clone().unwrap_or_default(),
                    at: record.decided_at.unwrap_or_default(),
                })
            }
        }
        if now > record.expires_at {
            return Err(DecisionError::RequestExpired);
        }
        let allowed = record.allowed_decisions();
        if !allowed.contains(&request.decision) {
            return Err(DecisionError::NotAllowed {
                decision: request.decision.to_string(),
                allowed: allowed.iter().map(Decision::to_string).collect(),
            });
        }
        if !record.approvers.is_empty() {
            // Only a proven identity counts: a typed name is what anyone can type.
            let designated = match &request.approver {
                Approver::Verified(name) => record
                    .approvers
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(name)),
                Approver::Automatic => true,
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
    /// expires it. Refused requests change nothing. Every way of deciding comes here:
    /// links, the API, and development auto-approval.
    pub async fn decide(
        &self,
        request: &DecisionRequest,
        tenant: Option<&str>,
    ) -> Result<ApprovalRecord, DecisionError> {
        let now = now_secs();
        let StoredApproval {
            mut record,
            task_token,
        } = self.stored(&request.request_id).await?;
        if tenant.is_some_and(|t| t != record.tenant_id) {
            // Another tenant's request does not exist as far as this caller can tell.
            return Err(DecisionError::NotFound(request.request_id.clone()));
        }
        if record.status == ApprovalStatus::Deciding {
            return self.complete_retry(record, task_token, request).await;
        }
        self.check(&record, request, now)?;
        let decided = Decided {
            decision: request.decision.clone(),
            decided_by: request.approver.name().to_owned(),
            approver_verified: request.approver.is_verified(),
            decided_at: now,
            notes: request.notes.clone().filter(|n| !n.is_empty()),
            auto_approved: request.approver == Approver::Automatic,
        };
        match self
            .state
            .approvals()
            .begin_decision(&record.request_id, &decided)
            .await?
        {
            DecisionStart::Recorded => {}
            DecisionStart::Lost(current) => {
                // Someone decided first: report who.
                let current =
                    current.ok_or_else(|| DecisionError::NotFound(request.request_id.clone()))?;
                return Err(DecisionError::AlreadyDecided {
                    status: current.status,
                    by: current.decided_by.unwrap_or_default(),
                    at: current.decided_at.unwrap_or_default(),
                });
            }
        }
        record.status = ApprovalStatus::Deciding;
        record.decision = Some(decided.decision);
        record.decided_by = Some(decided.decided_by);
        record.approver_verified = Some(decided.approver_verified);
        record.decided_at = Some(now);
        record.notes = decided.notes;
        record.auto_approved = decided.auto_approved;
        self.complete(record, &task_token).await
    }

    /// A decision arriving while an earlier one is recorded but not resumed: the recorded
    /// one is completed, and stands; the caller learns whether it was theirs.
    async fn complete_retry(
        &self,
        record: ApprovalRecord,
        task_token: String,
        request: &DecisionRequest,
    ) -> Result<ApprovalRecord, DecisionError> {
        let same = record.decision.as_ref() == Some(&request.decision)
            && record.decided_by.as_deref() == Some(request.approver.name());
        let completed = self.complete(record, &task_token).await?;
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
    /// status (and whoever records it counts the decision's turnaround). Safe to repeat: Step Functions refuses a second resume of the same token, and
    /// that is read as "already resumed" only after the first one succeeded.
    async fn complete(
        &self,
        mut record: ApprovalRecord,
        task_token: &str,
    ) -> Result<ApprovalRecord, DecisionError> {
        // Only a `deciding` request comes here, and it always holds its decision.
        let decided = record.decision.clone().unwrap_or(Decision::Reject);
        let status = decided.outcome();
        let decision = ApprovalDecision::picked(
            &record.choices,
            decided.as_str(),
            record.decided_by.clone(),
            record.notes.clone(),
            record.auto_approved,
        );
        let output = serde_json::to_string(&decision).map_err(|e| DecisionError::Resume {
            detail: e.to_string(),
            source: Box::new(e),
        })?;
        if let Err(e) = self
            .sfn
            .send_task_success()
            .task_token(task_token)
            .output(output)
            .send()
            .await
        {
            let gone = e.as_service_error().is_some_and(|s| {
                s.is_task_timed_out() || s.is_task_does_not_exist() || s.is_invalid_token()
            });
            if gone {
                // The run stopped waiting (timed out or stopped): the decision cannot count.
                self.state
                    .approvals()
                    .expire(&record.request_id, ApprovalStatus::Deciding)
                    .await?;
                return Err(DecisionError::RequestExpired);
            }
            let detail = aws_sdk_sfn::error::DisplayErrorContext(&e).to_string();
            tracing::error!(
                run_id = %record.run_id,
                request_id = %record.request_id,
                error = %detail,
                "decision recorded but the run was not resumed; a retry completes it"
            );
            return Err(DecisionError::Resume {
                detail,
                source: Box::new(e),
            });
        }
        // The run is resumed; a concurrent retry may have recorded the status already.
        record.status = status;
        match self
            .state
            .approvals()
            .settle(&record.request_id, status)
            .await
        {
            // This call settled it: it alone counts the decision.
            Ok(true) => {
                if let Some(metric) = crate::emf::approval_decision(&record, now_ms()) {
                    crate::emf::emit(&metric);
                }
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(request_id = %record.request_id, error = %e, "run resumed but its final status was not recorded")
            }
        }
        tracing::info!(
            run_id = %record.run_id,
            step = %record.gate,
            tenant_id = %record.tenant_id,
            request_id = %record.request_id,
            decision = %decided,
            approver = record.decided_by.as_deref().unwrap_or_default(),
            approver_verified = record.approver_verified.unwrap_or(false),
            "approval decided"
        );
        Ok(record)
    }

    /// Expires the open requests of a run, or of one gate of it (its wait timed out). A
    /// decision recorded but never delivered (`deciding`) does not count either: the wait
    /// is over.
    pub async fn expire_open(
        &self,
        run_id: &str,
        gate: Option<&str>,
    ) -> Result<u32, DecisionError> {
        let mut expired = 0;
        for request in self.state.approvals().of_run(run_id).await? {
            if gate.is_none_or(|gate| request.gate == gate)
                && request.status.is_open()
                && self
                    .state
                    .approvals()
                    .expire(&request.request_id, request.status)
                    .await?
            {
                expired += 1;
            }
        }
        Ok(expired)
    }
}
