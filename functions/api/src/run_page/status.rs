//! What each node of a run's picture shows: its state, derived from the run's step records
//! and approvals, and the colours each state is drawn in. The colours come from one function,
//! [`colours`], which the picture's style sheet and the legend are both written from.
//!
//! Nodes are keyed by step name (a parallel step's branches and a map's item step by their
//! own names, as their step records are); the start and the two ends by [`START`], [`END`]
//! and [`FAIL`], which no step can be named.

use std::collections::BTreeMap;

use switchyard_sdk::ir::{Step, StepKind, Target, Workflow};

use switchyard_state::Decision;

use super::format;
use crate::backend::{
    ApprovalRecord, ApprovalStatus, ParkedRecord, RunRecord, RunStatus, StepRecord, StepStatus,
};

pub const START: &str = "@start";
pub const END: &str = "@end";
pub const FAIL: &str = "@fail";

/// Where one node of the picture is, as a person reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeState {
    NotReached,
    Succeeded,
    /// It failed at least once and was (or is being) tried again.
    Retried,
    Failed,
    /// An approval gate waiting for a person.
    Waiting,
    /// The run is paused here.
    Paused,
    Running,
}

impl NodeState {
    /// In the legend's order.
    pub const ALL: [NodeState; 7] = [
        NodeState::NotReached,
        NodeState::Running,
        NodeState::Succeeded,
        NodeState::Retried,
        NodeState::Failed,
        NodeState::Waiting,
        NodeState::Paused,
    ];

    /// The name in class names (`st-<name>`) and in the page's JSON state.
    pub const fn name(self) -> &'static str {
        match self {
            NodeState::NotReached => "not-reached",
            NodeState::Running => "running",
            NodeState::Succeeded => "succeeded",
            NodeState::Retried => "retried",
            NodeState::Failed => "failed",
            NodeState::Waiting => "waiting",
            NodeState::Paused => "paused",
        }
    }

    /// What the legend calls it.
    pub const fn label(self) -> &'static str {
        match self {
            NodeState::NotReached => "not reached",
            NodeState::Running => "running",
            NodeState::Succeeded => "succeeded",
            NodeState::Retried => "retried",
            NodeState::Failed => "failed",
            NodeState::Waiting => "waiting for approval",
            NodeState::Paused => "paused",
        }
    }

    /// The class the picture and the table give a node or row in this state.
    pub fn class(self) -> String {
        format!("st-{}", self.name())
    }
}

/// How a state is drawn: the box's fill, its border, and the colour of its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colours {
    pub fill: &'static str,
    pub stroke: &'static str,
    pub text: &'static str,
}

/// The colour of each state: the one mapping the picture, the table and the legend use.
pub const fn colours(state: NodeState) -> Colours {
    let (fill, stroke, text) = match state {
        NodeState::NotReached => ("#f8fafc", "#cbd5e1", "#64748b"),
        NodeState::Running => ("#dbeafe", "#2563eb", "#1e3a8a"),
        NodeState::Succeeded => ("#dcfce7", "#16a34a", "#14532d"),
        NodeState::Retried => ("#ffedd5", "#ea580c", "#7c2d12"),
        NodeState::Failed => ("#fee2e2", "#dc2626", "#7f1d1d"),
        NodeState::Waiting => ("#fef3c7", "#d97706", "#78350f"),
        NodeState::Paused => ("#ede9fe", "#7c3aed", "#4c1d95"),
    };
    Colours { fill, stroke, text }
}

/// A node's state and a few words about it (`succeeded · 1.2 s`, `approved by ada`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    pub state: NodeState,
    pub detail: String,
}

impl NodeStatus {
    fn new(state: NodeState, detail: impl Into<String>) -> NodeStatus {
        NodeStatus {
            state,
            detail: detail.into(),
        }
    }

    fn not_reached() -> NodeStatus {
        NodeStatus::new(NodeState::NotReached, NodeState::NotReached.label())
    }
}

/// Whether a run status means the run may still move (`running`, or the `paused` a pause
/// leaves it in).
pub fn is_live(status: RunStatus) -> bool {
    !status.is_finished() || is_paused(status)
}

