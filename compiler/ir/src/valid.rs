//! Semantic checks over a [`Workflow`]. The macros run these at `cargo build` (mapping each
//! [`Locus`] back to a span); the compiler runs them again before emitting anything.

use std::collections::{HashMap, HashSet};

use crate::graph::{AgentCall, Retry, StepId, StepKind, Target, Workflow};
use crate::{MAX_FUNCTION_NAME_LEN, MAX_NAME_LEN, RESOURCE_PREFIX};

/// Lambda's maximum function timeout.
pub const MAX_AGENT_TIMEOUT_SECONDS: u32 = 900;
/// A Standard workflow runs for at most a year; a gate cannot wait longer.
pub const MAX_APPROVAL_TIMEOUT_SECONDS: u32 = 31_536_000;
/// Step Functions' ceiling on retry intervals, attempts and delays.
pub const MAX_RETRY_VALUE: u32 = 99_999_999;
/// Characters Step Functions refuses in state and state machine names.
const FORBIDDEN_NAME_CHARS: &str = " <>{}[]?*\"#%\\^|~`$&,;:/";

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct ValidationError {
    pub locus: Locus,
    pub kind: ErrorKind,
}

/// Where in the declaration an error belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Locus {
    Workflow,
    /// The step's name.
    Step(StepId),
    /// One setting of a step.
    Setting(StepId, Setting),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Setting {
    Timeout,
    Heartbeat,
    MaxConcurrency,
    MaxItems,
    MaxIterations,
    Choices,
    /// The `index`th branch of a parallel step (or the item of a map step).
    Branch(usize),
    /// A key of the `index`th retry policy.
    Retry(usize, RetryKey),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetryKey {
    Errors,
    Interval,
    MaxAttempts,
    Backoff,
    MaxDelay,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    #[error("workflow has no steps")]
    Empty,
    #[error("name `{name}` is {len} characters long; Step Functions allows at most {max}")]
    NameTooLong {
        name: String,
        len: usize,
        max: usize,
    },
    #[error("name `{name}` contains `{ch}`, which Step Functions does not allow in names")]
    NameCharacter { name: String, ch: char },
    #[error("duplicate step name `{0}`")]
    DuplicateName(String),
    #[error("step `{0}` is unreachable from the start step")]
    Unreachable(String),
    #[error("step `{0}` never terminates: no path from it reaches `end` or `fail`")]
    NeverTerminates(String),
    #[error("loop without a bound: the cycle {} has no `loop(max = N)` step", .0.join(" -> "))]
    UnboundedLoop(Vec<String>),
    #[error("a `branch` needs a `_ => target` arm, or Step Functions fails the run with States.NoChoiceMatched when no arm holds")]
    MissingDefault,
    #[error("`{step}` has no arms")]
    NoArms { step: String },
    #[error("`when` guards only task, parallel, map and approval steps")]
    GuardOnRouting,
    #[error("{what} must be between {min} and {max}, got {value}")]
    OutOfRange {
        what: &'static str,
        value: String,
        min: String,
        max: String,
    },
    #[error("heartbeat ({heartbeat}s) must be shorter than the timeout ({timeout}s)")]
    HeartbeatNotShorter { heartbeat: u32, timeout: u32 },
    #[error("`States.ALL` must be the only error of the last retry policy")]
    StatesAllNotLast,
    #[error("retry policy lists no error names; use `on = [\"States.ALL\"]` to retry everything")]
    RetryWithoutErrors,
    #[error("error name must not be empty")]
    EmptyErrorName,
    #[error("duplicate choice `{0}`")]
    DuplicateChoice(String),
    #[error("choice `{0}` is reserved: every gate can be rejected")]
    ReservedChoice(String),
    #[error("the workflow's state machine name `{name}` is {len} characters; with the `{RESOURCE_PREFIX}` prefix it must fit in {max}")]
    WorkflowNameTooLong {
        name: String,
        len: usize,
        max: usize,
    },
    #[error("agent name `{name}` makes the Lambda function name `{RESOURCE_PREFIX}{name}` longer than {MAX_FUNCTION_NAME_LEN} characters")]
    FunctionNameTooLong { name: String },
}

/// Check a whole workflow, collecting every error rather than stopping at the first.
pub fn validate(workflow: &Workflow) -> Result<(), Vec<ValidationError>> {
    let mut errors = Vec::new();
    let mut report = |locus, kind| errors.push(ValidationError { locus, kind });
    if workflow.steps.is_empty() {
        report(Locus::Workflow, ErrorKind::Empty);
        return Err(errors);
    }
    check_workflow_name(workflow, &mut report);
    check_names(workflow, &mut report);
    for id in workflow.step_ids() {
        check_settings(workflow, id, &mut report);
    }
    check_graph(workflow, &mut report);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_workflow_name(workflow: &Workflow, report: &mut impl FnMut(Locus, ErrorKind)) {
    let max = MAX_NAME_LEN - RESOURCE_PREFIX.len();
    if workflow.name.len() > max {
        report(
            Locus::Workflow,
            ErrorKind::WorkflowNameTooLong {
                name: workflow.name.clone(),
                len: workflow.name.len(),
                max: MAX_NAME_LEN,
            },
        );
    }
}

fn check_names(workflow: &Workflow, report: &mut impl FnMut(Locus, ErrorKind)) {
    let mut seen = HashSet::new();
    for id in workflow.step_ids() {
        let step = workflow.step(id);
        let mut own = vec![(Locus::Step(id), step.name.clone())];
        match &step.kind {
            StepKind::Parallel { branches, .. } => own.extend(
                branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (Locus::Setting(id, Setting::Branch(i)), b.name.clone())),
            ),
            StepKind::Map { item, .. } => {
                own.push((Locus::Setting(id, Setting::Branch(0)), item.name.clone()))
            }
            _ => {}
        }
        for (locus, name) in own {
            if !seen.insert(name.clone()) {
                report(locus, ErrorKind::DuplicateName(name.clone()));
            }
            check_name(&name, locus, report);
        }
        for derived in step.derived_state_names() {
            check_name(&derived, Locus::Step(id), report);
        }
        for call in step_calls(&step.kind) {
            if RESOURCE_PREFIX.len() + call.agent.len() > MAX_FUNCTION_NAME_LEN {
                report(
                    Locus::Step(id),
                    ErrorKind::FunctionNameTooLong {
                        name: call.agent.clone(),
                    },
                );
            }
        }
    }
}

fn check_name(name: &str, locus: Locus, report: &mut impl FnMut(Locus, ErrorKind)) {
    if name.len() > MAX_NAME_LEN {
        report(
            locus,
            ErrorKind::NameTooLong {
                name: name.to_owned(),
                len: name.len(),
                max: MAX_NAME_LEN,
            },
        );
    }
    if let Some(ch) = name
        .chars()
        .find(|c| c.is_control() || FORBIDDEN_NAME_CHARS.contains(*c))
    {
        report(
            locus,
            ErrorKind::NameCharacter {
                name: name.to_owned(),
                ch,
            },
        );
    }
}

fn step_calls(kind: &StepKind) -> Vec<&AgentCall> {
    match kind {
        StepKind::Task { call, .. } => vec![call],
        StepKind::Parallel { branches, .. } => branches.iter().map(|b| &b.call).collect(),
        StepKind::Map { item, .. } => vec![&item.call],
        _ => Vec::new(),
    }
}

fn range<T: PartialOrd + ToString>(
    what: &'static str,
    value: T,
    min: T,
    max: T,
) -> Option<ErrorKind> {
    (value < min || value > max).then(|| ErrorKind::OutOfRange {
        what,
        value: value.to_string(),
        min: min.to_string(),
        max: max.to_string(),
    })
}

fn check_settings(workflow: &Workflow, id: StepId, report: &mut impl FnMut(Locus, ErrorKind)) {
    let step = workflow.step(id);
    let at = |setting| Locus::Setting(id, setting);
    if step.when.is_some() && matches!(step.kind, StepKind::Branch { .. } | StepKind::Loop { .. }) {
        report(Locus::Step(id), ErrorKind::GuardOnRouting);
    }
    for call in step_calls(&step.kind) {
        if let Some(timeout) = call.timeout_seconds {
            if let Some(e) = range(
                "agent timeout (seconds)",
                timeout,
                1,
                MAX_AGENT_TIMEOUT_SECONDS,
            ) {
                report(at(Setting::Timeout), e);
            }
        }
        check_retries(&call.retry, id, report);
    }
    match &step.kind {
        StepKind::Map {
            max_items,
            max_concurrency,
            ..
        } => {
            if let Some(e) = range("max_concurrency", *max_concurrency, 0, 10_000) {
                report(at(Setting::MaxConcurrency), e);
            }
            if let Some(e) = max_items.and_then(|n| range("max_items", n, 1, 100_000)) {
                report(at(Setting::MaxItems), e);
            }
        }
        StepKind::Loop { max_iterations, .. } => {
            if let Some(e) = range("loop max", *max_iterations, 1, 1_000) {
                report(at(Setting::MaxIterations), e);
            }
        }
        StepKind::Branch {
            arms,
            default,
            exhaustive_enum,
        } => {
            if arms.is_empty() {
                report(
                    Locus::Step(id),
                    ErrorKind::NoArms {
                        step: step.name.clone(),
                    },
                );
            } else if default.is_none() && exhaustive_enum.is_none() {
                report(Locus::Step(id), ErrorKind::MissingDefault);
            }
        }
        StepKind::Approval(gate) => {
            if let Some(e) = range(
                "approval timeout (seconds)",
                gate.timeout_seconds,
                1,
                MAX_APPROVAL_TIMEOUT_SECONDS,
            ) {
                report(at(Setting::Timeout), e);
            }
            if let Some(heartbeat) = gate.heartbeat_seconds {
                if heartbeat == 0 || heartbeat >= gate.timeout_seconds {
                    report(
                        at(Setting::Heartbeat),
                        ErrorKind::HeartbeatNotShorter {
                            heartbeat,
                            timeout: gate.timeout_seconds,
                        },
                    );
                }
            }
            let mut seen = HashSet::new();
            for choice in &gate.choices {
                if choice == "reject" {
                    report(
                        at(Setting::Choices),
                        ErrorKind::ReservedChoice(choice.clone()),
                    );
                } else if !seen.insert(choice) {
                    report(
                        at(Setting::Choices),
                        ErrorKind::DuplicateChoice(choice.clone()),
                    );
                }
            }
        }
        StepKind::Task { .. } | StepKind::Parallel { .. } => {}
    }
}

fn check_retries(retries: &[Retry], id: StepId, report: &mut impl FnMut(Locus, ErrorKind)) {
    for (i, retry) in retries.iter().enumerate() {
        let at = |key| Locus::Setting(id, Setting::Retry(i, key));
        if retry.errors.is_empty() {
            report(at(RetryKey::Errors), ErrorKind::RetryWithoutErrors);
        }
        if retry.errors.iter().any(String::is_empty) {
            report(at(RetryKey::Errors), ErrorKind::EmptyErrorName);
        }
        let has_all = retry.errors.iter().any(|e| e == "States.ALL");
        if has_all && (retry.errors.len() > 1 || i + 1 != retries.len()) {
            report(at(RetryKey::Errors), ErrorKind::StatesAllNotLast);
        }
        let checks = [
            (
                RetryKey::Interval,
                range(
                    "retry interval (seconds)",
                    retry.interval_seconds,
                    1,
                    MAX_RETRY_VALUE,
                ),
            ),
            (
                RetryKey::MaxAttempts,
                range("retry max_attempts", retry.max_attempts, 0, MAX_RETRY_VALUE),
            ),
            (
                RetryKey::MaxDelay,
                retry
                    .max_delay_seconds
                    .and_then(|d| range("retry max_delay (seconds)", d, 1, MAX_RETRY_VALUE)),
            ),
        ];
        for (key, error) in checks {
            if let Some(error) = error {
                report(at(key), error);
            }
        }
        if !(retry.backoff_rate >= 1.0 && retry.backoff_rate <= 1_000.0) {
            report(
                at(RetryKey::Backoff),
                ErrorKind::OutOfRange {
                    what: "retry backoff",
                    value: retry.backoff_rate.to_string(),
                    min: "1.0".into(),
                    max: "1000.0".into(),
                },
            );
        }
    }
}

/// Successor steps of `id` (targets `end`/`fail` are not steps).
fn successors(workflow: &Workflow, id: StepId) -> Vec<StepId> {
    workflow
        .step(id)
        .edges()
        .into_iter()
        .filter_map(|(_, target)| match target {
            Target::Step(next) => Some(next),
            Target::End | Target::Fail => None,
        })
        .collect()
}

fn check_graph(workflow: &Workflow, report: &mut impl FnMut(Locus, ErrorKind)) {
    let n = workflow.steps.len();
    // Reachability from the start.
    let mut reachable = vec![false; n];
    let mut stack = vec![workflow.start];
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut reachable[id.index()], true) {
            continue;
        }
        stack.extend(successors(workflow, id));
    }
    for id in workflow.step_ids().filter(|id| !reachable[id.index()]) {
        report(
            Locus::Step(id),
            ErrorKind::Unreachable(workflow.step(id).name.clone()),
        );
    }

    // Termination: walk backwards from the steps that have an edge to `end` or `fail`.
    let mut predecessors: HashMap<StepId, Vec<StepId>> = HashMap::new();
    for id in workflow.step_ids() {
        for next in successors(workflow, id) {
            predecessors.entry(next).or_default().push(id);
        }
    }
    let mut terminates = vec![false; n];
    let mut stack: Vec<StepId> = workflow
        .step_ids()
        .filter(|id| {
            workflow
                .step(*id)
                .edges()
                .iter()
                .any(|(_, t)| matches!(t, Target::End | Target::Fail))
        })
        .collect();
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut terminates[id.index()], true) {
            continue;
        }
        stack.extend(predecessors.get(&id).into_iter().flatten().copied());
    }
    for id in workflow
        .step_ids()
        .filter(|id| reachable[id.index()] && !terminates[id.index()])
    {
        report(
            Locus::Step(id),
            ErrorKind::NeverTerminates(workflow.step(id).name.clone()),
        );
    }

    // Every cycle must pass through a loop counter: with the counters removed the graph
    // must be acyclic.
    for cycle in cycles_without_counter(workflow) {
        let names = cycle
            .iter()
            .chain(cycle.first())
            .map(|id| workflow.step(*id).name.clone())
            .collect();
        report(Locus::Step(cycle[0]), ErrorKind::UnboundedLoop(names));
    }
}

