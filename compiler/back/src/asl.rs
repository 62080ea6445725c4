//! Amazon States Language.
//!
//! Every state works on an envelope `{"data": <the typed payload>, "meta": {...}}`: agents
//! are handed the envelope, run on its data and write their output back to `$.data`, while
//! `meta` carries what the workflow itself needs across steps (tenant, loop counters, caught
//! errors, map position).
//! Keys are emitted sorted (serde_json's map), so output is byte-for-byte deterministic.
//!
//! A definition holds the workflow's own states and nothing for bookkeeping: an execution
//! starts on the envelope (the Run API builds it, see `switchyard_state::ExecutionInput`), the
//! last step ends the execution itself, and the run is recorded from Step Functions'
//! execution status-change events (the run-tracker function receives them through an
//! EventBridge rule). An error no declared policy handles fails the execution as it is (its
//! name and cause are what the run records); a declared `fail` target sets `$.meta.error`
//! and ends in the one failure state. Every agent task can also be paused: it catches
//! `Switchyard.Paused` (its agent was not started) into a wait that hands the run-tracker its
//! task token and goes back to the step once the run is resumed. A run that is never paused
//! never enters one.
//!
//! Definitions are kept lean on purpose: Step Functions on LocalStack parses the whole
//! definition at every execution start, at a cost that grows with its size, so a field
//! that only restates a default or a state that only repeats another is paid by every
//! run. So is a path: Step Functions evaluates every `.$` binding at every task, and
//! LocalStack parses each again, at the definition's start and at every evaluation. An agent
//! task binds only what Step Functions alone knows (execution name, retry count) and is
//! given the envelope whole (the root path, which LocalStack does not parse) to read the
//! rest from.
//!
//! The top level shares one wait (`run-parked`) and a router back (`run-resumed`) to the
//! step, or to the whole parallel step a paused branch is in; a map item, which cannot reach
//! the top level's states and must not make its siblings run again, has its own
//! `<step>-parked` wait.

use serde_json::{json, Map, Value};
use switchyard_ir::{
    fail_state_name, parked_state_name, platform_states, AgentCall, ApprovalGate, CompareOp,
    Condition, Edge, FieldPath, Literal, Retry, Step, StepId, StepKind, Target, Workflow,
};
use switchyard_state::schema::{TrackerPhase, PAUSED_ERROR};

use super::{agent_substitution, APPROVAL_REQUEST_SUBSTITUTION, RUN_TRACKER_SUBSTITUTION};

/// The first state of a workflow with loops: sets every loop's counter to zero.
pub const INIT_LOOPS_STATE: &str = platform_states::INIT_LOOPS;
/// The success state for routes that end the run from a Choice (a Choice cannot end an
/// execution itself): the run's output is its data.
pub const SUCCEED_STATE: &str = platform_states::SUCCEEDED;
/// The one failure state of declared failures: error and cause come from `$.meta.error`.
pub const FAILED_STATE: &str = platform_states::FAILED;
/// Where a paused top-level agent task waits: one wait for all of them, which hands the
/// run-tracker its task token and the caught pause (naming the step) and, once the run is
/// resumed, is given `{"step": …}` back.
pub const PARKED_STATE: &str = platform_states::PARKED;
/// The router from [`PARKED_STATE`] back to the step that was paused.
pub const RESUMED_STATE: &str = platform_states::RESUMED;
/// Where a top-level task's caught pause, and then the resume's answer, are kept.
const PARKED_PATH: &str = "$.meta.parked";
/// Errors a tracker call retries on: Lambda's own transient failures. The retrier leaves
/// interval, attempts and backoff at Step Functions' defaults (1 s, 3, 2.0).
const TRANSIENT_LAMBDA_ERRORS: [&str; 3] = [
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "Lambda.SdkClientException",
];
/// Default agent task timeout when a step declares none.
pub const DEFAULT_AGENT_TIMEOUT_SECONDS: u32 = 120;

pub fn file_name(workflow: &Workflow) -> String {
    format!("{}.asl.json", workflow.name)
}

