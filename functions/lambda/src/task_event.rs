//! What an agent task state hands its function.
//!
//! A compiled task passes the state's whole envelope (`"envelope.$": "$"`) and, as bindings,
//! only what Step Functions alone knows: the execution's name and the retry count. The rest of
//! the context is the step's own facts, written into the definition. Everything the run
//! carries (its tenant, a map item's position, loop counters) is read from the envelope here,
//! not picked out of it by a path per field: a path is evaluated at every task (and, on
//! LocalStack, parsed again each time), while the envelope is the state's input as it is.
//!
//! Definitions compiled before this shape passed `input` (the envelope's data) and a full
//! context. An execution keeps its definition for its whole life, so one started before a
//! deploy (parked, or waiting for an approval) still calls the new function that way: both
//! shapes are accepted.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use switchyard_sdk::RunContext;

/// A task event as it arrives, either shape.
#[derive(Debug, Deserialize)]
struct Wire {
    #[serde(default)]
    envelope: Option<Envelope>,
    /// The earlier shape's input: the envelope's data.
    #[serde(default)]
    input: Option<Value>,
    context: WireContext,
}

/// The state's input: the run's `{"data", "meta"}`.
#[derive(Debug, Deserialize)]
struct Envelope {
    data: Value,
    meta: EnvelopeMeta,
}

