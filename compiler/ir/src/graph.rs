//! The graph types. Plain data: printable, serialisable, compared in tests.

use serde::{Deserialize, Serialize};

/// One declared workflow: a graph of named steps, entered at `start`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// Kebab-case name; the state machine is `switchyard-<name>`.
    pub name: String,
    /// The declaration's doc comment.
    pub comment: Option<String>,
    /// Rust type of the run input (for documentation and schemas).
    pub input_type: String,
    pub start: StepId,
    /// Arena of steps; a [`StepId`] is an index into it.
    pub steps: Vec<Step>,
    /// Each run's spending limit unless its start gives another (`budget(...)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

pub use switchyard_state::{Budget, BudgetLimit, BudgetProblem};

/// Handle of a step inside [`Workflow::steps`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StepId(pub u32);

impl StepId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub kind: StepKind,
    /// Run the step only when this holds on its input; otherwise go straight to its `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
}

/// Where control goes after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Step(StepId),
    /// The run succeeds with the current data as its output.
    End,
    /// The run fails; the error name depends on why (see the back end).
    Fail,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Invoke one agent.
    Task {
        call: AgentCall,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        catch: Option<Catch>,
        next: Target,
    },
    /// Run every branch on the same input; the output is the list of branch outputs in order.
    Parallel { branches: Vec<Branch>, next: Target },
    /// Run `item` once per element of the list field `items`; outputs are collected in order.
    Map {
        items: FieldPath,
        item: Branch,
        /// 0 means no limit, as in Step Functions.
        max_concurrency: u32,
        /// Declared upper bound on the list's length; enforced at run time.
        max_items: Option<u32>,
        next: Target,
    },
    /// Route on the input: the first arm whose condition holds wins.
    Branch {
        arms: Vec<Arm>,
        default: Option<Target>,
        /// Set when the arms cover every variant of this Rust enum (checked by rustc).
        exhaustive_enum: Option<String>,
    },
    /// A loop counter: each entry counts one iteration; past `max_iterations` go to
    /// `exhausted` instead of `next`. Every cycle in a workflow passes through one.
    Loop {
        max_iterations: u32,
        next: Target,
        exhausted: Target,
    },
    /// Pause until a person decides (a `.waitForTaskToken` task).
    Approval(ApprovalGate),
}

/// One agent invocation with its failure policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentCall {
    /// The agent's registered name (its Lambda function is `switchyard-<name>`).
    pub agent: String,
    pub input_type: String,
    pub output_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
}

/// A named agent call inside a parallel or map step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    pub name: String,
    pub call: AgentCall,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    /// Error names to retry on; empty means every error except Step Functions' own terminal ones.
    pub errors: Vec<String>,
    pub interval_seconds: u32,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u32>,
    pub jitter: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catch {
    /// Error names to catch; empty means all.
    pub errors: Vec<String>,
    /// Receives the failed step's input.
    pub fallback: Target,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    pub condition: Condition,
    pub target: Target,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalGate {
    /// What the approver is asked.
    pub subject: String,
    pub timeout_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<u32>,
    /// Options to pick from ("pick one of 4 concepts"); empty means approve/reject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// If not empty, only these people may decide.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    pub on_reject: Target,
    pub on_timeout: Target,
    pub next: Target,
    /// What the approval page shows first, in order; the whole input follows it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summary: Vec<SummaryField>,
}

/// One line of a gate's summary: a labelled value from the gate's input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryField {
    /// What the page calls the value (`Budget`).
    pub label: String,
    /// Where the value is in the gate's input (a value that is absent shows as absent).
    pub path: FieldPath,
}

/// A typed condition on the step input, as checked by rustc in the declaration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Compare {
        field: FieldPath,
        op: CompareOp,
        value: Literal,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Literal {
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
}

/// A path of field names into the step input (`deal.total` → `["deal", "total"]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldPath(pub Vec<String>);

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

impl Workflow {
    pub fn step(&self, id: StepId) -> &Step {
        &self.steps[id.index()]
    }

    pub fn step_ids(&self) -> impl Iterator<Item = StepId> {
        (0..self.steps.len() as u32).map(StepId)
    }

    /// Every agent call in the workflow, including those inside parallel and map steps.
    pub fn agent_calls(&self) -> impl Iterator<Item = &AgentCall> {
        self.steps.iter().flat_map(|step| match &step.kind {
            StepKind::Task { call, .. } => vec![call],
            StepKind::Parallel { branches, .. } => branches.iter().map(|b| &b.call).collect(),
            StepKind::Map { item, .. } => vec![&item.call],
            _ => Vec::new(),
        })
    }

    /// The loop counters of the workflow, in declaration order.
    pub fn loops(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(|s| matches!(s.kind, StepKind::Loop { .. }))
    }

    /// The loop counters on some cycle through `id`, in declaration order; empty when a
    /// run enters `id` at most once.
    ///
    /// A step that a run may enter again is told its round, the sum of these counters, so
    /// that each entry keeps a record of its own. Between two entries the run goes round a
    /// cycle through `id`; every cycle passes through a counter (validation refuses one that
    /// does not), and no counter ever goes down, so the sum is higher at each entry. Steps
    /// inside a parallel or map step are entered with it.
    pub fn loops_around(&self, id: StepId) -> Vec<&Step> {
        let reaches = |from: StepId, to: StepId| -> bool {
            let mut seen = vec![false; self.steps.len()];
            let mut stack = self.successors(from);
            while let Some(at) = stack.pop() {
                if at == to {
                    return true;
                }
                if !std::mem::replace(&mut seen[at.index()], true) {
                    stack.extend(self.successors(at));
                }
            }
            false
        };
        if !reaches(id, id) {
            return Vec::new();
        }
        self.step_ids()
            .filter(|&counter| {
                matches!(self.step(counter).kind, StepKind::Loop { .. })
                    && (counter == id || (reaches(id, counter) && reaches(counter, id)))
            })
            .map(|counter| self.step(counter))
            .collect()
    }