/// Cycles that do not pass through a counted loop iteration: the graph without each loop
/// counter's `next` edge (its `exhausted` edge stays: a cycle through it is unbounded).
fn cycles_without_counter(workflow: &Workflow) -> Vec<Vec<StepId>> {
    let successors = |id: StepId| -> Vec<StepId> {
        match &workflow.step(id).kind {
            StepKind::Loop { exhausted, .. } => match exhausted {
                Target::Step(next) => vec![*next],
                Target::End | Target::Fail => Vec::new(),
            },
            _ => successors(workflow, id),
        }
    };
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; workflow.steps.len()];
    let mut cycles = Vec::new();
    let mut in_reported_cycle = HashSet::new();
    for root in workflow.step_ids() {
        if mark[root.index()] != Mark::New {
            continue;
        }
        let mut path: Vec<(StepId, Vec<StepId>)> = Vec::new();
        mark[root.index()] = Mark::OnPath;
        path.push((root, successors(root)));
        while let Some((_, pending)) = path.last_mut() {
            match pending.pop() {
                Some(next) => match mark[next.index()] {
                    Mark::New => {
                        mark[next.index()] = Mark::OnPath;
                        path.push((next, successors(next)));
                    }
                    Mark::OnPath => {
                        let start = path.iter().position(|(id, _)| *id == next).unwrap_or(0);
                        let cycle: Vec<StepId> = path[start..].iter().map(|(id, _)| *id).collect();
                        if cycle.iter().all(|id| in_reported_cycle.insert(*id)) {
                            cycles.push(cycle);
                        }
                    }
                    Mark::Done => {}
                },
                None => {
                    let (done, _) = path.pop().expect("path is not empty here");
                    mark[done.index()] = Mark::Done;
                }
            }
        }
    }
    cycles
}