/// The `paused` status, which a paused run has.
pub fn is_paused(status: RunStatus) -> bool {
    status.as_str() == "paused"
}

/// Every node's status for one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunStates {
    nodes: BTreeMap<String, NodeStatus>,
}

impl RunStates {
    /// A node's status; a node nothing is known about has not been reached.
    pub fn get(&self, key: &str) -> NodeStatus {
        self.nodes
            .get(key)
            .cloned()
            .unwrap_or_else(NodeStatus::not_reached)
    }

    /// The states of `workflow`'s nodes in `run`, from its attempts and approvals.
    pub fn derive(
        workflow: &Workflow,
        run: &RunRecord,
        steps: &[StepRecord],
        approvals: &[ApprovalRecord],
    ) -> RunStates {
        let records = Records::new(run, steps, approvals);
        let mut nodes = BTreeMap::new();
        nodes.insert(
            START.to_owned(),
            NodeStatus::new(NodeState::Succeeded, "started"),
        );
        match run.status {
            RunStatus::Succeeded => {
                nodes.insert(
                    END.to_owned(),
                    NodeStatus::new(NodeState::Succeeded, "run succeeded"),
                );
            }
            RunStatus::Failed => {
                nodes.insert(
                    FAIL.to_owned(),
                    NodeStatus::new(NodeState::Failed, "run failed"),
                );
            }
            _ => {}
        }
        for step in &workflow.steps {
            let status = match &step.kind {
                StepKind::Task { .. } => records.attempts(&step.name),
                StepKind::Parallel { branches, .. } => {
                    let statuses: Vec<NodeStatus> =
                        branches.iter().map(|b| records.attempts(&b.name)).collect();
                    for (branch, status) in branches.iter().zip(&statuses) {
                        nodes.insert(branch.name.clone(), status.clone());
                    }
                    let done = statuses
                        .iter()
                        .filter(|s| matches!(s.state, NodeState::Succeeded | NodeState::Retried))
                        .count();
                    let state = combined(statuses.iter().map(|s| s.state));
                    NodeStatus::new(state, branch_detail(state, done, statuses.len()))
                }
                StepKind::Map { item, .. } => {
                    let status = records.items(&item.name);
                    nodes.insert(item.name.clone(), status.clone());
                    status
                }
                StepKind::Approval(_) => records.gate(&step.name),
                StepKind::Branch { .. } | StepKind::Loop { .. } => continue,
            };
            if status.state != NodeState::NotReached {
                nodes.insert(step.name.clone(), status);
            }
        }
        pass_routing_steps(workflow, &mut nodes);
        RunStates { nodes }
    }

    /// Marks the steps that wait at their boundary while the run is paused (a map's item
    /// step counts its parked items). Steps still running stay running: a pause lets them
    /// finish.
    pub fn with_parked(mut self, workflow: &Workflow, parked: &[ParkedRecord]) -> RunStates {
        for record in parked {
            let detail = match record.item {
                Some(item) => format!("paused before item {item}"),
                None => "paused before it starts".to_owned(),
            };
            // The step itself, and the map or parallel step it is part of.
            let mut names = vec![record.step.clone()];
            names.extend(workflow.steps.iter().filter_map(|step| match &step.kind {
                StepKind::Map { item, .. } if item.name == record.step => Some(step.name.clone()),
                StepKind::Parallel { branches, .. }
                    if branches.iter().any(|b| b.name == record.step) =>
                {
                    Some(step.name.clone())
                }
                _ => None,
            }));
            for name in names {
                let node = self
                    .nodes
                    .entry(name)
                    .or_insert_with(NodeStatus::not_reached);
                if !matches!(node.state, NodeState::Running | NodeState::Waiting) {
                    *node = NodeStatus::new(NodeState::Paused, detail.clone());
                }
            }
        }
        self
    }
}

