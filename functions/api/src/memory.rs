//! An in-memory [`Backend`] for unit tests: the AWS behaviour the API relies on (conditional
//! run transitions, tenant-scoped listings newest first, the decision path's tenant check).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use switchyard_lambda::approval::{DecisionError, DecisionRequest};

use crate::backend::{
    ApprovalOutcome, ApprovalRecord, ApprovalStatus, AttemptTrace, Backend, BackendError,
    Execution, GraphRecord, HistoryItem, LogEvent, Page, PageCursor, PageRequest, ParkedRecord,
    RunEnd, RunFilter, RunOutcome, RunRecord, RunStatus, StepRecord, StepTraceRecord, TraceObject,
    ViewLinkRecord,
};
use crate::keys::hash_key;

#[derive(Default)]
pub struct State {
    pub keys: HashMap<String, String>,
    pub runs: BTreeMap<String, RunRecord>,
    pub steps: Vec<(String, StepRecord)>,
    /// Step items as the trace endpoint reads them (the record with its stored trace).
    pub step_traces: Vec<StepTraceRecord>,
    /// Offloaded traces by their key in the payload bucket.
    pub trace_objects: BTreeMap<String, AttemptTrace>,
    pub approvals: Vec<ApprovalRecord>,
    pub executions: HashMap<String, Execution>,
    pub history: HashMap<String, Vec<HistoryItem>>,
    pub logs: Vec<LogEvent>,
    /// (workflow, run id, execution input) of every start.
    pub started: Vec<(String, String, String)>,
    pub stopped: Vec<String>,
    /// Steps waiting at a paused run's boundary.
    pub parked: Vec<ParkedRecord>,
    /// Park keys of parked steps a resume let go, in order.
    pub released: Vec<String>,
    /// Runs whose waits a cancel ended, in order.
    pub waits_ended: Vec<String>,
    /// Executions described (Step Functions' `DescribeExecution`), in order.
    pub described: Vec<String>,
    pub deployed: Vec<String>,
    /// Graph state machines by workflow name: their definitions, placeholders filled.
    pub graph_machines: BTreeMap<String, String>,
    /// Graphs tenants ran, by (tenant, workflow).
    pub graphs: BTreeMap<(String, String), GraphRecord>,
    /// View links by their token's hash.
    pub view_links: BTreeMap<String, ViewLinkRecord>,
    /// Run-record writes fail (the rest of the backend answers).
    pub records_unavailable: bool,
    pub unavailable: bool,
}

#[derive(Default)]
pub struct MemoryBackend {
    state: Mutex<State>,
}

pub const KEY_A: &str = "sy_key-of-tenant-a";
pub const KEY_B: &str = "sy_key-of-tenant-b";

