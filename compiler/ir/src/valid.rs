//! Semantic checks over a [`Workflow`]. The macros run these at `cargo build` (mapping each
//! [`Locus`] back to a span); the compiler runs them again before emitting anything.

use std::collections::{HashMap, HashSet};

use strsim::levenshtein;

use crate::analysis::{estimate, MAX_HISTORY_EVENTS};
use crate::graph::{
    AgentCall, Arm, BudgetProblem, CompareOp, Condition, FieldPath, Literal, Retry, StepId,
    StepKind, SummaryField, Target, Workflow,
};
use crate::{
    MAX_DEFINITION_BYTES, MAX_FUNCTION_NAME_LEN, MAX_NAME_LEN, PLATFORM_STATES, RESOURCE_PREFIX,
};

/// Lambda's maximum function timeout.
pub const MAX_AGENT_TIMEOUT_SECONDS: u32 = 900;
/// A Standard workflow runs for at most a year; a gate cannot wait longer.
pub const MAX_APPROVAL_TIMEOUT_SECONDS: u32 = 31_536_000;
/// Step Functions' ceiling on retry intervals, attempts and delays.
pub const MAX_RETRY_VALUE: u32 = 99_999_999;
/// Step Functions' ceiling on `MaxDelaySeconds` (a year and a day).
pub const MAX_RETRY_DELAY_SECONDS: u32 = 31_622_400;
/// The most fields a gate's summary shows: a summary is what a person reads first.
pub const MAX_SUMMARY_FIELDS: usize = 12;
/// The longest label of a summary field, in characters.
pub const MAX_SUMMARY_LABEL_CHARS: usize = 64;

/// Errors an agent task can raise: the agents' own (`AgentError`'s names, its model's
/// included), Lambda's and the Step Functions errors a Lambda task state can see.
/// `States.ALL` matches all of them.
const TASK_ERROR_NAMES: &[&str] = &[
    "States.ALL",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.DataLimitExceeded",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "Agent.Retryable",
    "Agent.Permanent",
    "Agent.InvalidInput",
    "Model.InvalidOutput",
    BUDGET_EXCEEDED,
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ResourceNotReadyException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
    "Runtime.ExitError",
];

/// What an agent raises when its run's budget cannot pay for a model exchange. A retry
/// fails the same way (nothing adds to a budget), so a retry policy may not list it; a
/// `.catch` may.
pub const BUDGET_EXCEEDED: &str = "Budget.Exceeded";

/// Names Step Functions defines that an agent task never raises, with why.
const NEVER_RAISED: &[(&str, &str)] = &[
    (
        "States.Runtime",
        "Step Functions never retries or catches it: it always fails the run",
    ),
    ("States.HeartbeatTimeout", "agent tasks send no heartbeats"),
    (
        "States.BranchFailed",
        "only parallel and map states raise it, and they take no `.retry`/`.catch`",
    ),
    ("States.NoChoiceMatched", "only choice states raise it"),
    (
        "States.IntrinsicFailure",
        "agent tasks call no intrinsic functions",
    ),
    (
        "States.ExceedToleratedFailureThreshold",
        "only distributed maps raise it",
    ),
    ("States.ItemReaderFailed", "only distributed maps raise it"),
    (
        "States.ResultWriterFailed",
        "only distributed maps raise it",
    ),
];

/// Every error name `.retry(on = ...)` and `.catch(on = ...)` accept.
pub fn known_error_names() -> &'static [&'static str] {
    TASK_ERROR_NAMES
}