/// The definition, pretty-printed, with `${...}` placeholders for function ARNs.
pub fn write(workflow: &Workflow) -> String {
    let mut text = serde_json::to_string_pretty(&definition(workflow))
        .expect("a JSON value always serialises");
    text.push('\n');
    text
}

pub fn definition(workflow: &Workflow) -> Value {
    let mut states = Map::new();
    let entry = entry_state(workflow.step(workflow.start));
    let loops: Map<String, Value> = workflow
        .loops()
        .map(|s| (s.name.clone(), json!(0)))
        .collect();
    let start = if loops.is_empty() {
        entry
    } else {
        states.insert(
            INIT_LOOPS_STATE.into(),
            json!({
                "Type": "Pass",
                "Result": loops,
                "ResultPath": "$.meta.loops",
                "Next": entry,
            }),
        );
        INIT_LOOPS_STATE.to_owned()
    };
    let mut parkable = Vec::new();
    for id in workflow.step_ids() {
        let step = workflow.step(id);
        StepWriter { workflow, id, step }.write(&mut states, &mut parkable);
    }
    if !parkable.is_empty() {
        states.insert(PARKED_STATE.into(), parked_wait(None));
        let routes: Vec<Value> = parkable
            .iter()
            .map(|(step, back_to)| json!({ "Variable": "$.meta.parked.step", "StringEquals": step, "Next": back_to }))
            .collect();
        // No default: a resume always names the step; anything else fails the run loudly.
        states.insert(
            RESUMED_STATE.into(),
            json!({ "Type": "Choice", "Choices": routes }),
        );
    }
    // The end states, only where something routes to them (a Choice cannot end a run; a
    // declared failure sets `$.meta.error` first).
    let routed_to = |end: &str| states.values().any(|state| mentions(state, end));
    let (fails, succeeds) = (routed_to(FAILED_STATE), routed_to(SUCCEED_STATE));
    if fails {
        states.insert(
            FAILED_STATE.into(),
            json!({
                "Type": "Fail",
                "ErrorPath": "$.meta.error.Error",
                "CausePath": "$.meta.error.Cause",
            }),
        );
    }
    if succeeds {
        states.insert(
            SUCCEED_STATE.into(),
            json!({ "Type": "Succeed", "OutputPath": "$.data" }),
        );
    }
    let mut root = json!({ "StartAt": start, "States": states });
    if let Some(comment) = &workflow.comment {
        root["Comment"] = json!(comment);
    }
    root
}

/// Whether any `Next` or `Default` in `value` names `state`.
fn mentions(value: &Value, state: &str) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, v)| {
            ((key == "Next" || key == "Default") && v == state) || mentions(v, state)
        }),
        Value::Array(items) => items.iter().any(|v| mentions(v, state)),
        _ => false,
    }
}

/// A call to the run-tracker function on a gate's timeout path. Tracking never decides a
/// run's outcome: after its retries, a failed call still goes on to `next`.
fn tracker_task(workflow: &Workflow, phase: TrackerPhase, next: &str) -> Value {
    json!({
        "Type": "Task",
        "Resource": format!("${{{RUN_TRACKER_SUBSTITUTION}}}"),
        "Parameters": {
            "phase": phase.as_str(),
            "run_id.$": "$$.Execution.Name",
            "execution_arn.$": "$$.Execution.Id",
            "tenant_id.$": "$.meta.tenant_id",
            "workflow": workflow.name,
        },
        "ResultPath": null,
        "TimeoutSeconds": 30,
        "Retry": [{ "ErrorEquals": TRANSIENT_LAMBDA_ERRORS }],
        "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": next }],
        "Next": next,
    })
}

/// Where an agent task sits in a definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place<'a> {
    TopLevel,
    Branch { parallel: &'a str },
    MapItem,
}

