//! Static per-run figures: how many state transitions and history events a run takes, counted
//! on the definitions `switchyard-back` emits (a transition is a state entered, as Step
//! Functions bills and as the history shows with `*StateEntered`; a retry is billed too).
//!
//! Two walks over the graph: the **worst case** takes every retry, the costliest route at
//! each branch and gate, every loop to its bound; the **expected** run takes no retry and the
//! cheapest route that does not fail (a `.when` guard false, a gate approved, a loop's body
//! once). Both put every map at its declared `max_items` (one item without it). For a
//! graph with neither branches nor retries the two are equal and exact.

use std::collections::HashMap;

use serde::Serialize;

use crate::graph::{AgentCall, StepId, StepKind, Target, Workflow};

/// Step Functions Standard: USD per state transition.
pub const USD_PER_TRANSITION: f64 = 0.000_025;
/// Step Functions' hard limit on execution history events.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// State transitions of an expected run (no retries, the cheapest successful route).
    pub expected_state_transitions: u64,
    /// Execution history events of an expected run.
    pub expected_history_events: u64,
    /// Worst-case state transitions of one run.
    pub state_transitions: u64,
    /// Worst-case execution history events of one run.
    pub history_events: u64,
    /// False when a map has no declared `max_items`: its figures then count one item.
    pub bounded: bool,
    /// `expected_state_transitions` priced at Step Functions Standard rates.
    pub expected_transition_cost_usd: f64,
    /// `state_transitions` priced at Step Functions Standard rates.
    pub transition_cost_usd: f64,
}

/// Which run a walk costs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Expected,
    Worst,
}

#[derive(Clone, Copy, Default)]
struct Cost {
    transitions: u64,
    events: u64,
}

impl Cost {
    fn add(self, other: Cost) -> Cost {
        Cost {
            transitions: self.transitions + other.transitions,
            events: self.events + other.events,
        }
    }
    fn max(self, other: Cost) -> Cost {
        if (other.events, other.transitions) > (self.events, self.transitions) {
            other
        } else {
            self
        }
    }
    fn min(self, other: Cost) -> Cost {
        if (other.events, other.transitions) < (self.events, self.transitions) {
            other
        } else {
            self
        }
    }
    const fn of(transitions: u64, events: u64) -> Cost {
        Cost {
            transitions,
            events,
        }
    }
}

/// A Choice or Pass state: entered, exited.
const SIMPLE_STATE: Cost = Cost::of(1, 2);
/// The success state a Choice ends a run through.
const SUCCEED: Cost = Cost::of(1, 2);
/// A declared `fail`: the Pass that sets the error, then the Fail state.
const FAIL: Cost = Cost::of(2, 4);
/// The execution's own start and end events.
const EXECUTION: Cost = Cost::of(0, 2);

/// One agent invocation; in the worst case every retry is taken.
fn call_cost(call: &AgentCall, case: Case) -> Cost {
    let retries: u64 = match case {
        Case::Expected => 0,
        Case::Worst => call.retry.iter().map(|r| u64::from(r.max_attempts)).sum(),
    };
    // Entered, scheduled, started, succeeded/failed, exited; each retry schedules again.
    Cost {
        transitions: 1 + retries,
        events: 5 + 3 * retries,
    }
}

/// Estimate a *valid* workflow (see [`crate::validate`]): the walk relies on every cycle
/// passing through a loop counter.
pub fn estimate(workflow: &Workflow) -> Estimate {
    let counters: Vec<StepId> = workflow
        .step_ids()
        .filter(|id| matches!(workflow.step(*id).kind, StepKind::Loop { .. }))
        .collect();
    // A workflow with loops starts by zeroing their counters.
    let start = if counters.is_empty() {
        EXECUTION
    } else {
        EXECUTION.add(SIMPLE_STATE)
    };
    let mut bounded = true;
    let mut total = |case| {
        let mut walk = Walk {
            workflow,
            case,
            counters: counters.clone(),
            memo: HashMap::new(),
            missing: Vec::new(),
            bounded: true,
        };
        let body = walk.total(workflow.start, vec![0; counters.len()]);
        bounded &= walk.bounded;
        start.add(body)
    };
    let (expected, worst) = (total(Case::Expected), total(Case::Worst));
    // Rounded to a billionth of a dollar so the manifest prints stable, readable figures.
    let price = |transitions: u64| (transitions as f64 * USD_PER_TRANSITION * 1e9).round() / 1e9;
    Estimate {
        expected_state_transitions: expected.transitions,
        expected_history_events: expected.events,
        state_transitions: worst.transitions,
        history_events: worst.events,
        bounded,
        expected_transition_cost_usd: price(expected.transitions),
        transition_cost_usd: price(worst.transitions),
    }
}

struct Walk<'a> {
    workflow: &'a Workflow,
    case: Case,
    counters: Vec<StepId>,
    /// The case's cost from a step with given loop counts to the end of the run.
    memo: HashMap<(StepId, Vec<u32>), Cost>,
    /// Successors [`Walk::from`] needed but found no cost for yet.
    missing: Vec<(StepId, Vec<u32>)>,
    bounded: bool,
}