    /// The steps `id` may go to next (`end` and `fail` are not steps).
    pub fn successors(&self, id: StepId) -> Vec<StepId> {
        self.step(id)
            .edges()
            .into_iter()
            .filter_map(|(_, target)| match target {
                Target::Step(next) => Some(next),
                Target::End | Target::Fail => None,
            })
            .collect()
    }

    /// The approval gates of the workflow, in declaration order.
    pub fn approval_gates(&self) -> impl Iterator<Item = (&Step, &ApprovalGate)> {
        self.steps.iter().filter_map(|s| match &s.kind {
            StepKind::Approval(gate) => Some((s, gate)),
            _ => None,
        })
    }
}

impl Step {
    /// Every edge leaving this step, labelled with why it is taken.
    pub fn edges(&self) -> Vec<(Edge, Target)> {
        let mut edges = Vec::new();
        match &self.kind {
            StepKind::Task { catch, next, .. } => {
                edges.push((Edge::Next, *next));
                if let Some(catch) = catch {
                    edges.push((Edge::Caught, catch.fallback));
                }
            }
            StepKind::Parallel { next, .. } | StepKind::Map { next, .. } => {
                edges.push((Edge::Next, *next))
            }
            StepKind::Branch { arms, default, .. } => {
                edges.extend(arms.iter().map(|arm| (Edge::Arm, arm.target)));
                if let Some(default) = default {
                    edges.push((Edge::Default, *default));
                }
            }
            StepKind::Loop {
                next, exhausted, ..
            } => {
                edges.push((Edge::Next, *next));
                edges.push((Edge::Exhausted, *exhausted));
            }
            StepKind::Approval(gate) => {
                edges.push((Edge::Next, gate.next));
                edges.push((Edge::Rejected, gate.on_reject));
                edges.push((Edge::TimedOut, gate.on_timeout));
            }
        }
        edges
    }

    /// Names of the extra states the back end derives from this step (`<name>-when`, ...).
    /// Kept here so the name-length check and the back end agree.
    pub fn derived_state_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.when.is_some() {
            names.push(format!("{}-when", self.name));
        }
        match &self.kind {
            StepKind::Loop { .. } => names.push(format!("{}-check", self.name)),
            StepKind::Approval(_) => {
                names.push(format!("{}-decision", self.name));
                names.push(format!("{}-expired", self.name));
            }
            StepKind::Map {
                max_items: Some(_), ..
            } => names.extend(
                ["count", "limit", "too-many"].map(|suffix| format!("{}-{suffix}", self.name)),
            ),
            _ => {}
        }
        // A map item's wait while its run is paused, beside it in its map (top-level tasks
        // and parallel steps share one).
        if let StepKind::Map { item, .. } = &self.kind {
            names.push(parked_state_name(&item.name));
        }
        for (edge, target) in self.edges() {
            if target == Target::Fail {
                names.push(fail_state_name(&self.name, edge));
            }
        }
        names
    }
}

/// The states the back end adds to a definition when it needs them: loop counters' start,
/// the success and failure ends, and the top level's shared wait of a paused run and its
/// router back. No step (nor a state derived from one) may take their names.
pub mod platform_states {
    pub const INIT_LOOPS: &str = "init-loops";
    pub const SUCCEEDED: &str = "run-succeeded";
    pub const FAILED: &str = "run-failed";
    pub const PARKED: &str = "run-parked";
    pub const RESUMED: &str = "run-resumed";
}

/// Every name in [`platform_states`].
pub const PLATFORM_STATES: [&str; 5] = [
    platform_states::INIT_LOOPS,
    platform_states::SUCCEEDED,
    platform_states::FAILED,
    platform_states::PARKED,
    platform_states::RESUMED,
];

/// The state a map item's agent task waits in while its run is paused: `<step>-parked`.
/// (Top-level tasks and parallel steps share [`platform_states::PARKED`].)
pub fn parked_state_name(step: &str) -> String {
    format!("{step}-parked")
}

/// Why an edge is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edge {
    Next,
    Caught,
    Arm,
    Default,
    Exhausted,
    Rejected,
    TimedOut,
}

impl Edge {
    /// The Step Functions error name a run fails with when this edge leads to `fail`.
    pub fn failure_error(self) -> &'static str {
        match self {
            Edge::Next | Edge::Arm | Edge::Default => "Switchyard.Failed",
            Edge::Caught => "Switchyard.StepFailed",
            Edge::Exhausted => "Switchyard.LoopExhausted",
            Edge::Rejected => "Switchyard.Rejected",
            Edge::TimedOut => "Switchyard.ApprovalTimedOut",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Edge::Next => "next",
            Edge::Caught => "caught",
            Edge::Arm => "arm",
            Edge::Default => "otherwise",
            Edge::Exhausted => "exhausted",
            Edge::Rejected => "rejected",
            Edge::TimedOut => "timed-out",
        }
    }
}

/// Name of the Fail state reached from `step` through `edge`.
pub fn fail_state_name(step: &str, edge: Edge) -> String {
    format!("{step}-{}", edge.label())
}