/// Makes an agent task pausable at no cost to runs that are not paused: the task's
/// [`PAUSED_ERROR`] is never retried (a retrier that never retries it goes first, if a
/// declared retrier would match it), and a paused step goes to a wait that hands the
/// run-tracker its token and, once the run is resumed, goes back.
///
/// - A top-level task catches it into the shared [`PARKED_STATE`], and goes back to itself.
/// - A parallel branch does not catch it: its Parallel state does, into the same shared
///   wait, and the whole Parallel goes again. Its branches are admitted as one (see
///   `RunContext::group`): either every branch found its run paused, and none started its
///   agent, or none did.
/// - A map item has its own `<step>-parked` wait beside it in `states` (its siblings are
///   admitted one by one, and must not run again), and goes back to itself.
///
/// An unpaused run never enters a wait, so none adds a state transition. `parkable` gets
/// (the step a pause names, the state the router goes back to) for each top-level case.
fn make_parkable(
    states: &mut Map<String, Value>,
    step: &str,
    task: &mut Value,
    place: Place<'_>,
    parkable: &mut Vec<(String, String)>,
) {
    let matches_paused = |retrier: &Value| {
        retrier["ErrorEquals"].as_array().is_some_and(|errors| {
            errors
                .iter()
                .any(|e| e == "States.ALL" || e == "States.TaskFailed")
        })
    };
    if let Some(retry) = task.get_mut("Retry").and_then(Value::as_array_mut) {
        if retry.iter().any(matches_paused) {
            retry.insert(
                0,
                json!({ "ErrorEquals": [PAUSED_ERROR], "MaxAttempts": 0 }),
            );
        }
    }
    let catcher = match place {
        Place::TopLevel => {
            parkable.push((step.to_owned(), step.to_owned()));
            parked_catcher()
        }
        Place::Branch { parallel } => {
            parkable.push((step.to_owned(), parallel.to_owned()));
            return;
        }
        Place::MapItem => {
            let parked = parked_state_name(step);
            let mut wait = parked_wait(Some(step));
            wait["Parameters"]["Payload"]["item.$"] = json!("$.meta.item");
            states.insert(parked.clone(), wait);
            json!({ "ErrorEquals": [PAUSED_ERROR], "ResultPath": null, "Next": parked })
        }
    };
    match task.get_mut("Catch").and_then(Value::as_array_mut) {
        Some(catchers) => catchers.insert(0, catcher),
        None => task["Catch"] = json!([catcher]),
    }
}

/// Catches a pause into the shared wait; the caught error's cause names the step (see
/// `PausedAt`), and the wait reads it there.
fn parked_catcher() -> Value {
    json!({ "ErrorEquals": [PAUSED_ERROR], "ResultPath": PARKED_PATH, "Next": PARKED_STATE })
}

/// A paused step's wait: the run-tracker keeps its task token until the run is resumed.
/// `Some(step)`: a map item's own wait, which names its step and goes back to
/// it, keeping the data as it was. `None`: the top level's shared wait, which hands over the
/// caught pause (its cause names the step) and keeps the resume's `{"step": …}` for the
/// router. A failed wait (a cancel fails it) fails the run, or the branch (which fails its
/// Parallel or Map state, and so the run).
fn parked_wait(step: Option<&str>) -> Value {
    let mut payload = json!({
        "phase": TrackerPhase::Parked.as_str(),
        "task_token.$": "$$.Task.Token",
        "run_id.$": "$$.Execution.Name",
        "tenant_id.$": "$.meta.tenant_id",
    });
    let (result_path, next) = match step {
        Some(step) => {
            payload["step"] = json!(step);
            (Value::Null, step)
        }
        None => {
            payload["cause.$"] = json!("$.meta.parked.Cause");
            (json!(PARKED_PATH), RESUMED_STATE)
        }
    };
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": format!("${{{RUN_TRACKER_SUBSTITUTION}}}"),
            "Payload": payload,
        },
        "ResultPath": result_path,
        "Retry": [{ "ErrorEquals": TRANSIENT_LAMBDA_ERRORS }],
        "Next": next,
    })
}

/// A state that ends its execution, branch or map item hands on its result as it is: the
/// same output as putting it at `$.data` and then keeping only `$.data`, without the two
/// paths (which Step Functions would evaluate, and LocalStack parse, every time).
fn end_with_result(state: &mut Value) {
    if let Some(fields) = state.as_object_mut() {
        let result_path = fields.remove("ResultPath");
        debug_assert_eq!(
            result_path,
            Some(json!("$.data")),
            "agent, parallel and map results go to $.data"
        );
    }
}