/// The key AWS names collide on: CloudFormation logical ids and substitutions keep only
/// letters and digits, case-folded (`score_lead` and `scoreLead` are one).
pub fn resource_key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether an agent's name makes valid, unique AWS names: the Lambda function
/// `switchyard-<name>`, the logical id and the substitution variable.
pub fn check_agent_name(name: &str) -> Vec<ErrorKind> {
    let mut errors = Vec::new();
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        errors.push(ErrorKind::AgentNameCharacter {
            name: name.to_owned(),
            ch,
        });
    } else if resource_key(name).is_empty() {
        errors.push(ErrorKind::AgentNameCharacter {
            name: name.to_owned(),
            ch: '_',
        });
    }
    if RESOURCE_PREFIX.len() + name.len() > MAX_FUNCTION_NAME_LEN {
        errors.push(ErrorKind::FunctionNameTooLong {
            name: name.to_owned(),
        });
    }
    // The platform's own functions: no agent may deploy under their names.
    if let Some(platform) = switchyard_state::schema::PlatformFunction::ALL
        .into_iter()
        .find(|p| resource_key(p.as_str()) == resource_key(name))
    {
        errors.push(ErrorKind::ReservedAgentName {
            name: name.to_owned(),
            platform: platform.as_str(),
        });
    }
    errors
}