/// What an agent reads in `meta` (other keys are the workflow's own bookkeeping).
#[derive(Debug, Deserialize)]
struct EnvelopeMeta {
    tenant_id: String,
    /// A map item's position (its item selector sets it).
    #[serde(default)]
    item: Option<u32>,
    /// A map item's round (its item selector sums it for items on a loop's cycle).
    #[serde(default)]
    round: Option<u32>,
    /// Every loop's counter, once a workflow with loops has started.
    #[serde(default)]
    loops: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
struct WireContext {
    run_id: String,
    workflow: String,
    step: String,
    #[serde(default)]
    attempt: u32,
    #[serde(default)]
    group: Option<String>,
    /// For a step on a loop's cycle: the counters whose sum is the round it is entered in.
    #[serde(default)]
    round_of: Vec<String>,
    // The earlier shape's fields, bound by paths.
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    item: Option<u32>,
    #[serde(default)]
    round: Option<u32>,
}

/// Why a task event cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TaskEventError {
    #[error("{0}")]
    Shape(#[from] serde_json::Error),
    #[error("missing `envelope`")]
    NoEnvelope,
    #[error("both `envelope` and `input`: send one")]
    BothShapes,
    #[error("`context.tenant_id` is missing (and there is no `envelope`)")]
    NoTenant,
    #[error("`meta.loops.{0}` is missing from the envelope")]
    NoCounter(String),
}

/// A task event: the agent's input (the run's data) and who is running.
#[derive(Debug, PartialEq)]
pub struct TaskEvent {
    pub input: Value,
    pub context: RunContext,
}

impl TaskEvent {
    /// Reads either shape; the error says what is missing.
    pub fn from_payload(payload: Value) -> Result<TaskEvent, TaskEventError> {
        let wire: Wire = serde_json::from_value(payload)?;
        let c = wire.context;
        let (input, tenant_id, item, round) = match (wire.envelope, wire.input) {
            (Some(envelope), None) => {
                let meta = envelope.meta;
                let round = if c.round_of.is_empty() {
                    meta.round
                } else {
                    let mut sum = 0u32;
                    for counter in &c.round_of {
                        let count = meta
                            .loops
                            .get(counter)
                            .ok_or_else(|| TaskEventError::NoCounter(counter.clone()))?;
                        sum = sum.saturating_add(*count);
                    }
                    Some(sum)
                };
                (envelope.data, meta.tenant_id, meta.item, round)
            }
            (None, Some(input)) => {
                let tenant_id = c.tenant_id.ok_or(TaskEventError::NoTenant)?;
                (input, tenant_id, c.item, c.round)
            }
            (Some(_), Some(_)) => return Err(TaskEventError::BothShapes),
            (None, None) => return Err(TaskEventError::NoEnvelope),
        };
        Ok(TaskEvent {
            input,
            context: RunContext {
                run_id: c.run_id,
                tenant_id,
                workflow: c.workflow,
                step: c.step,
                attempt: c.attempt,
                item,
                round,
                group: c.group,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context(step: &str) -> RunContext {
        RunContext {
            run_id: "r1".into(),
            tenant_id: "acme".into(),
            workflow: "wf".into(),
            step: step.into(),
            attempt: 0,
            item: None,
            round: None,
            group: None,
        }
    }

    #[test]
    fn a_task_reads_its_tenant_from_the_envelope() {
        let event = TaskEvent::from_payload(json!({
            "envelope": {
                "data": { "topic": "t" },
                "meta": { "tenant_id": "acme", "parked": { "step": "x" } },
                "auto_approve": false
            },
            "context": { "run_id": "r1", "workflow": "wf", "step": "draft", "attempt": 2 }
        }))
        .expect("reads");
        let mut expected = context("draft");
        expected.attempt = 2;
        assert_eq!(
            event,
            TaskEvent {
                input: json!({ "topic": "t" }),
                context: expected
            }
        );
    }

    #[test]
    fn a_map_item_reads_its_position_and_round_from_its_envelope() {
        let event = TaskEvent::from_payload(json!({
            "envelope": { "data": 7, "meta": { "tenant_id": "acme", "item": 3, "round": 2 } },
            "context": { "run_id": "r1", "workflow": "wf", "step": "part", "attempt": 0 }
        }))
        .expect("reads");
        assert_eq!(
            (event.input, event.context.item, event.context.round),
            (json!(7), Some(3), Some(2))
        );
    }

    #[test]
    fn a_step_on_loop_cycles_is_entered_in_the_sum_of_their_counters() {
        let payload = |round_of: Value| {
            json!({
                "envelope": {
                    "data": {},
                    "meta": { "tenant_id": "acme", "loops": { "fix": 2, "redo": 1, "other": 9 } }
                },
                "context": { "run_id": "r1", "workflow": "wf", "step": "draft", "round_of": round_of }
            })
        };
        let round = |round_of| {
            TaskEvent::from_payload(payload(round_of))
                .map(|e| e.context.round)
                .map_err(|e| e.to_string())
        };
        assert_eq!(round(json!(["fix", "redo"])), Ok(Some(3)));
        assert_eq!(round(json!(["fix"])), Ok(Some(2)));
        // Not on a cycle: no round, whatever the counters are.
        assert_eq!(round(json!([])), Ok(None));
        let missing = round(json!(["fix", "gone"])).expect_err("a counter is missing");
        assert!(missing.contains("meta.loops.gone"), "{missing}");
    }

    #[test]
    fn the_earlier_shape_still_reads_for_executions_started_before_a_deploy() {
        let event = TaskEvent::from_payload(json!({
            "input": { "topic": "t" },
            "context": {
                "run_id": "r1", "tenant_id": "acme", "workflow": "wf", "step": "part",
                "attempt": 0, "item": 4, "round": 1, "group": "both"
            }
        }))
        .expect("reads");
        let mut expected = context("part");
        (expected.item, expected.round, expected.group) = (Some(4), Some(1), Some("both".into()));
        assert_eq!(
            event,
            TaskEvent {
                input: json!({ "topic": "t" }),
                context: expected
            }
        );
    }

    #[test]
    fn an_event_missing_what_names_its_run_is_refused_with_the_reason() {
        let refused = |payload: Value| {
            TaskEvent::from_payload(payload)
                .expect_err("refused")
                .to_string()
        };
        let ctx = json!({ "run_id": "r1", "workflow": "wf", "step": "s" });
        assert!(refused(json!({ "input": {}, "context": ctx })).contains("context.tenant_id"));
        assert!(refused(json!({ "context": ctx })).contains("envelope"));
        assert!(
            refused(json!({ "envelope": { "data": {}, "meta": {} }, "context": ctx }))
                .contains("tenant_id")
        );
        assert!(refused(json!({
            "envelope": { "data": {}, "meta": { "tenant_id": "a" } }, "input": {}, "context": ctx
        }))
        .contains("both"));
        assert!(
            refused(json!({ "envelope": { "data": {}, "meta": { "tenant_id": "a" } } }))
                .contains("context")
        );
    }
}