/// The state a step is entered through (its guard, if it has one).
fn entry_state(step: &Step) -> String {
    if step.when.is_some() {
        format!("{}-when", step.name)
    } else {
        guarded_state(step)
    }
}

/// The state a step's guard leads to when it holds: the map's item-count check, if it has
/// one, else the step itself.
fn guarded_state(step: &Step) -> String {
    if let StepKind::Map {
        max_items: Some(_), ..
    } = step.kind
    {
        format!("{}-count", step.name)
    } else {
        step.name.clone()
    }
}

struct StepWriter<'a> {
    workflow: &'a Workflow,
    id: StepId,
    step: &'a Step,
}

impl StepWriter<'_> {
    /// The state a Choice rule or `Next` goes to for `target`; the end is the success state.
    fn target(&self, target: Target, edge: Edge) -> String {
        match target {
            Target::Step(id) => entry_state(self.workflow.step(id)),
            Target::End => SUCCEED_STATE.to_owned(),
            Target::Fail => fail_state_name(&self.step.name, edge),
        }
    }

    /// Sets where a Task, Parallel or Map state goes next: the end of the run is the state
    /// itself ending the execution with its result as the output.
    fn then(&self, state: &mut Value, target: Target) {
        if target == Target::End {
            state["End"] = json!(true);
            end_with_result(state);
        } else {
            state["Next"] = json!(self.target(target, Edge::Next));
        }
    }

    fn write(&self, states: &mut Map<String, Value>, parkable: &mut Vec<(String, String)>) {
        let step = self.step;
        let name = &step.name;
        if let Some(condition) = &step.when {
            let skip = self.target(next_of(&step.kind), Edge::Next);
            let mut rule = choice_rule(condition);
            rule["Next"] = json!(guarded_state(step));
            states.insert(
                format!("{name}-when"),
                json!({ "Type": "Choice", "Choices": [rule], "Default": skip }),
            );
        }
        for (edge, target) in step.edges() {
            if target == Target::Fail {
                states.insert(
                    fail_state_name(name, edge),
                    json!({
                        "Type": "Pass",
                        "Result": {
                            "Error": edge.failure_error(),
                            "Cause": format!("step `{name}`: {}", edge.label()),
                        },
                        "ResultPath": "$.meta.error",
                        "Next": FAILED_STATE,
                    }),
                );
            }
        }
        match &step.kind {
            StepKind::Task { call, catch, next } => {
                let mut state = self.task(name, call, false);
                if let Some(catch) = catch {
                    state["Catch"] = json!([{
                        "ErrorEquals": catch_errors(&catch.errors),
                        "ResultPath": "$.meta.error",
                        "Next": self.target(catch.fallback, Edge::Caught),
                    }]);
                }
                make_parkable(states, name, &mut state, Place::TopLevel, parkable);
                self.then(&mut state, *next);
                states.insert(name.clone(), state);
            }
            StepKind::Parallel { branches, next } => {
                let branches: Vec<Value> = branches
                    .iter()
                    .map(|b| {
                        let mut task = self.task(&b.name, &b.call, false);
                        // Admitted with its siblings: the group is this entry of the Parallel.
                        task["Parameters"]["context"]["group"] = json!(name);
                        task["End"] = json!(true);
                        end_with_result(&mut task);
                        let mut branch = Map::new();
                        let place = Place::Branch { parallel: name };
                        make_parkable(&mut branch, &b.name, &mut task, place, parkable);
                        branch.insert(b.name.clone(), task);
                        json!({ "StartAt": b.name, "States": branch })
                    })
                    .collect();
                let mut state = json!({
                    "Type": "Parallel",
                    "Branches": branches,
                    "ResultPath": "$.data",
                    "Catch": [parked_catcher()],
                });
                self.then(&mut state, *next);
                states.insert(name.clone(), state);
            }
            StepKind::Map {
                items,
                item,
                max_concurrency,
                max_items,
                next,
            } => {
                if let Some(max) = max_items {
                    states.insert(
                        format!("{name}-count"),
                        json!({
                            "Type": "Pass",
                            "Parameters": {
                                "count.$": format!("States.ArrayLength({})", data_path(items)),
                            },
                            "ResultPath": "$.meta.items",
                            "Next": format!("{name}-limit"),
                        }),
                    );
                    states.insert(
                        format!("{name}-limit"),
                        json!({
                            "Type": "Choice",
                            "Choices": [{
                                "Variable": "$.meta.items.count",
                                "NumericGreaterThan": max,
                                "Next": format!("{name}-too-many"),
                            }],
                            "Default": name,
                        }),
                    );
                    states.insert(
                        format!("{name}-too-many"),
                        json!({
                            "Type": "Pass",
                            "Result": {
                                "Error": "Switchyard.TooManyItems",
                                "Cause": format!("step `{name}`: `{items}` has more than the declared max_items = {max}"),
                            },
                            "ResultPath": "$.meta.error",
                            "Next": FAILED_STATE,
                        }),
                    );
                }
                let mut task = self.task(&item.name, &item.call, true);
                task["End"] = json!(true);
                end_with_result(&mut task);
                let mut item_meta = json!({
                    "tenant_id.$": "$.meta.tenant_id",
                    "item.$": "$$.Map.Item.Index",
                });
                if let Some(round) = self.round() {
                    item_meta["round.$"] = json!(round);
                }
                let mut processor = Map::new();
                make_parkable(
                    &mut processor,
                    &item.name,
                    &mut task,
                    Place::MapItem,
                    parkable,
                );
                processor.insert(item.name.clone(), task);
                states.insert(
                    name.clone(),
                    json!({
                        "Type": "Map",
                        "ItemsPath": data_path(items),
                        "ItemSelector": { "data.$": "$$.Map.Item.Value", "meta": item_meta },
                        "MaxConcurrency": max_concurrency,
                        "ItemProcessor": {
                            "ProcessorConfig": { "Mode": "INLINE" },
                            "StartAt": item.name,
                            "States": processor,
                        },
                        "ResultPath": "$.data",
                    }),
                );
                if let Some(state) = states.get_mut(name.as_str()) {
                    self.then(state, *next);
                }
            }
            StepKind::Branch { arms, default, .. } => {
                let choices: Vec<Value> = arms
                    .iter()
                    .map(|arm| {
                        let mut rule = choice_rule(&arm.condition);
                        rule["Next"] = json!(self.target(arm.target, Edge::Arm));
                        rule
                    })
                    .collect();
                let mut state = json!({ "Type": "Choice", "Choices": choices });
                if let Some(default) = default {
                    state["Default"] = json!(self.target(*default, Edge::Default));
                }
                states.insert(name.clone(), state);
            }
            StepKind::Loop {
                max_iterations,
                next,
                exhausted,
            } => {
                // Pass states cannot merge into an object, so every counter is carried over.
                let counters: Map<String, Value> = self
                    .workflow
                    .loops()
                    .map(|l| {
                        let current = format!("$.meta.loops.{}", l.name);
                        let value = if l.name == *name {
                            format!("States.MathAdd({current}, 1)")
                        } else {
                            current
                        };
                        (format!("{}.$", l.name), json!(value))
                    })
                    .collect();
                states.insert(
                    name.clone(),
                    json!({
                        "Type": "Pass",
                        "Parameters": counters,
                        "ResultPath": "$.meta.loops",
                        "Next": format!("{name}-check"),
                    }),
                );
                states.insert(
                    format!("{name}-check"),
                    json!({
                        "Type": "Choice",
                        "Choices": [{
                            "Variable": format!("$.meta.loops.{name}"),
                            "NumericGreaterThan": max_iterations,
                            "Next": self.target(*exhausted, Edge::Exhausted),
                        }],
                        "Default": self.target(*next, Edge::Next),
                    }),
                );
            }
            StepKind::Approval(gate) => {
                states.insert(name.clone(), self.approval(gate));
                let mut expire = tracker_task(
                    self.workflow,
                    TrackerPhase::ApprovalExpired,
                    &self.target(gate.on_timeout, Edge::TimedOut),
                );
                expire["Parameters"]["gate"] = json!(name);
                states.insert(format!("{name}-expired"), expire);
                states.insert(
                    format!("{name}-decision"),
                    json!({
                        "Type": "Choice",
                        "Choices": [{
                            "Variable": "$.data.approval.decision",
                            "StringEquals": "reject",
                            "Next": self.target(gate.on_reject, Edge::Rejected),
                        }],
                        "Default": self.target(gate.next, Edge::Next),
                    }),
                );
            }
        }
    }

    /// The step's name and what only Step Functions knows about its run: the execution's
    /// name (the run id) and the retry count.
    fn step_context(&self, step: &str) -> Value {
        json!({
            "run_id.$": "$$.Execution.Name",
            "workflow": self.workflow.name,
            "step": step,
            "attempt.$": "$$.State.RetryCount",
        })
    }

    /// What an agent task passes besides its envelope: [`Self::step_context`], and for a
    /// step on a loop's cycle the counters whose sum is the round it is entered in. The
    /// agent reads the rest from the envelope (its tenant; a map item's position and round,
    /// which its item selector sets), so no path picks them out at every task.
    fn task_context(&self, step: &str, in_map: bool) -> Value {
        let mut context = self.step_context(step);
        let counters = self.loop_counters();
        if !in_map && !counters.is_empty() {
            context["round_of"] = json!(counters);
        }
        context
    }

    /// The counters of the loops whose cycles this step is on (see
    /// [`Workflow::loops_around`]).
    fn loop_counters(&self) -> Vec<&str> {
        self.workflow
            .loops_around(self.id)
            .into_iter()
            .map(|counter| counter.name.as_str())
            .collect()
    }

    /// The round a run is in when it enters this step again, for a step on a loop's cycle:
    /// the sum of its counters, as an intrinsic (for a map's item selector and an approval
    /// request, which get it computed).
    fn round(&self) -> Option<String> {
        self.loop_counters()
            .into_iter()
            .map(|counter| format!("$.meta.loops.{counter}"))
            .reduce(|sum, counter| format!("States.MathAdd({sum}, {counter})"))
    }

    /// An agent task: its function gets the state's whole envelope (`{"data", "meta"}`, by
    /// the root path, which LocalStack does not parse) and [`Self::task_context`].
    fn task(&self, step: &str, call: &AgentCall, in_map: bool) -> Value {
        let mut state = json!({
            "Type": "Task",
            "Resource": format!("${{{}}}", agent_substitution(&call.agent)),
            "Parameters": { "envelope.$": "$", "context": self.task_context(step, in_map) },
            "ResultPath": "$.data",
            "TimeoutSeconds": call.timeout_seconds.unwrap_or(DEFAULT_AGENT_TIMEOUT_SECONDS),
        });
        if !call.retry.is_empty() {
            state["Retry"] = json!(call.retry.iter().map(retrier).collect::<Vec<_>>());
        }
        state
    }

    /// An approval request's context: [`Self::step_context`] with its tenant and round
    /// bound (the request is given the data, not the envelope).
    fn approval_context(&self, step: &str) -> Value {
        let mut context = self.step_context(step);
        context["tenant_id.$"] = json!("$.meta.tenant_id");
        if let Some(round) = self.round() {
            context["round.$"] = json!(round);
        }
        context
    }

    fn approval(&self, gate: &ApprovalGate) -> Value {
        let name = &self.step.name;
        let mut payload = json!({
            "task_token.$": "$$.Task.Token",
            "input.$": "$.data",
            // Where a run may opt out of dev auto-approval (`"auto_approve": false`).
            "execution_input.$": "$$.Execution.Input",
            "context": self.approval_context(name),
            "gate": {
                "subject": gate.subject,
                "choices": gate.choices,
                "approvers": gate.approvers,
                "timeout_seconds": gate.timeout_seconds,
            },
        });
        payload["gate"]["on_reject"] = json!(if gate.on_reject == Target::Fail {
            "fail"
        } else {
            "route"
        });
        if !gate.summary.is_empty() {
            // The approval-request function reads each value from the input it is sent.
            payload["gate"]["summary"] = gate
                .summary
                .iter()
                .map(|field| json!({ "label": field.label, "pointer": json_pointer(&field.path) }))
                .collect();
        }
        let mut state = json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": format!("${{{APPROVAL_REQUEST_SUBSTITUTION}}}"),
                "Payload": payload,
            },
            "TimeoutSeconds": gate.timeout_seconds,
            "ResultPath": "$.data.approval",
            "Catch": [
                {
                    "ErrorEquals": ["States.Timeout"],
                    "ResultPath": "$.meta.error",
                    "Next": format!("{name}-expired"),
                },
            ],
            "Next": format!("{name}-decision"),
        });
        if let Some(heartbeat) = gate.heartbeat_seconds {
            state["HeartbeatSeconds"] = json!(heartbeat);
        }
        state
    }
}