/// The known name closest to `name`, if it is a plausible typo.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (levenshtein(&name.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

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
    /// The error names of `.catch(on = ...)`.
    CatchErrors,
    /// The condition of the `index`th arm of a branch.
    Arm(usize),
    /// The `index`th field of a gate's summary.
    Summary(usize),
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
    #[error("`{0}` is the name of a state Switchyard adds to definitions; pick another name")]
    ReservedName(String),
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
    #[error("agent name `{name}` cannot name AWS resources: Lambda functions and CloudFormation ids take ASCII letters, digits and `_`, not `{ch}`")]
    AgentNameCharacter { name: String, ch: char },
    #[error("agent name `{name}` would deploy as the platform's own `{platform}` function; rename the agent")]
    ReservedAgentName {
        name: String,
        platform: &'static str,
    },
    #[error("workflow name `{name}` cannot name AWS resources: state machines and CloudFormation ids take ASCII letters and digits, not `{ch}`")]
    WorkflowNameCharacter { name: String, ch: char },
    #[error("no agent or Step Functions raises `{name}` in a task{}", .suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| "; agents raise `Agent.Retryable`, `Agent.Permanent`, `Agent.InvalidInput`, `Model.InvalidOutput`, `Budget.Exceeded`".to_owned()))]
    UnknownErrorName {
        name: String,
        suggestion: Option<String>,
    },
    #[error("`{name}` never reaches this policy: {why}")]
    ErrorNeverRaised { name: String, why: &'static str },
    #[error("retrying `{BUDGET_EXCEEDED}` fails the same way: a run's budget only shrinks; catch it with `.catch(on = [\"{BUDGET_EXCEEDED}\"], then = ...)` instead")]
    RetryBudgetExceeded,
    #[error("invalid budget: {0}")]
    InvalidBudget(BudgetProblem),
    #[error("`States.ALL` must be alone in a `.catch(on = ...)`: it already matches every error")]
    StatesAllNotAlone,
    #[error("`heartbeat` on an approval gate is refused: nothing sends heartbeats while a person decides, so the gate would expire after {0} seconds; use `timeout` alone")]
    HeartbeatUnsupported(u32),
    #[error("a gate's summary shows at most {MAX_SUMMARY_FIELDS} fields, and this one lists {0}: keep what decides the question (the page shows the whole input below it)")]
    TooManySummaryFields(usize),
    #[error("a summary label must not be empty")]
    EmptySummaryLabel,
    #[error("summary label `{label}` is {len} characters long; at most {MAX_SUMMARY_LABEL_CHARS}")]
    SummaryLabelTooLong { label: String, len: usize },
    #[error(
        "summary label `{0}` contains a control character (a line break?); labels are one line"
    )]
    SummaryLabelCharacter(String),
    #[error("two summary fields are labelled `{0}`; label one of them: `path as \"...\"`")]
    DuplicateSummaryLabel(String),
    #[error("this arm is never taken: {reason}")]
    ShadowedArm { reason: String },
    #[error("the definition is {bytes} bytes; Step Functions accepts at most {MAX_DEFINITION_BYTES} (split the workflow or shorten it)")]
    DefinitionTooLarge { bytes: usize },
    #[error("a run may take {events} history events; Step Functions stops a run at {MAX_HISTORY_EVENTS} (lower loop bounds or map max_items)")]
    HistoryBudget { events: u64 },
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
    if let Some(budget) = &workflow.budget {
        for problem in budget.problems() {
            report(Locus::Workflow, ErrorKind::InvalidBudget(problem));
        }
    }
    check_names(workflow, &mut report);
    for id in workflow.step_ids() {
        check_settings(workflow, id, &mut report);
    }
    check_graph(workflow, &mut report);
    if errors.is_empty() {
        // The estimate walks the graph, which must be sound (bounded, terminating) first.
        let events = estimate(workflow).history_events;
        if events > MAX_HISTORY_EVENTS {
            errors.push(ValidationError {
                locus: Locus::Workflow,
                kind: ErrorKind::HistoryBudget { events },
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_workflow_name(workflow: &Workflow, report: &mut impl FnMut(Locus, ErrorKind)) {
    if let Some(ch) = workflow
        .name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        report(
            Locus::Workflow,
            ErrorKind::WorkflowNameCharacter {
                name: workflow.name.clone(),
                ch,
            },
        );
    }
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
        let mut refused = false;
        for (locus, name) in own {
            let mut count = |locus, error| {
                refused = true;
                report(locus, error);
            };
            if PLATFORM_STATES.contains(&name.as_str()) {
                count(locus, ErrorKind::ReservedName(name.clone()));
            } else if !seen.insert(name.clone()) {
                count(locus, ErrorKind::DuplicateName(name.clone()));
            }
            check_name(&name, locus, &mut count);
        }
        // The states the compiler adds for a step: not reported again for a name that was.
        if !refused {
            // One state may serve several of the step's edges (two arms that fail).
            let derived: std::collections::BTreeSet<String> =
                step.derived_state_names().into_iter().collect();
            for derived in derived {
                // Nor may they take a declared step's name (a run-time graph's node ids
                // may contain `-`).
                if PLATFORM_STATES.contains(&derived.as_str()) {
                    report(Locus::Step(id), ErrorKind::ReservedName(derived.clone()));
                } else if !seen.insert(derived.clone()) {
                    report(Locus::Step(id), ErrorKind::DuplicateName(derived.clone()));
                }
                check_name(&derived, Locus::Step(id), report);
            }
        }
        for call in step_calls(&step.kind) {
            for error in check_agent_name(&call.agent) {
                report(Locus::Step(id), error);
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
    if let StepKind::Task {
        catch: Some(catch), ..
    } = &step.kind
    {
        let at = at(Setting::CatchErrors);
        if catch.errors.iter().any(|e| e == "States.ALL") && catch.errors.len() > 1 {
            report(at, ErrorKind::StatesAllNotAlone);
        }
        for name in &catch.errors {
            if let Some(error) = check_error_name(name) {
                report(at, error);
            }
        }
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
            // Enum arms are checked by rustc (`unreachable_patterns` is denied).
            if exhaustive_enum.is_none() {
                for (later, reason) in shadowed_arms(arms) {
                    report(at(Setting::Arm(later)), ErrorKind::ShadowedArm { reason });
                }
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
                report(
                    at(Setting::Heartbeat),
                    ErrorKind::HeartbeatUnsupported(heartbeat),
                );
            }
            check_summary(&gate.summary, id, report);
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

/// A gate's summary: a few fields, each with its own one-line label. Its paths are checked
/// against the input's JSON by the shape model, where the macro knows the input's type.
fn check_summary(summary: &[SummaryField], id: StepId, report: &mut impl FnMut(Locus, ErrorKind)) {
    let at = |index| Locus::Setting(id, Setting::Summary(index));
    if summary.len() > MAX_SUMMARY_FIELDS {
        report(
            at(MAX_SUMMARY_FIELDS),
            ErrorKind::TooManySummaryFields(summary.len()),
        );
    }
    let mut seen = HashSet::new();
    for (index, field) in summary.iter().enumerate() {
        let label = &field.label;
        let len = label.chars().count();
        if label.trim().is_empty() {
            report(at(index), ErrorKind::EmptySummaryLabel);
        } else if len > MAX_SUMMARY_LABEL_CHARS {
            report(
                at(index),
                ErrorKind::SummaryLabelTooLong {
                    label: label.clone(),
                    len,
                },
            );
        } else if label.chars().any(char::is_control) {
            report(at(index), ErrorKind::SummaryLabelCharacter(label.clone()));
        } else if !seen.insert(label.to_lowercase()) {
            report(at(index), ErrorKind::DuplicateSummaryLabel(label.clone()));
        }
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
        for name in &retry.errors {
            if let Some(error) = check_error_name(name) {
                report(at(RetryKey::Errors), error);
            } else if name == BUDGET_EXCEEDED {
                report(at(RetryKey::Errors), ErrorKind::RetryBudgetExceeded);
            }
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
                retry.max_delay_seconds.and_then(|d| {
                    range("retry max_delay (seconds)", d, 1, MAX_RETRY_DELAY_SECONDS)
                }),
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

/// Why `.retry(on = ...)`/`.catch(on = ...)` naming `name` can never fire, if it cannot.
fn check_error_name(name: &str) -> Option<ErrorKind> {
    if name.is_empty() || TASK_ERROR_NAMES.contains(&name) {
        return None;
    }
    if let Some((_, why)) = NEVER_RAISED.iter().find(|(n, _)| *n == name) {
        return Some(ErrorKind::ErrorNeverRaised {
            name: name.to_owned(),
            why,
        });
    }
    Some(ErrorKind::UnknownErrorName {
        name: name.to_owned(),
        suggestion: closest(name, TASK_ERROR_NAMES.iter().copied()).map(str::to_owned),
    })
}

/// Arms no input can reach because an earlier arm takes every input they match, where that
/// is decidable: conjunctions of comparisons of fields with literals (numeric bounds,
/// string and bool equality), and disjunctions of those.
fn shadowed_arms(arms: &[Arm]) -> Vec<(usize, String)> {
    let mut shadowed = Vec::new();
    for (later, arm) in arms.iter().enumerate() {
        for (earlier, before) in arms[..later].iter().enumerate() {
            if implies(&arm.condition, &before.condition) {
                let reason = if arm.condition == before.condition {
                    format!("arm {} has the same condition", earlier + 1)
                } else {
                    format!(
                        "every input it matches is taken first by arm {} ({})",
                        earlier + 1,
                        describe_condition(&before.condition)
                    )
                };
                shadowed.push((later, reason));
                break;
            }
        }
    }
    shadowed
}

fn describe_condition(condition: &Condition) -> String {
    match condition {
        Condition::Compare { field, op, value } => {
            let op = match op {
                CompareOp::Eq => "==",
                CompareOp::Ne => "!=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
            };
            let value = match value {
                Literal::Bool(b) => b.to_string(),
                Literal::Integer(i) => i.to_string(),
                Literal::Float(f) => format!("{f:?}"),
                Literal::String(s) => format!("{s:?}"),
            };
            format!("`{field} {op} {value}`")
        }
        Condition::And(all) => join_conditions(all, " && "),
        Condition::Or(all) => join_conditions(all, " || "),
        Condition::Not(inner) => format!("!({})", describe_condition(inner)),
    }
}

fn join_conditions(all: &[Condition], separator: &str) -> String {
    all.iter()
        .map(describe_condition)
        .collect::<Vec<_>>()
        .join(separator)
}

/// Whether every input satisfying `later` satisfies `earlier` (false when undecided).
fn implies(later: &Condition, earlier: &Condition) -> bool {
    if later == earlier {
        return true;
    }
    match (later, earlier) {
        (Condition::Or(parts), _) => !parts.is_empty() && parts.iter().all(|p| implies(p, earlier)),
        (_, Condition::Or(parts)) => parts.iter().any(|p| implies(later, p)),
        _ => match (conjunction(later), conjunction(earlier)) {
            (Some(later), Some(earlier)) => earlier.iter().all(|(field, wanted)| {
                later
                    .iter()
                    .filter(|(f, _)| f == field)
                    .any(|(_, have)| have.within(wanted))
            }),
            _ => false,
        },
    }
}

/// A condition that is an `&&` of comparisons, as (field, constraint) pairs.
fn conjunction(condition: &Condition) -> Option<Vec<(&FieldPath, Constraint)>> {
    match condition {
        Condition::Compare { field, op, value } => Some(vec![(field, Constraint::of(*op, value)?)]),
        Condition::And(all) => {
            let mut out = Vec::new();
            for part in all {
                out.extend(conjunction(part)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// The set of values one comparison admits.
#[derive(Clone, Debug, PartialEq)]
enum Constraint {
    /// `lo < x < hi` (or `<=` where inclusive); infinite bounds are open ends.
    Range {
        lo: f64,
        lo_inclusive: bool,
        hi: f64,
        hi_inclusive: bool,
    },
    NotNumber(f64),
    Is(Literal),
    IsNot(Literal),
}

impl Constraint {
    fn of(op: CompareOp, value: &Literal) -> Option<Constraint> {
        let number = match value {
            Literal::Integer(i) => Some(*i as f64),
            Literal::Float(f) => Some(*f),
            _ => None,
        };
        let range = |lo, lo_inclusive, hi, hi_inclusive| Constraint::Range {
            lo,
            lo_inclusive,
            hi,
            hi_inclusive,
        };
        Some(match (op, number) {
            (CompareOp::Eq, Some(n)) => range(n, true, n, true),
            (CompareOp::Ne, Some(n)) => Constraint::NotNumber(n),
            (CompareOp::Lt, Some(n)) => range(f64::NEG_INFINITY, false, n, false),
            (CompareOp::Le, Some(n)) => range(f64::NEG_INFINITY, false, n, true),
            (CompareOp::Gt, Some(n)) => range(n, false, f64::INFINITY, false),
            (CompareOp::Ge, Some(n)) => range(n, true, f64::INFINITY, false),
            (CompareOp::Eq, None) => Constraint::Is(value.clone()),
            (CompareOp::Ne, None) => Constraint::IsNot(value.clone()),
            // Ordering on strings: undecided.
            _ => return None,
        })
    }

    /// Whether every value this admits is admitted by `other`.
    fn within(&self, other: &Constraint) -> bool {
        use Constraint::*;
        match (self, other) {
            (
                Range {
                    lo,
                    lo_inclusive,
                    hi,
                    hi_inclusive,
                },
                Range {
                    lo: olo,
                    lo_inclusive: olo_inclusive,
                    hi: ohi,
                    hi_inclusive: ohi_inclusive,
                },
            ) => {
                let lo_ok = lo > olo || (lo == olo && (*olo_inclusive || !*lo_inclusive));
                let hi_ok = hi < ohi || (hi == ohi && (*ohi_inclusive || !*hi_inclusive));
                lo_ok && hi_ok
            }
            (
                Range {
                    lo,
                    lo_inclusive,
                    hi,
                    hi_inclusive,
                },
                NotNumber(n),
            ) => {
                let below = hi < n || (hi == n && !*hi_inclusive);
                let above = lo > n || (lo == n && !*lo_inclusive);
                below || above
            }
            (NotNumber(a), NotNumber(b)) => a == b,
            (Is(a), Is(b)) => a == b,
            (Is(a), IsNot(b)) => a != b,
            (IsNot(a), IsNot(b)) => a == b,
            _ => false,
        }
    }
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
        stack.extend(workflow.successors(id));
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
        for next in workflow.successors(id) {
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
            _ => workflow.successors(id),
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
