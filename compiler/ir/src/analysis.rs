//! Static per-run bounds: how many state transitions and history events a run can take at
//! worst, with every loop at its bound and every map at its declared `max_items`.

use std::collections::HashMap;

use serde::Serialize;

use crate::graph::{AgentCall, StepId, StepKind, Target, Workflow};

/// Step Functions Standard: USD per state transition.
pub const USD_PER_TRANSITION: f64 = 0.000_025;
/// Step Functions' hard limit on execution history events.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// Worst-case state transitions of one run.
    pub state_transitions: u64,
    /// Worst-case execution history events of one run.
    pub history_events: u64,
    /// False when a map has no declared `max_items`: its figures then count one item.
    pub bounded: bool,
    /// `state_transitions` priced at Step Functions Standard rates.
    pub transition_cost_usd: f64,
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
}

/// Worst-case cost of one agent invocation, every retry taken.
fn call_cost(call: &AgentCall) -> Cost {
    let retries: u64 = call.retry.iter().map(|r| u64::from(r.max_attempts)).sum();
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
    let mut walk = Walk {
        workflow,
        counters,
        memo: HashMap::new(),
        missing: Vec::new(),
        bounded: true,
    };
    let body = walk.total(workflow.start, vec![0; walk.counters.len()]);
    // Execution started/finished, the init state, the run-tracker tasks at the start and
    // the end, and the final state.
    let total = body.add(Cost {
        transitions: 4,
        events: 16,
    });
    Estimate {
        state_transitions: total.transitions,
        history_events: total.events,
        bounded: walk.bounded,
        // Rounded to a billionth of a dollar so the manifest prints stable, readable figures.
        transition_cost_usd: (total.transitions as f64 * USD_PER_TRANSITION * 1e9).round() / 1e9,
    }
}

struct Walk<'a> {
    workflow: &'a Workflow,
    counters: Vec<StepId>,
    /// Worst-case cost from a step with given loop counts to the end of the run.
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

    fn target(&mut self, target: Target, counts: &[u32]) -> Cost {
        match target {
            Target::Step(id) => match self.memo.get(&(id, counts.to_vec())) {
                Some(cost) => *cost,
                None => {
                    self.missing.push((id, counts.to_vec()));
                    Cost::default()
                }
            },
            Target::End | Target::Fail => Cost::default(),
        }
    }

    /// The cost from `id`, if every successor's is known (else they are in `missing`).
    fn from(&mut self, id: StepId, counts: &[u32]) -> Cost {
        let step = self.workflow.step(id);
        let guard = if step.when.is_some() {
            Cost {
                transitions: 1,
                events: 2,
            }
        } else {
            Cost::default()
        };
        let cost = match &step.kind {
            StepKind::Task { call, catch, next } => {
                let after = self.target(*next, counts);
                let caught = catch
                    .as_ref()
                    .map(|c| self.target(c.fallback, counts))
                    .unwrap_or_default();
                call_cost(call).add(after.max(caught))
            }
            StepKind::Parallel { branches, next } => {
                let inner = branches
                    .iter()
                    .fold(Cost::default(), |acc, b| acc.add(call_cost(&b.call)));
                Cost {
                    transitions: 1,
                    events: 4,
                }
                .add(inner)
                .add(self.target(*next, counts))
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
                let per_item = call_cost(&item.call);
                Cost {
                    transitions: 1 + items * per_item.transitions,
                    events: 4 + items * (2 + per_item.events),
                }
                .add(self.target(*next, counts))
            }
            StepKind::Branch { arms, default, .. } => {
                let mut worst = Cost::default();
                for target in arms.iter().map(|a| a.target).chain(*default) {
                    worst = worst.max(self.target(target, counts));
                }
                Cost {
                    transitions: 1,
                    events: 2,
                }
                .add(worst)
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
                let own = Cost {
                    transitions: 2,
                    events: 4,
                };
                if counts[slot] < *max_iterations {
                    let mut bumped = counts.to_vec();
                    bumped[slot] += 1;
                    own.add(self.target(*next, &bumped))
                } else {
                    own.add(self.target(*exhausted, counts))
                }
            }
            StepKind::Approval(gate) => {
                let mut worst = self.target(gate.next, counts);
                worst = worst.max(self.target(gate.on_reject, counts));
                // A timeout first marks the request expired (one more task).
                let expire = Cost {
                    transitions: 1,
                    events: 5,
                };
                worst = worst.max(expire.add(self.target(gate.on_timeout, counts)));
                // The wait-for-token task, then the decision choice.
                Cost {
                    transitions: 2,
                    events: 8,
                }
                .add(worst)
            }
        };
        guard.add(cost)
    }
}
