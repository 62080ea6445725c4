//! What the API needs from outside the process, and the records it reads.
//!
//! The trait is the seam between the HTTP-shaped logic (routing, auth, validation, tenant
//! isolation, reconciliation), which is unit-tested against an in-memory backend, and AWS
//! ([`crate::AwsBackend`]).

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};
use switchyard_lambda::approval::{DecisionError, DecisionRequest};

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("workflow `{0}` is not deployed")]
    NotDeployed(String),
    #[error("{0}")]
    Unavailable(String),
}

/// A run as the runs table holds it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub tenant_id: String,
    pub workflow: String,
    /// `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    pub current_step: Option<String>,
    /// Epoch milliseconds.
    pub created_at: u64,
    pub updated_at: Option<u64>,
    pub finished_at: Option<u64>,
    pub input_summary: Option<String>,
    pub output_summary: Option<String>,
    pub failure_error: Option<String>,
    pub failure_cause: Option<String>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    pub step_attempts: u64,
    pub execution_arn: Option<String>,
}

/// One attempt of one step (one map item's attempt inside a map).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StepRecord {
    pub step_key: String,
    pub step: String,
    pub item: Option<u64>,
    pub attempt: u64,
    pub agent: Option<String>,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// Epoch milliseconds.
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
    pub latency_ms: Option<u64>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    pub model: Option<String>,
    pub error_name: Option<String>,
    pub error_message: Option<String>,
}

/// An approval request as the API shows it: never its task token, and decision links only
/// while it can still be decided.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Approval {
    pub request_id: String,
    pub run_id: String,
    #[serde(skip)]
    pub tenant_id: String,
    pub workflow: String,
    pub gate: String,
    pub subject: String,
    pub summary: String,
    pub choices: Vec<String>,
    pub approvers: Vec<String>,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    /// Epoch seconds.
    pub created_at: u64,
    pub expires_at: u64,
    /// Decision → signed link; empty once decided.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    /// Whether `decided_by` is proven (a designated approver's link, an API key) or typed.
    pub approver_verified: Option<bool>,
    pub decided_at: Option<u64>,
    pub notes: Option<String>,
}

impl From<switchyard_lambda::approval::ApprovalRecord> for Approval {
    fn from(record: switchyard_lambda::approval::ApprovalRecord) -> Approval {
        let links = if record.status == "pending" {
            record.links.into_iter().collect()
        } else {
            BTreeMap::new()
        };
        Approval {
            request_id: record.request_id,
            run_id: record.run_id,
            tenant_id: record.tenant_id,
            workflow: record.workflow,
            gate: record.gate,
            subject: record.subject,
            summary: record.summary,
            choices: record.choices,
            approvers: record.approvers,
            status: record.status,
            created_at: record.created_at,
            expires_at: record.expires_at,
            links,
            decision: record.decision,
            decided_by: record.decided_by,
            approver_verified: record.approver_verified,
            decided_at: record.decided_at,
            notes: record.notes,
        }
    }
}

/// Step Functions' view of an execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Execution {
    pub status: ExecutionStatus,
    /// The output JSON text, once succeeded.
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// How a run ended by itself, to record on a run that is still `running`.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEnd {
    Succeeded { output_summary: String },
    Failed { error: String, cause: String },
}

/// One execution history event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryItem {
    pub id: i64,
    /// Epoch milliseconds.
    pub at: u64,
    /// The history event type, e.g. `TaskStateEntered`.
    pub kind: String,
    pub state: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// One CloudWatch Logs event of a Switchyard function that mentions a run.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEvent {
    /// The function, e.g. `switchyard-analyst`.
    pub function: String,
    /// Epoch milliseconds.
    pub at: u64,
    pub message: String,
}

/// Where a listing resumes: the last item returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor {
    pub id: String,
    pub created_at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<PageCursor>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<PageCursor>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub status: Option<String>,
    pub workflow: Option<String>,
}

/// The platform behind the API. Methods return `Ok(None)` / empty for what does not exist;
/// errors mean the platform itself failed.
pub trait Backend: Send + Sync {
    /// The tenant an API key (by its SHA-256 hex) belongs to.
    fn tenant_of_key(
        &self,
        key_hash: &str,
    ) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;

    /// Starts the workflow's state machine as execution `run_id`; returns its ARN.
    fn start_execution(
        &self,
        workflow: &str,
        run_id: &str,
        input: &str,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;

    /// Records a run as running (created once; the run-tracker later records the same).
    fn record_started(
        &self,
        run: &RunRecord,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    fn run(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Option<RunRecord>, BackendError>> + Send;

    /// The tenant's runs, newest first.
    fn runs(
        &self,
        tenant: &str,
        filter: &RunFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<RunRecord>, BackendError>> + Send;

    fn steps(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Vec<StepRecord>, BackendError>> + Send;

    fn approvals_of_run(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Vec<Approval>, BackendError>> + Send;

    /// The tenant's approval requests, newest first.
    fn approvals_of_tenant(
        &self,
        tenant: &str,
        status: Option<&str>,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Approval>, BackendError>> + Send;

    /// `None` if the execution does not exist (any more).
    fn execution(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<Option<Execution>, BackendError>> + Send;

    fn stop_execution(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Records how a `running` run ended; a run that already left `running` keeps its record.
    fn end_run(
        &self,
        run_id: &str,
        end: &RunEnd,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Moves a `running` run to `cancelled`; `false` if it was no longer running.
    fn cancel_run(&self, run_id: &str) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Marks a pending approval request expired (its run stopped waiting).
    /// Expires a request if it is still `from` (`pending` or `deciding`).
    fn expire_approval(
        &self,
        request_id: &str,
        from: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    fn history(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<Vec<HistoryItem>, BackendError>> + Send;

    /// Log events of Switchyard functions mentioning `run_id`, between two epoch-ms bounds.
    fn log_events(
        &self,
        run_id: &str,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<LogEvent>, BackendError>> + Send;

    /// Decides through the one decision code path, as `tenant`.
    fn decide(
        &self,
        request: &DecisionRequest,
        tenant: &str,
    ) -> impl Future<Output = Result<Approval, DecisionError>> + Send;
}