/// The state of a group (a parallel step's branches, a map's items): anything in flight
/// first, then what needs attention, then what is done.
fn combined(states: impl Iterator<Item = NodeState>) -> NodeState {
    let states: Vec<NodeState> = states.collect();
    let priority = [
        NodeState::Running,
        NodeState::Paused,
        NodeState::Waiting,
        NodeState::Failed,
        NodeState::Retried,
    ];
    if let Some(first) = priority.iter().find(|p| states.contains(p)) {
        return *first;
    }
    if !states.is_empty() && states.iter().all(|s| *s == NodeState::Succeeded) {
        NodeState::Succeeded
    } else if states.contains(&NodeState::Succeeded) {
        // Some branches done, the others not started yet: the group is under way.
        NodeState::Running
    } else {
        NodeState::NotReached
    }
}

fn branch_detail(state: NodeState, done: usize, all: usize) -> String {
    match state {
        NodeState::NotReached => NodeState::NotReached.label().to_owned(),
        _ => format!("{done} of {all} branches done"),
    }
}

/// A branch or loop step leaves no record. It was passed when something it leads to ran
/// (a loop counter only through its body: it cannot be exhausted before the body ran) and
/// it was entered (it is the start, or a step that ran or a passed step leads to it).
fn pass_routing_steps(workflow: &Workflow, nodes: &mut BTreeMap<String, NodeStatus>) {
    let key = |target: Target| match target {
        Target::Step(id) => workflow.step(id).name.clone(),
        Target::End => END.to_owned(),
        Target::Fail => FAIL.to_owned(),
    };
    let routing = |target: Target| match target {
        Target::Step(id) => matches!(
            workflow.step(id).kind,
            StepKind::Branch { .. } | StepKind::Loop { .. }
        ),
        _ => false,
    };
    let onward = |step: &Step| -> Vec<Target> {
        match &step.kind {
            StepKind::Loop { next, .. } => vec![*next],
            _ => step.edges().into_iter().map(|(_, target)| target).collect(),
        }
    };
    // Which routing steps lead to something that ran, through routing steps or directly.
    let mut leads: BTreeMap<&str, bool> = BTreeMap::new();
    for _ in 0..=workflow.steps.len() {
        let mut changed = false;
        for step in workflow.steps.iter().filter(|s| is_routing(s)) {
            if leads.get(step.name.as_str()).copied().unwrap_or(false) {
                continue;
            }
            let ran = onward(step).into_iter().any(|target| {
                nodes.contains_key(&key(target))
                    || (routing(target)
                        && leads.get(key(target).as_str()).copied().unwrap_or(false))
            });
            if ran {
                leads.insert(&step.name, true);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let start = &workflow.step(workflow.start).name;
    for _ in 0..=workflow.steps.len() {
        let mut changed = false;
        for step in workflow.steps.iter().filter(|s| is_routing(s)) {
            if nodes.contains_key(&step.name)
                || !leads.get(step.name.as_str()).copied().unwrap_or(false)
            {
                continue;
            }
            let entered = &step.name == start
                || workflow.steps.iter().any(|other| {
                    nodes.contains_key(&other.name)
                        && other.edges().iter().any(|(_, t)| key(*t) == step.name)
                });
            if entered {
                nodes.insert(
                    step.name.clone(),
                    NodeStatus::new(NodeState::Succeeded, "passed"),
                );
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

fn is_routing(step: &Step) -> bool {
    matches!(step.kind, StepKind::Branch { .. } | StepKind::Loop { .. })
}

/// A run's records, indexed for the questions [`RunStates::derive`] asks.
struct Records<'a> {
    live: bool,
    steps: &'a [StepRecord],
    approvals: &'a [ApprovalRecord],
    /// When anything last started: a step attempt, or a gate's request.
    last_start_ms: u64,
}

impl<'a> Records<'a> {
    fn new(run: &RunRecord, steps: &'a [StepRecord], approvals: &'a [ApprovalRecord]) -> Self {
        let last_start_ms = steps
            .iter()
            .map(|s| s.started_at)
            .chain(approvals.iter().map(|a| a.created_at.saturating_mul(1000)))
            .max()
            .unwrap_or_default();
        Records {
            live: is_live(run.status),
            steps,
            approvals,
            last_start_ms,
        }
    }

    /// A task's (or a branch's) status from its attempts.
    fn attempts(&self, step: &str) -> NodeStatus {
        self.attempt_status(&self.latest_round(step))
    }

    /// A step's records from the run's latest entry into it: a step on a loop's cycle has
    /// a round of records for each entry, and the latest says what it is doing now.
    fn latest_round(&self, step: &str) -> Vec<&'a StepRecord> {
        let records = self.steps.iter().filter(|s| s.step == step);
        let latest = records.clone().map(|s| s.round).max().flatten();
        records.filter(|s| s.round == latest).collect()
    }

    fn attempt_status(&self, attempts: &[&StepRecord]) -> NodeStatus {
        let Some(last) = attempts.iter().max_by_key(|s| (s.attempt, s.started_at)) else {
            return NodeStatus::not_reached();
        };
        let tries = attempts.len();
        let failed_before = attempts
            .iter()
            .any(|s| s.status == StepStatus::Failed && !std::ptr::eq(*s, *last));
        let took = last
            .latency_ms
            .map(|ms| format!(" · {}", format::duration(ms)))
            .unwrap_or_default();
        match last.status {
            StepStatus::Running if !self.live => NodeStatus::new(NodeState::Failed, "stopped"),
            StepStatus::Running if tries > 1 => {
                NodeStatus::new(NodeState::Running, format!("running · attempt {tries}"))
            }
            StepStatus::Running => NodeStatus::new(NodeState::Running, "running"),
            StepStatus::Succeeded if failed_before => {
                NodeStatus::new(NodeState::Retried, format!("succeeded on attempt {tries}"))
            }
            StepStatus::Succeeded => {
                NodeStatus::new(NodeState::Succeeded, format!("succeeded{took}"))
            }
            StepStatus::Failed => {
                let error = last.error_name.as_deref().unwrap_or("error");
                // Nothing started since it failed and the run goes on: it waits to retry.
                let retrying = self.live
                    && last
                        .finished_at
                        .is_some_and(|finished| self.last_start_ms <= finished);
                if retrying {
                    NodeStatus::new(
                        NodeState::Retried,
                        format!("attempt {tries} failed ({error}); retrying"),
                    )
                } else {
                    NodeStatus::new(NodeState::Failed, format!("failed: {error}"))
                }
            }
        }
    }

    /// A map's item step: each item's attempts, counted.
    fn items(&self, step: &str) -> NodeStatus {
        let mut by_item: BTreeMap<u64, Vec<&StepRecord>> = BTreeMap::new();
        for record in self.latest_round(step) {
            by_item
                .entry(record.item.unwrap_or_default())
                .or_default()
                .push(record);
        }
        if by_item.is_empty() {
            return NodeStatus::not_reached();
        }
        let statuses: Vec<NodeStatus> = by_item
            .values()
            .map(|attempts| self.attempt_status(attempts))
            .collect();
        let done = statuses
            .iter()
            .filter(|s| matches!(s.state, NodeState::Succeeded | NodeState::Retried))
            .count();
        let state = combined(statuses.iter().map(|s| s.state));
        // How many items the map has is in its input, not in the records: say what started.
        let started = statuses.len();
        let detail = if done == started {
            format!("{done} {} done", if done == 1 { "item" } else { "items" })
        } else {
            format!("{done} of {started} started items done")
        };
        NodeStatus::new(state, detail)
    }

    /// A gate's status from its latest request.
    fn gate(&self, gate: &str) -> NodeStatus {
        let Some(request) = self
            .approvals
            .iter()
            .filter(|a| a.gate == gate)
            .max_by_key(|a| (a.created_at, a.request_id.as_str()))
        else {
            return NodeStatus::not_reached();
        };
        let by = request.decided_by.as_deref().unwrap_or("someone");
        match request.status {
            ApprovalStatus::Pending if self.live => {
                NodeStatus::new(NodeState::Waiting, "waiting for approval")
            }
            ApprovalStatus::Deciding if self.live => {
                NodeStatus::new(NodeState::Waiting, "deciding")
            }
            ApprovalStatus::Pending | ApprovalStatus::Deciding | ApprovalStatus::Expired => {
                NodeStatus::new(NodeState::Failed, "expired")
            }
            ApprovalStatus::Approved if request.auto_approved => {
                NodeStatus::new(NodeState::Succeeded, "auto-approved")
            }
            ApprovalStatus::Approved => {
                let what = request
                    .decision
                    .as_ref()
                    .filter(|d| **d != Decision::Approve)
                    .map(|d| format!("chose {d}"))
                    .unwrap_or_else(|| "approved".to_owned());
                NodeStatus::new(NodeState::Succeeded, format!("{what} by {by}"))
            }
            ApprovalStatus::Rejected => {
                NodeStatus::new(NodeState::Failed, format!("rejected by {by}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(name: &str) -> Workflow {
        switchyard_agents::link();
        let registration = switchyard_sdk::workflows()
            .into_iter()
            .find(|w| w.name == name)
            .unwrap_or_else(|| panic!("no workflow {name}"));
        (registration.definition)()
    }

    fn attempt(step: &str, attempt: u64, status: StepStatus, at: u64) -> StepRecord {
        StepRecord {
            step: step.into(),
            attempt,
            status,
            started_at: at,
            finished_at: (status != StepStatus::Running).then_some(at + 5),
            latency_ms: (status != StepStatus::Running).then_some(5),
            error_name: (status == StepStatus::Failed).then(|| "Agent.Retryable".into()),
            ..StepRecord::default()
        }
    }

    fn run(status: RunStatus) -> RunRecord {
        RunRecord {
            status,
            ..RunRecord::default()
        }
    }

    #[test]
    fn every_state_has_its_own_colours_and_legend_label() {
        let mut seen = std::collections::BTreeSet::new();
        for state in NodeState::ALL {
            let c = colours(state);
            assert!(seen.insert(c.stroke), "{state:?} shares a border colour");
            assert!(seen.insert(state.label()));
            assert_eq!(state.class(), format!("st-{}", state.name()));
        }
    }

    #[test]
    fn attempts_say_succeeded_retried_running_or_failed() {
        let flow = workflow("self-test");
        let steps = [
            attempt("flaky_step", 0, StepStatus::Failed, 10),
            attempt("flaky_step", 1, StepStatus::Succeeded, 20),
            attempt("risky", 0, StepStatus::Failed, 30),
            attempt("recovered", 0, StepStatus::Running, 40),
        ];
        let states = RunStates::derive(&flow, &run(RunStatus::Running), &steps, &[]);
        assert_eq!(states.get("flaky_step").state, NodeState::Retried);
        assert_eq!(states.get("flaky_step").detail, "succeeded on attempt 2");
        // Something started after it failed: it was caught, not retried.
        assert_eq!(states.get("risky").state, NodeState::Failed);
        assert_eq!(states.get("recovered").state, NodeState::Running);
        assert_eq!(states.get("squares").state, NodeState::NotReached);
        assert_eq!(states.get(END).state, NodeState::NotReached);
        // The latest failure, with nothing after it in a live run, waits for its retry.
        let waiting = RunStates::derive(&flow, &run(RunStatus::Running), &steps[..1], &[]);
        assert_eq!(waiting.get("flaky_step").state, NodeState::Retried);
        // A run that ended leaves nothing running.
        let ended = RunStates::derive(&flow, &run(RunStatus::Cancelled), &steps, &[]);
        assert_eq!(ended.get("recovered").state, NodeState::Failed);
        assert_eq!(ended.get("recovered").detail, "stopped");
    }

    #[test]
    fn a_looped_step_shows_its_latest_round() {
        let flow = workflow("movie-production");
        let round = |step: &str, round: u64, attempt_no: u64, status, at| StepRecord {
            round: Some(round),
            ..attempt(step, attempt_no, status, at)
        };
        // Round 0 took a retry; round 1 is on its first attempt.
        let steps = [
            round("review_story", 0, 0, StepStatus::Failed, 10),
            round("review_story", 0, 1, StepStatus::Succeeded, 20),
            round("revise_story", 1, 0, StepStatus::Succeeded, 30),
            round("review_story", 1, 0, StepStatus::Running, 40),
        ];
        let states = RunStates::derive(&flow, &run(RunStatus::Running), &steps, &[]);
        assert_eq!(states.get("review_story").state, NodeState::Running);
        assert_eq!(
            states.get("review_story").detail,
            "running",
            "not attempt 3"
        );
        let done = RunStates::derive(&flow, &run(RunStatus::Running), &steps[..3], &[]);
        assert_eq!(done.get("review_story").state, NodeState::Retried);
        assert_eq!(done.get("revise_story").state, NodeState::Succeeded);
    }

    #[test]
    fn maps_count_their_items_and_parallels_their_branches() {
        let flow = workflow("self-test");
        let item = |i: u64, status| StepRecord {
            item: Some(i),
            ..attempt("square_one", 0, status, 50 + i)
        };
        let steps = [
            attempt("flaky_step", 0, StepStatus::Succeeded, 1),
            attempt("risky", 0, StepStatus::Succeeded, 2),
            item(0, StepStatus::Succeeded),
            item(1, StepStatus::Succeeded),
            item(2, StepStatus::Running),
            attempt("total", 0, StepStatus::Succeeded, 60),
        ];
        let states = RunStates::derive(&flow, &run(RunStatus::Running), &steps, &[]);
        assert_eq!(states.get("square_one").state, NodeState::Running);
        assert_eq!(states.get("square_one").detail, "2 of 3 started items done");
        assert_eq!(states.get("totals").state, NodeState::Running);
        assert_eq!(states.get("totals").detail, "1 of 2 branches done");
        assert_eq!(states.get("total").state, NodeState::Succeeded);
        assert_eq!(states.get("max").state, NodeState::NotReached);
    }

    #[test]
    fn gates_wait_then_say_who_decided_and_routing_steps_pass() {
        let flow = workflow("gate-test");
        let mut request = ApprovalRecord {
            gate: "ask".into(),
            status: ApprovalStatus::Pending,
            ..ApprovalRecord::default()
        };
        let waiting = RunStates::derive(&flow, &run(RunStatus::Running), &[], &[request.clone()]);
        assert_eq!(waiting.get("ask").state, NodeState::Waiting);
        request.status = ApprovalStatus::Rejected;
        request.decided_by = Some("ada".into());
        let steps = [attempt("rejected", 0, StepStatus::Succeeded, 5)];
        let done = RunStates::derive(&flow, &run(RunStatus::Succeeded), &steps, &[request]);
        assert_eq!(done.get("ask").state, NodeState::Failed);
        assert_eq!(done.get("ask").detail, "rejected by ada");
        assert_eq!(done.get("rejected").state, NodeState::Succeeded);
        assert_eq!(done.get("approved").state, NodeState::NotReached);
        assert_eq!(done.get(END).state, NodeState::Succeeded);

        let routed = workflow("enterprise-coordinator");
        let steps = [
            attempt("classify", 0, StepStatus::Succeeded, 1),
            attempt("it_review", 0, StepStatus::Succeeded, 2),
        ];
        let states = RunStates::derive(&routed, &run(RunStatus::Running), &steps, &[]);
        assert_eq!(states.get("route").state, NodeState::Succeeded);
        assert_eq!(states.get("route").detail, "passed");
    }

    #[test]
    fn a_paused_runs_parked_steps_show_paused_and_its_running_ones_running() {
        let flow = workflow("pause-test");
        let mut paused = run(RunStatus::Paused);
        paused.paused_at = vec![1];
        let parked = [ParkedRecord {
            run_id: "r".into(),
            park_key: ParkedRecord::key_of("slow_square_one", Some(2)),
            step: "slow_square_one".into(),
            item: Some(2),
            tenant_id: "t".into(),
            parked_at: 2,
        }];
        let states = RunStates::derive(&flow, &paused, &[], &[]).with_parked(&flow, &parked);
        assert_eq!(states.get("slow_square_one").state, NodeState::Paused);
        assert_eq!(states.get("squares").state, NodeState::Paused);
        assert_eq!(states.get("slow_square_one").detail, "paused before item 2");
        assert_eq!(states.get("total").state, NodeState::NotReached);
    }
}
