//! What the API needs from outside the process, and the records it reads.
//!
//! The trait is the seam between the HTTP-shaped logic (routing, auth, validation, tenant
//! isolation, reconciliation), which is unit-tested against an in-memory backend, and AWS
//! ([`crate::AwsBackend`]).

use std::future::Future;

use switchyard_lambda::approval::{DecisionError, DecisionRequest};
pub use switchyard_state::store::RunFilter;
pub use switchyard_state::trace::{AttemptTrace, StepTraceRecord, TraceObject};
use switchyard_state::StateError;
pub use switchyard_state::{
    ApprovalOutcome, ApprovalRecord, ApprovalStatus, GraphRecord, Page, PageCursor, PageRequest,
    ParkedRecord, RunEnd, RunOutcome, RunRecord, RunStatus, StepRecord, StepStatus, ViewLinkRecord,
};

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("workflow `{0}` is not deployed")]
    NotDeployed(String),
    /// The deployment lacks what building graphs needs (its role for graph state machines).
    #[error("{0}")]
    GraphsUnavailable(&'static str),
    #[error(transparent)]
    Store(#[from] StateError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Waits(#[from] switchyard_lambda::waits::WaitError),
    /// An offloaded trace could not be read back (S3, or bytes that do not match).
    #[error(transparent)]
    Payload(#[from] switchyard_lambda::payload::PayloadError),
    /// Step Functions or CloudWatch Logs failed; the AWS error is the source.
    #[error("{service}: {detail}")]
    Aws {
        service: &'static str,
        detail: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
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

/// The platform behind the API. Methods return `Ok(None)` / empty for what does not exist;
/// errors mean the platform itself failed.
pub trait Backend: Send + Sync {
    /// The tenant an API key (by its SHA-256 hex) belongs to.
    fn tenant_of_key(
        &self,
        key_hash: &str,
    ) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;

    /// A run and the tenant of an API key (by its SHA-256 hex): what a status read needs
    /// before it may answer. The deployed backend reads both in one round trip.
    fn run_and_tenant_of_key(
        &self,
        run_id: &str,
        key_hash: &str,
    ) -> impl Future<Output = Result<(Option<RunRecord>, Option<String>), BackendError>> + Send
    {
        async move {
            let (run, tenant) = futures::join!(self.run(run_id), self.tenant_of_key(key_hash));
            Ok((run?, tenant?))
        }
    }

    /// The ARN execution `run_id` of the workflow's state machine has (or will have): Step
    /// Functions names an execution by its state machine and the name it is started with.
    fn execution_arn(&self, workflow: &str, run_id: &str) -> String;

    /// Starts the workflow's state machine as execution `run_id`; returns its ARN.
    fn start_execution(
        &self,
        workflow: &str,
        run_id: &str,
        input: &str,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;

    /// Makes sure the state machine of graph workflow `name` exists, creating it from
    /// `definition` (whose `${Agent…Arn}` placeholders it fills with `agents`' functions)
    /// if not; tagged with the tenant that first ran it. `Ok(true)` if this call created it.
    fn ensure_graph_machine(
        &self,
        name: &str,
        definition: &str,
        agents: &[&str],
        tenant: &str,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Whether the tenant ran graph `workflow` before.
    fn graph_known(
        &self,
        tenant: &str,
        workflow: &str,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// How many distinct graphs the tenant ran, counting no further than `up_to`.
    fn graph_count(
        &self,
        tenant: &str,
        up_to: usize,
    ) -> impl Future<Output = Result<usize, BackendError>> + Send;

    /// Records that the tenant ran a graph (once).
    fn record_graph(
        &self,
        graph: &GraphRecord,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// The tenant's record of graph `workflow` (with its definition, for run pages).
    fn graph(
        &self,
        tenant: &str,
        workflow: &str,
    ) -> impl Future<Output = Result<Option<GraphRecord>, BackendError>> + Send;

    /// Stores a new view link (its token's hash, never the token).
    fn create_view_link(
        &self,
        link: &ViewLinkRecord,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// The view link whose token hashes to `token_hash`.
    fn view_link(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<ViewLinkRecord>, BackendError>> + Send;

    /// Records a run as running (created once; the run-tracker later records the same).
    fn record_started(
        &self,
        run: &RunRecord,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    fn run(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Option<RunRecord>, BackendError>> + Send;

    /// Up to `limit` runs recorded as running, oldest first, across tenants.
    fn running_runs(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RunRecord>, BackendError>> + Send;

    /// The tenant's runs, newest first.
    fn runs(
        &self,
        tenant: &str,
        filter: &RunFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<RunRecord>, BackendError>> + Send;

    /// The tenant's runs started at or after `since_ms` (of `workflow` alone, if given),
    /// newest first: at most `limit` read, `true` when there were more.
    fn run_outcomes(
        &self,
        tenant: &str,
        since_ms: u64,
        workflow: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<RunOutcome>, bool), BackendError>> + Send;

    fn steps(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Vec<StepRecord>, BackendError>> + Send;

    /// Every attempt of `step` in the run (each map item's), with its conversation trace as
    /// stored, by step key.
    fn step_traces(
        &self,
        run_id: &str,
        step: &str,
    ) -> impl Future<Output = Result<Vec<StepTraceRecord>, BackendError>> + Send;

    /// An offloaded trace of `run_id`, read back from the payload bucket.
    fn trace_object(
        &self,
        run_id: &str,
        object: &TraceObject,
    ) -> impl Future<Output = Result<AttemptTrace, BackendError>> + Send;

    /// The tenant's attempts of `agent` started at or after `since_ms`, newest first, at most
    /// `limit`; `true` when there were more.
    fn agent_steps(
        &self,
        tenant: &str,
        agent: &str,
        since_ms: u64,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<StepRecord>, bool), BackendError>> + Send;

    fn approvals_of_run(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Vec<ApprovalRecord>, BackendError>> + Send;

    /// The tenant's approval requests, newest first.
    fn approvals_of_tenant(
        &self,
        tenant: &str,
        status: Option<ApprovalStatus>,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<ApprovalRecord>, BackendError>> + Send;

    /// The tenant's approval requests created at or after `since_ms` (of `workflow` alone,
    /// if given), newest first: at most `limit` read, `true` when there were more.
    fn approval_outcomes(
        &self,
        tenant: &str,
        since_ms: u64,
        workflow: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<ApprovalOutcome>, bool), BackendError>> + Send;

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

    /// Removes the record of a run whose execution did not start (still `running`); `false`
    /// if it is not that.
    fn discard_run(&self, run_id: &str) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Moves a `running` or `paused` run to `cancelled`; `false` if it had ended.
    fn cancel_run(&self, run_id: &str) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Moves a `running` run to `paused`; `false` if it was not running.
    fn pause_run(&self, run_id: &str) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Moves a `paused` run to `running`; `false` if it was not paused.
    fn resume_run(&self, run_id: &str) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// The steps of a paused run waiting at their boundary.
    fn parked_steps(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Vec<ParkedRecord>, BackendError>> + Send;

    /// Lets a resumed run's parked steps go on; how many there were.
    fn release_parked(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<u32, BackendError>> + Send;

    /// Ends every wait of a cancelled run whose execution was stopped (parked steps, pending
    /// gates, a gate with a rejection) so it stops wherever it waits; how many there were.
    fn end_waits(&self, run_id: &str) -> impl Future<Output = Result<u32, BackendError>> + Send;

    /// Expires a request if it is still `from` (`pending` or `deciding`): its run stopped
    /// waiting.
    fn expire_approval(
        &self,
        request_id: &str,
        from: ApprovalStatus,
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
    ) -> impl Future<Output = Result<ApprovalRecord, DecisionError>> + Send;
}