impl Walk<'_> {
    /// The cost from `start`, with an explicit stack: a loop of bound N walks N times round
    /// its cycle, deeper than a thread's stack allows when written as recursion.
    fn total(&mut self, start: StepId, counts: Vec<u32>) -> Cost {
        let mut stack = vec![(start, counts.clone())];
        while let Some((id, counts)) = stack.pop() {
            if self.memo.contains_key(&(id, counts.clone())) {
                continue;
            }
            self.missing.clear();
            let cost = self.from(id, &counts);
            if self.missing.is_empty() {
                self.memo.insert((id, counts), cost);
            } else {
                // Come back once every successor is costed.
                stack.push((id, counts));
                stack.append(&mut self.missing);
            }
        }
        self.memo[&(start, counts)]
    }

    /// The cost from `target` on, entered from a Task, Parallel or Map state (which can end
    /// the execution themselves).
    fn target(&mut self, target: Target, counts: &[u32]) -> Cost {
        match target {
            Target::Step(id) => match self.memo.get(&(id, counts.to_vec())) {
                Some(cost) => *cost,
                None => {
                    self.missing.push((id, counts.to_vec()));
                    Cost::default()
                }
            },
            Target::End => Cost::default(),
            Target::Fail => FAIL,
        }
    }

    /// The cost from `target` on, entered from a Choice: the end is a Succeed state.
    fn routed(&mut self, target: Target, counts: &[u32]) -> Cost {
        match target {
            Target::End => SUCCEED,
            other => self.target(other, counts),
        }
    }

    /// The route a run of this case takes among `routes`: the costliest in the worst
    /// case; the cheapest that does not fail when expected.
    fn choose(&mut self, routes: &[Target], counts: &[u32], from_choice: bool) -> Cost {
        let mut chosen: Option<Cost> = None;
        let succeeding = routes.iter().any(|t| *t != Target::Fail);
        for target in routes {
            if self.case == Case::Expected && succeeding && *target == Target::Fail {
                continue;
            }
            let cost = if from_choice {
                self.routed(*target, counts)
            } else {
                self.target(*target, counts)
            };
            chosen = Some(match (chosen, self.case) {
                (None, _) => cost,
                (Some(c), Case::Worst) => c.max(cost),
                (Some(c), Case::Expected) => c.min(cost),
            });
        }
        chosen.unwrap_or_default()
    }

    /// The cost from `id`, if every successor's is known (else they are in `missing`).
    fn from(&mut self, id: StepId, counts: &[u32]) -> Cost {
        let step = self.workflow.step(id);
        let case = self.case;
        let cost = match &step.kind {
            StepKind::Task { call, catch, next } => {
                let after = self.target(*next, counts);
                let after = match (catch, case) {
                    // A catcher's route to the end goes through the Succeed state.
                    (Some(catch), Case::Worst) => after.max(self.routed(catch.fallback, counts)),
                    _ => after,
                };
                call_cost(call, case).add(after)
            }
            StepKind::Parallel { branches, next } => {
                let inner = branches
                    .iter()
                    .fold(Cost::default(), |acc, b| acc.add(call_cost(&b.call, case)));
                // Entered, started, succeeded, exited.
                Cost::of(1, 4).add(inner).add(self.target(*next, counts))
            }
            StepKind::Map {
                item,
                max_items,
                next,
                ..
            } => {
                let items = match max_items {
                    Some(n) => u64::from(*n),
                    None => {
                        self.bounded = false;
                        1
                    }
                };
                // The item count check before a map with `max_items`: a Pass and a Choice.
                let check = if max_items.is_some() {
                    SIMPLE_STATE.add(SIMPLE_STATE)
                } else {
                    Cost::default()
                };
                let per_item = call_cost(&item.call, case);
                check
                    .add(Cost::of(
                        1 + items * per_item.transitions,
                        4 + items * (2 + per_item.events),
                    ))
                    .add(self.target(*next, counts))
            }
            StepKind::Branch { arms, default, .. } => {
                let routes: Vec<Target> = arms.iter().map(|a| a.target).chain(*default).collect();
                SIMPLE_STATE.add(self.choose(&routes, counts, true))
            }
            StepKind::Loop {
                max_iterations,
                next,
                exhausted,
            } => {
                let slot = self
                    .counters
                    .iter()
                    .position(|c| *c == id)
                    .expect("every loop step is a counter");
                // The counter's Pass, then its check.
                let own = SIMPLE_STATE.add(SIMPLE_STATE);
                if counts[slot] < *max_iterations {
                    let mut bumped = counts.to_vec();
                    bumped[slot] += 1;
                    own.add(self.routed(*next, &bumped))
                } else {
                    own.add(self.routed(*exhausted, counts))
                }
            }
            StepKind::Approval(gate) => {
                let after = match case {
                    Case::Expected => self.routed(gate.next, counts),
                    Case::Worst => {
                        let decided = self.choose(&[gate.next, gate.on_reject], counts, true);
                        // A timeout first marks the request expired (one more task).
                        let expire = Cost::of(1, 5);
                        decided.max(expire.add(self.target(gate.on_timeout, counts)))
                    }
                };
                // The wait-for-token task, then the decision choice.
                Cost::of(2, 8).add(after)
            }
        };
        match &step.when {
            None => cost,
            // The guard's Choice, then the step or (guard false) what follows it.
            Some(_) => {
                let skip = self.routed(next_of(&step.kind), counts);
                SIMPLE_STATE.add(match case {
                    Case::Worst => cost.max(skip),
                    Case::Expected => cost.min(skip),
                })
            }
        }
    }
}

/// Where a guarded step goes after itself (validation refuses guards on routing steps).
fn next_of(kind: &StepKind) -> Target {
    match kind {
        StepKind::Task { next, .. }
        | StepKind::Parallel { next, .. }
        | StepKind::Map { next, .. }
        | StepKind::Loop { next, .. } => *next,
        StepKind::Approval(gate) => gate.next,
        StepKind::Branch { .. } => Target::Fail,
    }
}