impl MemoryBackend {
    /// Tenants `tenant-a` and `tenant-b` with keys [`KEY_A`] and [`KEY_B`]; every seed
    /// workflow deployed.
    pub fn new() -> MemoryBackend {
        let backend = MemoryBackend::default();
        {
            let mut state = backend.state();
            state.keys.insert(hash_key(KEY_A), "tenant-a".into());
            state.keys.insert(hash_key(KEY_B), "tenant-b".into());
            state.deployed = switchyard_sdk::workflows()
                .iter()
                .map(|w| w.name.to_owned())
                .collect();
        }
        backend
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn toggle(&self, run_id: &str, from: RunStatus, to: RunStatus) -> Result<bool, BackendError> {
        let mut state = self.check()?;
        match state.runs.get_mut(run_id).filter(|r| r.status == from) {
            Some(run) => {
                run.status = to;
                match to {
                    RunStatus::Paused => run.paused_at.push(switchyard_state::now_ms()),
                    _ => run.resumed_at.push(switchyard_state::now_ms()),
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn check(&self) -> Result<MutexGuard<'_, State>, BackendError> {
        let state = self.state();
        if state.unavailable {
            return Err(BackendError::Aws {
                service: "test",
                detail: "the test says so".into(),
                source: "the test says so".into(),
            });
        }
        Ok(state)
    }
}

/// The newest `limit` of `items` at or after `since` (by `created_at`), then those `keep`
/// holds, as DynamoDB reads a window and filters what it read; `true` when there were more.
fn window_of<T, O>(
    items: impl Iterator<Item = T>,
    created_at: impl Fn(&T) -> u64,
    since: u64,
    keep: impl Fn(&T) -> bool,
    limit: usize,
    outcome: impl Fn(&T) -> O,
) -> (Vec<O>, bool) {
    let mut read: Vec<T> = items.filter(|item| created_at(item) >= since).collect();
    read.sort_by_key(|item| std::cmp::Reverse(created_at(item)));
    let more = read.len() > limit;
    read.truncate(limit);
    let kept = read.iter().filter(|item| keep(item)).map(outcome).collect();
    (kept, more)
}

fn page_of<T: Clone>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> PageCursor,
    page: &PageRequest,
) -> Page<T> {
    items.sort_by_key(|item| {
        let cursor = key(item);
        std::cmp::Reverse((cursor.created_at, cursor.id))
    });
    let start = match &page.after {
        Some(after) => items
            .iter()
            .position(|item| key(item) == *after)
            .map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let rest = &items[start..];
    let taken: Vec<T> = rest.iter().take(page.limit as usize).cloned().collect();
    let next = (rest.len() > taken.len())
        .then(|| taken.last().map(&key))
        .flatten();
    Page { items: taken, next }
}

impl Backend for MemoryBackend {
    async fn tenant_of_key(&self, key_hash: &str) -> Result<Option<String>, BackendError> {
        Ok(self.check()?.keys.get(key_hash).cloned())
    }

    async fn ensure_graph_machine(
        &self,
        name: &str,
        definition: &str,
        agents: &[&str],
        _tenant: &str,
    ) -> Result<bool, BackendError> {
        let mut state = self.check()?;
        if state.graph_machines.contains_key(name) {
            return Ok(false);
        }
        let filled = crate::request::graph::with_functions(definition, agents, "arn:function:");
        state.graph_machines.insert(name.to_owned(), filled);
        state.deployed.push(name.to_owned());
        Ok(true)
    }

    async fn graph_known(&self, tenant: &str, workflow: &str) -> Result<bool, BackendError> {
        Ok(self
            .check()?
            .graphs
            .contains_key(&(tenant.to_owned(), workflow.to_owned())))
    }

    async fn graph_count(&self, tenant: &str, up_to: usize) -> Result<usize, BackendError> {
        Ok(self
            .check()?
            .graphs
            .keys()
            .filter(|(t, _)| t == tenant)
            .count()
            .min(up_to))
    }

    async fn record_graph(&self, graph: &GraphRecord) -> Result<(), BackendError> {
        self.check()?
            .graphs
            .entry((graph.tenant_id.clone(), graph.workflow.clone()))
            .or_insert_with(|| graph.clone());
        Ok(())
    }

    async fn graph(
        &self,
        tenant: &str,
        workflow: &str,
    ) -> Result<Option<GraphRecord>, BackendError> {
        Ok(self
            .check()?
            .graphs
            .get(&(tenant.to_owned(), workflow.to_owned()))
            .cloned())
    }

    async fn create_view_link(&self, link: &ViewLinkRecord) -> Result<(), BackendError> {
        self.check()?
            .view_links
            .entry(link.token_hash.clone())
            .or_insert_with(|| link.clone());
        Ok(())
    }

    async fn view_link(&self, token_hash: &str) -> Result<Option<ViewLinkRecord>, BackendError> {
        Ok(self.check()?.view_links.get(token_hash).cloned())
    }

    fn execution_arn(&self, workflow: &str, run_id: &str) -> String {
        format!("arn:execution:{workflow}:{run_id}")
    }

    async fn start_execution(
        &self,
        workflow: &str,
        run_id: &str,
        input: &str,
    ) -> Result<String, BackendError> {
        let mut state = self.check()?;
        if !state.deployed.iter().any(|w| w == workflow) {
            return Err(BackendError::NotDeployed(workflow.to_owned()));
        }
        state
            .started
            .push((workflow.to_owned(), run_id.to_owned(), input.to_owned()));
        let arn = self.execution_arn(workflow, run_id);
        state.executions.insert(
            arn.clone(),
            Execution {
                status: crate::ExecutionStatus::Running,
                output: None,
                error: None,
                cause: None,
            },
        );
        Ok(arn)
    }

    async fn record_started(&self, run: &RunRecord) -> Result<(), BackendError> {
        let mut state = self.check()?;
        if state.records_unavailable {
            return Err(BackendError::Aws {
                service: "dynamodb",
                detail: "the test says so".into(),
                source: "the test says so".into(),
            });
        }
        // As the runs table's conditional update: a second record of the same start (a
        // budgeted run, recorded before and after its execution starts) adds its ARN.
        state
            .runs
            .entry(run.run_id.clone())
            .and_modify(|known| {
                if known.execution_arn.is_none() {
                    known.execution_arn = run.execution_arn.clone();
                }
            })
            .or_insert_with(|| run.clone());
        Ok(())
    }

    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>, BackendError> {
        Ok(self.check()?.runs.get(run_id).cloned())
    }

    async fn runs(
        &self,
        tenant: &str,
        filter: &RunFilter,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, BackendError> {
        let state = self.check()?;
        let runs = state
            .runs
            .values()
            .filter(|r| r.tenant_id == tenant)
            .filter(|r| filter.status.as_ref().is_none_or(|s| *s == r.status))
            .filter(|r| filter.workflow.as_ref().is_none_or(|w| *w == r.workflow))
            .cloned()
            .collect();
        Ok(page_of(
            runs,
            |r: &RunRecord| PageCursor {
                id: r.run_id.clone(),
                created_at: r.created_at,
            },
            page,
        ))
    }

    async fn running_runs(&self, limit: u32) -> Result<Vec<RunRecord>, BackendError> {
        let state = self.check()?;
        let mut runs: Vec<RunRecord> = state
            .runs
            .values()
            .filter(|r| r.status.is_active())
            .cloned()
            .collect();
        runs.sort_by_key(|r| r.created_at);
        runs.truncate(limit as usize);
        Ok(runs)
    }

    async fn agent_steps(
        &self,
        tenant: &str,
        agent: &str,
        since_ms: u64,
        limit: usize,
    ) -> Result<(Vec<StepRecord>, bool), BackendError> {
        let mut steps: Vec<StepRecord> = self
            .check()?
            .steps
            .iter()
            .map(|(_, step)| step)
            .filter(|s| {
                s.tenant_id == tenant
                    && s.agent.as_deref() == Some(agent)
                    && s.started_at >= since_ms
            })
            .cloned()
            .collect();
        steps.sort_by_key(|s| std::cmp::Reverse(s.started_at));
        let more = steps.len() > limit;
        steps.truncate(limit);
        Ok((steps, more))
    }

    async fn run_outcomes(
        &self,
        tenant: &str,
        since_ms: u64,
        workflow: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<RunOutcome>, bool), BackendError> {
        let state = self.check()?;
        Ok(window_of(
            state.runs.values().filter(|r| r.tenant_id == tenant),
            |r| r.created_at,
            since_ms,
            |r| workflow.is_none_or(|w| w == r.workflow),
            limit,
            |r| RunOutcome::from(*r),
        ))
    }

    async fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>, BackendError> {
        Ok(self
            .check()?
            .steps
            .iter()
            .filter(|(run, _)| run == run_id)
            .map(|(_, step)| step.clone())
            .collect())
    }

    async fn step_traces(
        &self,
        run_id: &str,
        step: &str,
    ) -> Result<Vec<StepTraceRecord>, BackendError> {
        let mut records: Vec<StepTraceRecord> = self
            .check()?
            .step_traces
            .iter()
            .filter(|r| r.run_id == run_id && r.step == step)
            .cloned()
            .collect();
        records.sort_by(|a, b| a.step_key.cmp(&b.step_key));
        Ok(records)
    }

    async fn trace_object(
        &self,
        run_id: &str,
        object: &TraceObject,
    ) -> Result<AttemptTrace, BackendError> {
        let state = self.check()?;
        match state.trace_objects.get(&object.key) {
            Some(trace) if object.trusted_for(run_id) => Ok(trace.clone()),
            _ => Err(BackendError::Payload(
                switchyard_lambda::payload::PayloadError::BadReference(format!(
                    "no trace at {}",
                    object.key
                )),
            )),
        }
    }

    async fn approvals_of_run(&self, run_id: &str) -> Result<Vec<ApprovalRecord>, BackendError> {
        Ok(self
            .check()?
            .approvals
            .iter()
            .filter(|a| a.run_id == run_id)
            .cloned()
            .collect())
    }

    async fn approvals_of_tenant(
        &self,
        tenant: &str,
        status: Option<ApprovalStatus>,
        page: &PageRequest,
    ) -> Result<Page<ApprovalRecord>, BackendError> {
        let state = self.check()?;
        let approvals = state
            .approvals
            .iter()
            .filter(|a| a.tenant_id == tenant)
            .filter(|a| status.is_none_or(|s| s == a.status))
            .cloned()
            .collect();
        Ok(page_of(
            approvals,
            |a: &ApprovalRecord| PageCursor {
                id: a.request_id.clone(),
                created_at: a.created_at,
            },
            page,
        ))
    }

    async fn approval_outcomes(
        &self,
        tenant: &str,
        since_ms: u64,
        workflow: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ApprovalOutcome>, bool), BackendError> {
        let state = self.check()?;
        Ok(window_of(
            state.approvals.iter().filter(|a| a.tenant_id == tenant),
            |a| a.created_at,
            since_ms / 1000,
            |a| workflow.is_none_or(|w| w == a.workflow),
            limit,
            |a| ApprovalOutcome::from(*a),
        ))
    }

    async fn execution(&self, execution_arn: &str) -> Result<Option<Execution>, BackendError> {
        let mut state = self.check()?;
        state.described.push(execution_arn.to_owned());
        Ok(state.executions.get(execution_arn).cloned())
    }

    async fn stop_execution(&self, execution_arn: &str) -> Result<(), BackendError> {
        let mut state = self.check()?;
        state.stopped.push(execution_arn.to_owned());
        if let Some(execution) = state.executions.get_mut(execution_arn) {
            execution.status = crate::ExecutionStatus::Aborted;
        }
        Ok(())
    }

    async fn end_run(&self, run_id: &str, end: &RunEnd) -> Result<(), BackendError> {
        let mut state = self.check()?;
        if let Some(run) = state.runs.get_mut(run_id).filter(|r| r.status.is_active()) {
            run.status = end.status();
            match end {
                RunEnd::Succeeded {
                    output_summary,
                    output,
                } => {
                    run.output_summary = Some(output_summary.clone());
                    run.output = output.clone();
                }
                RunEnd::Failed { error, cause } => {
                    run.failure_error = Some(error.clone());
                    run.failure_cause = Some(cause.clone());
                }
                RunEnd::Cancelled => {}
            }
        }
        Ok(())
    }

    async fn discard_run(&self, run_id: &str) -> Result<bool, BackendError> {
        let mut state = self.check()?;
        let unstarted = state
            .runs
            .get(run_id)
            .is_some_and(|r| r.status == RunStatus::Running);
        if unstarted {
            state.runs.remove(run_id);
        }
        Ok(unstarted)
    }

    async fn cancel_run(&self, run_id: &str) -> Result<bool, BackendError> {
        let mut state = self.check()?;
        match state.runs.get_mut(run_id).filter(|r| r.status.is_active()) {
            Some(run) => {
                run.status = RunStatus::Cancelled;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn pause_run(&self, run_id: &str) -> Result<bool, BackendError> {
        self.toggle(run_id, RunStatus::Running, RunStatus::Paused)
    }

    async fn resume_run(&self, run_id: &str) -> Result<bool, BackendError> {
        self.toggle(run_id, RunStatus::Paused, RunStatus::Running)
    }

    async fn parked_steps(&self, run_id: &str) -> Result<Vec<ParkedRecord>, BackendError> {
        let state = self.check()?;
        Ok(state
            .parked
            .iter()
            .filter(|p| p.run_id == run_id)
            .cloned()
            .collect())
    }

    async fn release_parked(&self, run_id: &str) -> Result<u32, BackendError> {
        let mut state = self.check()?;
        let (released, kept): (Vec<ParkedRecord>, Vec<ParkedRecord>) =
            std::mem::take(&mut state.parked)
                .into_iter()
                .partition(|p| p.run_id == run_id);
        state.parked = kept;
        state
            .released
            .extend(released.iter().map(|p| p.park_key.clone()));
        Ok(released.len() as u32)
    }

    async fn end_waits(&self, run_id: &str) -> Result<u32, BackendError> {
        let mut state = self.check()?;
        let before = state.parked.len();
        state.parked.retain(|p| p.run_id != run_id);
        let parked = (before - state.parked.len()) as u32;
        let gates = state
            .approvals
            .iter()
            .filter(|a| a.run_id == run_id && a.status == ApprovalStatus::Pending)
            .count() as u32;
        state.waits_ended.push(run_id.to_owned());
        Ok(parked + gates)
    }

    async fn expire_approval(
        &self,
        request_id: &str,
        from: ApprovalStatus,
    ) -> Result<(), BackendError> {
        let mut state = self.check()?;
        for approval in state.approvals.iter_mut() {
            if approval.request_id == request_id && approval.status == from {
                approval.status = ApprovalStatus::Expired;
                approval.links.clear();
            }
        }
        Ok(())
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryItem>, BackendError> {
        Ok(self
            .check()?
            .history
            .get(execution_arn)
            .cloned()
            .unwrap_or_default())
    }

    async fn log_events(
        &self,
        run_id: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<LogEvent>, BackendError> {
        Ok(self
            .check()?
            .logs
            .iter()
            .filter(|e| e.message.contains(run_id) && (from..=to).contains(&e.at))
            .cloned()
            .collect())
    }

    async fn decide(
        &self,
        request: &DecisionRequest,
        tenant: &str,
    ) -> Result<ApprovalRecord, DecisionError> {
        let mut state = self.state();
        let approval = state
            .approvals
            .iter_mut()
            .find(|a| a.request_id == request.request_id && a.tenant_id == tenant)
            .ok_or_else(|| DecisionError::NotFound(request.request_id.clone()))?;
        if approval.status != ApprovalStatus::Pending {
            return Err(DecisionError::AlreadyDecided {
                status: approval.status,
                by: approval.decided_by.clone().unwrap_or_default(),
                at: approval.decided_at.unwrap_or_default(),
            });
        }
        approval.status = request.decision.outcome();
        approval.decision = Some(request.decision.clone());
        approval.decided_by = Some(request.approver.name().to_owned());
        approval.approver_verified = Some(request.approver.is_verified());
        approval.links.clear();
        Ok(approval.clone())
    }
}