/// A JSON Pointer (RFC 6901) to a path in the data: `/strategy/headline`, `/pair/0`.
fn json_pointer(path: &FieldPath) -> String {
    path.0
        .iter()
        .map(|segment| format!("/{}", segment.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn next_of(kind: &StepKind) -> Target {
    match kind {
        StepKind::Task { next, .. }
        | StepKind::Parallel { next, .. }
        | StepKind::Map { next, .. }
        | StepKind::Loop { next, .. } => *next,
        StepKind::Approval(gate) => gate.next,
        // Validation refuses guards on routing steps.
        StepKind::Branch { .. } => Target::Fail,
    }
}

fn catch_errors(errors: &[String]) -> Vec<String> {
    if errors.is_empty() {
        vec!["States.ALL".to_owned()]
    } else {
        errors.to_vec()
    }
}

fn retrier(retry: &Retry) -> Value {
    let mut value = json!({
        "ErrorEquals": retry.errors,
        "IntervalSeconds": retry.interval_seconds,
        "MaxAttempts": retry.max_attempts,
        "BackoffRate": retry.backoff_rate,
    });
    if let Some(max_delay) = retry.max_delay_seconds {
        value["MaxDelaySeconds"] = json!(max_delay);
    }
    if retry.jitter {
        value["JitterStrategy"] = json!("FULL");
    }
    value
}

/// `$.data.order.total` for `order.total`; numeric segments index arrays (`$.data[0]`), and
/// keys that are not plain identifiers (`is-vip`, `order total`) use bracket notation
/// (`$.data['is-vip']`), which JSONPath reads as one key rather than an expression.
fn data_path(field: &FieldPath) -> String {
    let mut path = String::from("$.data");
    for segment in &field.0 {
        let plain = segment
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit()) {
            path.push_str(&format!("[{segment}]"));
        } else if plain {
            path.push('.');
            path.push_str(segment);
        } else {
            path.push_str(&format!("['{segment}']"));
        }
    }
    path
}

/// A Choice rule (without `Next`) for a condition on `$.data`.
fn choice_rule(condition: &Condition) -> Value {
    match condition {
        Condition::Compare { field, op, value } => compare_rule(field, *op, value),
        Condition::And(all) => json!({ "And": all.iter().map(choice_rule).collect::<Vec<_>>() }),
        Condition::Or(all) => json!({ "Or": all.iter().map(choice_rule).collect::<Vec<_>>() }),
        Condition::Not(inner) => json!({ "Not": choice_rule(inner) }),
    }
}

fn compare_rule(field: &FieldPath, op: CompareOp, value: &Literal) -> Value {
    let (family, operand) = match value {
        Literal::Bool(b) => ("Boolean", json!(b)),
        Literal::Integer(i) => ("Numeric", json!(i)),
        Literal::Float(f) => ("Numeric", json!(f)),
        Literal::String(s) => ("String", json!(s)),
    };
    let (suffix, negate) = match op {
        CompareOp::Eq => ("Equals", false),
        CompareOp::Ne => ("Equals", true),
        CompareOp::Lt => ("LessThan", false),
        CompareOp::Le => ("LessThanEquals", false),
        CompareOp::Gt => ("GreaterThan", false),
        CompareOp::Ge => ("GreaterThanEquals", false),
    };
    let mut rule = Map::new();
    rule.insert("Variable".into(), json!(data_path(field)));
    rule.insert(format!("{family}{suffix}"), operand);
    let rule = Value::Object(rule);
    if negate {
        json!({ "Not": rule })
    } else {
        rule
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_ir::{Arm, Branch};

    fn call(agent: &str) -> AgentCall {
        AgentCall {
            agent: agent.into(),
            input_type: "In".into(),
            output_type: "Out".into(),
            retry: Vec::new(),
            timeout_seconds: None,
        }
    }

    fn step(name: &str, kind: StepKind) -> Step {
        Step {
            name: name.into(),
            kind,
            when: None,
        }
    }

    fn to(i: u32) -> Target {
        Target::Step(StepId(i))
    }

    /// draft → parts (map) → both (parallel) → verdict: ok? publish : (fix_budget → draft,
    /// past 2: redo_budget → draft, past 2: fail).
    fn looped() -> Workflow {
        Workflow {
            name: "looped".into(),
            comment: None,
            input_type: "In".into(),
            start: StepId(0),
            budget: None,
            steps: vec![
                step(
                    "draft",
                    StepKind::Task {
                        call: call("drafter"),
                        catch: None,
                        next: to(1),
                    },
                ),
                step(
                    "parts",
                    StepKind::Map {
                        items: FieldPath(vec!["parts".into()]),
                        item: Branch {
                            name: "part".into(),
                            call: call("parter"),
                        },
                        max_concurrency: 2,
                        max_items: None,
                        next: to(2),
                    },
                ),
                step(
                    "both",
                    StepKind::Parallel {
                        branches: vec![
                            Branch {
                                name: "left".into(),
                                call: call("lefty"),
                            },
                            Branch {
                                name: "right".into(),
                                call: call("righty"),
                            },
                        ],
                        next: to(3),
                    },
                ),
                step(
                    "verdict",
                    StepKind::Branch {
                        arms: vec![Arm {
                            condition: Condition::Compare {
                                field: FieldPath(vec!["ok".into()]),
                                op: CompareOp::Eq,
                                value: Literal::Bool(true),
                            },
                            target: to(6),
                        }],
                        default: Some(to(4)),
                        exhaustive_enum: None,
                    },
                ),
                step(
                    "fix_budget",
                    StepKind::Loop {
                        max_iterations: 2,
                        next: to(0),
                        exhausted: to(5),
                    },
                ),
                step(
                    "redo_budget",
                    StepKind::Loop {
                        max_iterations: 2,
                        next: to(0),
                        exhausted: Target::Fail,
                    },
                ),
                step(
                    "publish",
                    StepKind::Task {
                        call: call("publisher"),
                        catch: None,
                        next: Target::End,
                    },
                ),
            ],
        }
    }

    #[test]
    fn every_agent_a_run_may_enter_again_is_told_its_round() {
        let wf = looped();
        assert_eq!(switchyard_ir::validate(&wf), Ok(()));
        let def = definition(&wf);
        let states = &def["States"];
        // A task names the counters it sums from its envelope's `meta.loops`.
        let counters = json!(["fix_budget", "redo_budget"]);
        assert_eq!(
            states["draft"]["Parameters"]["context"]["round_of"],
            counters
        );
        // A branch has the parallel's input, meta and all.
        for branch in [0, 1] {
            let name = ["left", "right"][branch];
            let branch = &states["both"]["Branches"][branch]["States"][name];
            assert_eq!(branch["Parameters"]["context"]["round_of"], counters);
        }
        // A map item's envelope has what its selector gives it: the round, computed.
        let map = &states["parts"];
        let round = "States.MathAdd($.meta.loops.fix_budget, $.meta.loops.redo_budget)";
        assert_eq!(map["ItemSelector"]["meta"]["round.$"], round);
        let item_context = &map["ItemProcessor"]["States"]["part"]["Parameters"]["context"];
        assert!(item_context.get("round_of").is_none());
        // Entered once: no round, nor anything to compute it from.
        assert!(states["publish"]["Parameters"]["context"]
            .get("round_of")
            .is_none());
    }

    #[test]
    fn a_workflow_without_loops_passes_no_round() {
        let mut wf = looped();
        wf.steps.truncate(3);
        if let StepKind::Parallel { next, .. } = &mut wf.steps[2].kind {
            *next = Target::End;
        }
        let text = serde_json::to_string(&definition(&wf)).expect("serialises");
        assert!(!text.contains("round"), "{text}");
    }
}
