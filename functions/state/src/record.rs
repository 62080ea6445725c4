//! The records as stored. Each is one table's item, mapped by serde (`serde_dynamo` in
//! [`crate::store`]): a field's name is its attribute's name, and the keys in
//! [`crate::schema`] are fields of these types (a test holds them together).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownStatus;

            fn from_str(text: &str) -> Result<$name, UnknownStatus> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|s| s.as_str() == text)
                    .ok_or_else(|| UnknownStatus {
                        given: text.chars().take(64).collect(),
                        allowed: $name::ALL.iter().map(|s| s.as_str()).collect(),
                    })
            }
        }
    };
}

/// A status that is not one of its kind's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a status: use one of {}", allowed.join(", "))]
pub struct UnknownStatus {
    pub given: String,
    pub allowed: Vec<&'static str>,
}

status_enum! {
    /// Where a run is. It moves between `running` and `paused` (its agents start only while
    /// it is `running`), leaves them once, and a finished run is never rewritten.
    RunStatus {
        #[default]
        Running => "running",
        /// Paused by a client: no agent starts until it is resumed; steps that reached a
        /// boundary wait there (parked), with nothing re-run.
        Paused => "paused",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

status_enum! {
    /// Where one step attempt is.
    StepStatus {
        #[default]
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
    }
}

status_enum! {
    /// Where an approval request is: `pending → deciding → approved | rejected`, or
    /// `expired` once its run stops waiting.
    ApprovalStatus {
        #[default]
        Pending => "pending",
        /// The decision is recorded, the run not resumed yet: a retry or the gate's timeout
        /// completes it.
        Deciding => "deciding",
        Approved => "approved",
        Rejected => "rejected",
        Expired => "expired",
    }
}

impl RunStatus {
    /// The statuses of a run that has not ended (its execution may still move).
    pub const ACTIVE: [RunStatus; 2] = [RunStatus::Running, RunStatus::Paused];

    pub fn is_finished(self) -> bool {
        !self.is_active()
    }

    /// Running or paused: the run has not ended.
    pub fn is_active(self) -> bool {
        RunStatus::ACTIVE.contains(&self)
    }
}

impl ApprovalStatus {
    /// Whether its run may still be waiting for it.
    pub fn is_open(self) -> bool {
        matches!(self, ApprovalStatus::Pending | ApprovalStatus::Deciding)
    }
}

/// A run, as the runs table holds it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub tenant_id: String,
    pub workflow: String,
    pub status: RunStatus,
    /// Epoch milliseconds.
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_summary: Option<String>,
    /// The run's output as JSON text, once it succeeded (as Step Functions reported it:
    /// a large output is a payload reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_cause: Option<String>,
    /// What its attempts used (tokens, cost, attempts), summed once when the run ends;
    /// while it runs a view sums its step records, so no write contends on this item.
    #[serde(default)]
    pub tokens_in: u64,
    #[serde(default)]
    pub tokens_out: u64,
    #[serde(default)]
    pub cost_usd: f64,
    #[serde(default)]
    pub step_attempts: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// When it was paused, oldest first (epoch ms); `resumed_at[i]` ends `paused_at[i]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paused_at: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_at: Vec<u64>,
    /// Its spending limit: its workflow's declared budget, with what the start call gave
    /// replacing it limit by limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// What its model exchanges spent so far, added by each attempt as it ends; kept only
    /// for a run with a budget (its totals, summed at its end, are the step records').
    #[serde(default)]
    pub spent_tokens: u64,
    #[serde(default)]
    pub spent_usd: f64,
}

/// A run's spending limit on its model exchanges: tokens (in and out), US dollars, or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd: Option<f64>,
}

/// A limit of a [`Budget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetLimit {
    /// The budget as a whole (it sets no limit).
    Whole,
    Tokens,
    Usd,
}

impl BudgetLimit {
    /// Its key, as `workflow!` and the Run API spell it (`""` for the whole).
    pub const fn key(self) -> &'static str {
        match self {
            BudgetLimit::Whole => "",
            BudgetLimit::Tokens => "tokens",
            BudgetLimit::Usd => "usd",
        }
    }
}

/// What is wrong with a budget's limit.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct BudgetProblem {
    pub limit: BudgetLimit,
    pub message: String,
}

impl Budget {
    /// The largest token limit: far above any run, and within what a DynamoDB number holds.
    pub const MAX_TOKENS: u64 = 1_000_000_000_000;
    /// The largest US dollar limit.
    pub const MAX_USD: f64 = 1_000_000.0;

    /// Every problem, limit by limit: each limit it sets must be positive and at most its
    /// maximum, and it must set one. The one rule `workflow!`, the compiler and the Run API
    /// check a budget by.
    pub fn problems(&self) -> Vec<BudgetProblem> {
        let mut problems = Vec::new();
        let mut problem = |limit, message: String| problems.push(BudgetProblem { limit, message });
        if self.tokens.is_none() && self.usd.is_none() {
            problem(
                BudgetLimit::Whole,
                "a budget limits `tokens`, `usd` or both".to_owned(),
            );
        }
        if let Some(tokens) = self.tokens {
            if !(1..=Self::MAX_TOKENS).contains(&tokens) {
                problem(
                    BudgetLimit::Tokens,
                    format!(
                        "a token budget is a whole number from 1 to {}, got {tokens}",
                        Self::MAX_TOKENS
                    ),
                );
            }
        }
        if let Some(usd) = self.usd {
            if !(usd.is_finite() && usd > 0.0 && usd <= Self::MAX_USD) {
                problem(
                    BudgetLimit::Usd,
                    format!(
                        "a US dollar budget is more than 0 and at most {}, got {usd}",
                        Self::MAX_USD
                    ),
                );
            }
        }
        problems
    }

    /// This budget with each limit `over` sets replacing its own.
    pub fn overridden_by(self, over: Budget) -> Budget {
        Budget {
            tokens: over.tokens.or(self.tokens),
            usd: over.usd.or(self.usd),
        }
    }
}

/// What a step's first attempt finds at its boundary (see `Runs::admission`).
#[derive(Clone, Debug, PartialEq)]
pub enum Admission {
    /// It may start; with its run's budget and spending, for its model exchanges.
    Go(RunSpending),
    /// Its run is paused: it waits, and starts nothing.
    Held,
    /// Its run has no record (started outside the API): nothing holds it, and it has no
    /// budget.
    Unrecorded,
}

/// A run's budget and what it spent so far, as an agent reads them before its first model
/// exchange.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSpending {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    #[serde(default)]
    pub spent_tokens: u64,
    #[serde(default)]
    pub spent_usd: f64,
}

impl RunSpending {
    /// The attributes it is read from (its fields).
    pub const ATTRIBUTES: &'static [&'static str] = &["budget", "spent_tokens", "spent_usd"];
}

impl RunRecord {
    /// The totals as recorded at the run's end.
    pub fn totals(&self) -> RunTotals {
        RunTotals {
            tokens_in: self.tokens_in,
            tokens_out: self.tokens_out,
            cost_usd: self.cost_usd,
            step_attempts: self.step_attempts,
        }
    }
}

/// What figures over many runs read of each (`GET /metrics`): its record without the
/// summaries, output and cause, which can be large (an output up to 256 KiB).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub tenant_id: String,
    pub workflow: String,
    pub status: RunStatus,
    /// Epoch milliseconds, as is `finished_at`.
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_error: Option<String>,
    #[serde(default)]
    pub tokens_in: u64,
    #[serde(default)]
    pub tokens_out: u64,
    #[serde(default)]
    pub cost_usd: f64,
}

impl RunOutcome {
    /// The attributes it is read from (its fields).
    pub const ATTRIBUTES: &'static [&'static str] = &[
        "run_id",
        "tenant_id",
        "workflow",
        "status",
        "created_at",
        "finished_at",
        "failure_error",
        "tokens_in",
        "tokens_out",
        "cost_usd",
    ];

    /// How long it ran, once it ended.
    pub fn duration_ms(&self) -> Option<u64> {
        self.finished_at
            .filter(|_| self.status.is_finished())
            .map(|end| end.saturating_sub(self.created_at))
    }
}

impl From<&RunRecord> for RunOutcome {
    fn from(run: &RunRecord) -> RunOutcome {
        RunOutcome {
            run_id: run.run_id.clone(),
            tenant_id: run.tenant_id.clone(),
            workflow: run.workflow.clone(),
            status: run.status,
            created_at: run.created_at,
            finished_at: run.finished_at,
            failure_error: run.failure_error.clone(),
            tokens_in: run.tokens_in,
            tokens_out: run.tokens_out,
            cost_usd: run.cost_usd,
        }
    }
}

/// A run's usage: the sum over its step attempts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunTotals {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    pub step_attempts: u64,
}

impl RunTotals {
    /// The sum over `steps` (each attempt is one record, so nothing counts twice).
    pub fn of(steps: &[StepRecord]) -> RunTotals {
        let mut totals = RunTotals::default();
        for step in steps {
            totals.tokens_in += step.tokens_in;
            totals.tokens_out += step.tokens_out;
            totals.cost_usd += step.cost_usd;
            totals.step_attempts += 1;
        }
        // Sums of prices in floating point: keep what a bill shows.
        totals.cost_usd = (totals.cost_usd * 1e9).round() / 1e9;
        totals
    }
}

/// The input every execution starts with: the state machines work on this envelope from
/// their first state (`data` is the workflow's typed input; `meta` what the run itself
/// carries). The Run API builds it; so must anyone starting an execution directly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInput {
    pub data: serde_json::Value,
    pub meta: RunMeta,
    /// `false` opts a run out of development auto-approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approve: Option<bool>,
}

/// What a run carries besides its data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub tenant_id: String,
}

impl ExecutionInput {
    pub fn new(tenant_id: &str, data: serde_json::Value) -> ExecutionInput {
        ExecutionInput {
            data,
            meta: RunMeta {
                tenant_id: tenant_id.to_owned(),
            },
            auto_approve: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

impl RunRecord {
    /// A run that has just started.
    pub fn started(run_id: &str, tenant_id: &str, workflow: &str, now_ms: u64) -> RunRecord {
        RunRecord {
            run_id: run_id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            workflow: workflow.to_owned(),
            status: RunStatus::Running,
            created_at: now_ms,
            updated_at: Some(now_ms),
            finished_at: None,
            input_summary: None,
            output_summary: None,
            output: None,
            failure_error: None,
            failure_cause: None,
            paused_at: Vec::new(),
            resumed_at: Vec::new(),
            tokens_in: 0,
            tokens_out: 0,
            cost_usd: 0.0,
            step_attempts: 0,
            execution_arn: None,
            budget: None,
            spent_tokens: 0,
            spent_usd: 0.0,
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEnd {
    Succeeded {
        output_summary: String,
        /// The output's JSON text, when it is small enough to keep in the record.
        output: Option<String>,
    },
    Failed {
        error: String,
        cause: String,
    },
    /// Stopped from outside: a cancel, or a stop from the console.
    Cancelled,
}

impl RunEnd {
    pub fn status(&self) -> RunStatus {
        match self {
            RunEnd::Succeeded { .. } => RunStatus::Succeeded,
            RunEnd::Failed { .. } => RunStatus::Failed,
            RunEnd::Cancelled => RunStatus::Cancelled,
        }
    }
}

/// Which attempt of which step (and map item): the steps table's sort key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptKey<'a> {
    pub step: &'a str,
    pub item: Option<u32>,
    /// The entry of a step on a loop's cycle (see `RunContext::round`).
    pub round: Option<u32>,
    pub attempt: u32,
}

impl AttemptKey<'_> {
    /// Sorts by step, then round, then item, then attempt. A step outside loops has no
    /// round part, so its keys read as they always have.
    pub fn step_key(&self) -> String {
        let mut key = self.step.to_owned();
        if let Some(round) = self.round {
            key.push_str(&format!("#r{round:04}"));
        }
        if let Some(item) = self.item {
            key.push_str(&format!("#{item:05}"));
        }
        key.push_str(&format!("#{:02}", self.attempt));
        key
    }
}

/// One attempt of one step (one map item's attempt inside a map).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub run_id: String,
    pub step_key: String,
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u64>,
    /// The entry of a step on a loop's cycle; absent for steps a run enters once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u64>,
    pub attempt: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub tenant_id: String,
    /// The workflow of its run (absent on records written before attempts carried it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// `<tenant>#<agent>`, the key of the steps table's `by-agent` index (see
    /// [`StepRecord::tenant_agent_key`]); absent on records without an agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_agent: Option<String>,
    pub status: StepStatus,
    /// Epoch milliseconds.
    pub started_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub tokens_in: u64,
    #[serde(default)]
    pub tokens_out: u64,
    #[serde(default)]
    pub cost_usd: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Model exchanges the attempt made: answered by the provider or from the response
    /// cache, failed or not (each round of a conversation is one).
    #[serde(default)]
    pub model_calls: u64,
    /// Exchanges answered from the response cache: they cost nothing this time.
    #[serde(default)]
    pub cache_hits: u64,
    /// Tokens (in and out) and cost the cached exchanges would have spent.
    #[serde(default)]
    pub tokens_saved: u64,
    #[serde(default)]
    pub cost_saved_usd: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl StepRecord {
    /// The attributes a step record is read from: its fields, and not the trace stored
    /// beside them on the same item ([`crate::trace`]), which only the trace endpoint reads.
    /// A field missing here is never read back (a test holds the two together).
    pub const ATTRIBUTES: &'static [&'static str] = &[
        "run_id",
        "step_key",
        "step",
        "item",
        "round",
        "attempt",
        "agent",
        "tenant_id",
        "workflow",
        "tenant_agent",
        "status",
        "started_at",
        "finished_at",
        "latency_ms",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "model",
        "model_calls",
        "cache_hits",
        "tokens_saved",
        "cost_saved_usd",
        "error_name",
        "error_message",
    ];

    /// The `by-agent` index key of a tenant's attempts of an agent. Tenant ids and agent
    /// names hold no `#`, so the pair reads back unambiguously.
    pub fn tenant_agent_key(tenant_id: &str, agent: &str) -> String {
        format!("{tenant_id}#{agent}")
    }

    /// An attempt that has just started.
    pub fn started(
        run_id: &str,
        tenant_id: &str,
        workflow: &str,
        key: &AttemptKey<'_>,
        agent: &str,
        now_ms: u64,
    ) -> StepRecord {
        StepRecord {
            run_id: run_id.to_owned(),
            step_key: key.step_key(),
            step: key.step.to_owned(),
            item: key.item.map(u64::from),
            round: key.round.map(u64::from),
            attempt: u64::from(key.attempt),
            agent: Some(agent.to_owned()),
            tenant_id: tenant_id.to_owned(),
            workflow: Some(workflow.to_owned()),
            tenant_agent: Some(StepRecord::tenant_agent_key(tenant_id, agent)),
            status: StepStatus::Running,
            started_at: now_ms,
            ..StepRecord::default()
        }
    }
}

impl StepRecord {
    /// This attempt, finished at `now_ms` with what it used and its error (name,
    /// message), if any.
    pub fn finished(
        mut self,
        usage: &StepUsage,
        error: Option<(&str, &str)>,
        now_ms: u64,
    ) -> StepRecord {
        self.finished_at = Some(now_ms);
        self.latency_ms = Some(usage.latency_ms);
        self.tokens_in = usage.tokens_in;
        self.tokens_out = usage.tokens_out;
        self.cost_usd = usage.cost_usd;
        self.model = usage.model.clone();
        self.model_calls = usage.model_calls;
        self.cache_hits = usage.cache_hits;
        self.tokens_saved = usage.tokens_saved;
        self.cost_saved_usd = usage.cost_saved_usd;
        match error {
            Some((name, message)) => {
                self.status = StepStatus::Failed;
                self.error_name = Some(name.to_owned());
                self.error_message = Some(message.to_owned());
            }
            None => self.status = StepStatus::Succeeded,
        }
        self
    }
}

/// What one step attempt cost, and what its cached model exchanges saved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepUsage {
    pub latency_ms: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    pub model: Option<String>,
    /// Exchanges made, whether the provider or the cache answered, failed or not.
    pub model_calls: u64,
    /// Exchanges the response cache answered.
    pub cache_hits: u64,
    /// Tokens (in and out) and cost of the cached replies: spent once, saved here.
    pub tokens_saved: u64,
    pub cost_saved_usd: f64,
}

/// A model reply kept for a tenant by the opt-in response cache (the model-cache table).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCacheRecord {
    /// SHA-256 hex of the tenant, the model and the request (see the agent runtime's
    /// `cache` module).
    pub cache_key: String,
    /// Checked on every read as well as in the key: a tenant is only ever answered its own.
    pub tenant_id: String,
    /// `provider:model`, as `Model::name` gives it.
    pub model: String,
    /// The reply as JSON text.
    pub reply: String,
    /// Epoch milliseconds.
    pub created_at: u64,
    /// Epoch seconds (the table's Time to Live attribute): a reply is not served from then.
    pub expires_at: u64,
}

impl ModelCacheRecord {
    /// Whether the reply may still be served at `now_s` (epoch seconds): DynamoDB deletes
    /// expired items late, so a read checks.
    pub fn fresh(&self, now_s: u64) -> bool {
        now_s < self.expires_at
    }
}

/// An approval request as stored, except its task token, which only
/// [`crate::store::Approvals`] reads (a record can be shown to anyone entitled to the run).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub request_id: String,
    pub run_id: String,
    pub tenant_id: String,
    #[serde(default)]
    pub workflow: String,
    pub gate: String,
    #[serde(default)]
    pub subject: String,
    /// What is being decided: the gate's input as JSON text, shortened.
    #[serde(default)]
    pub summary: String,
    /// The gate's declared summary (`approval(summary = [...])`): each field's label and
    /// its value, read from the gate's input when the request was made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summary_fields: Vec<SummaryField>,
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub approvers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_reject: Option<String>,
    pub status: ApprovalStatus,
    /// Epoch seconds.
    pub created_at: u64,
    pub expires_at: u64,
    /// Decision → signed link, on gates without designated approvers (theirs are mailed
    /// to each of them and stored nowhere).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// Whether `decided_by` was proven (a designated approver's signed link, an API key,
    /// the auto-approver) or only typed by whoever held the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Decided by the development auto-approver.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_approved: bool,
}

/// What figures over many approval requests read of each (`GET /metrics`): its record
/// without the summary, links and notes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalOutcome {
    pub request_id: String,
    pub run_id: String,
    pub tenant_id: String,
    #[serde(default)]
    pub workflow: String,
    pub gate: String,
    pub status: ApprovalStatus,
    /// Epoch seconds, as is `decided_at`.
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<u64>,
}

impl ApprovalOutcome {
    /// The attributes it is read from (its fields).
    pub const ATTRIBUTES: &'static [&'static str] = &[
        "request_id",
        "run_id",
        "tenant_id",
        "workflow",
        "gate",
        "status",
        "created_at",
        "decided_at",
    ];

    /// From its creation to its decision, for a request decided and delivered to its run
    /// (`approved` or `rejected`). Both times are whole seconds.
    pub fn turnaround_ms(&self) -> Option<u64> {
        let delivered = matches!(
            self.status,
            ApprovalStatus::Approved | ApprovalStatus::Rejected
        );
        self.decided_at
            .filter(|_| delivered)
            .map(|at| at.saturating_sub(self.created_at) * 1000)
    }
}

impl From<&ApprovalRecord> for ApprovalOutcome {
    fn from(approval: &ApprovalRecord) -> ApprovalOutcome {
        ApprovalOutcome {
            request_id: approval.request_id.clone(),
            run_id: approval.run_id.clone(),
            tenant_id: approval.tenant_id.clone(),
            workflow: approval.workflow.clone(),
            gate: approval.gate.clone(),
            status: approval.status,
            created_at: approval.created_at,
            decided_at: approval.decided_at,
        }
    }
}

/// One field of a gate's summary, as its request holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryField {
    pub label: String,
    /// The value as JSON text (always valid JSON: a long value is shortened inside, not cut
    /// off); `None` when the gate's input has no value there (absent or `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The reserved decision every gate allows.
pub const REJECT: &str = "reject";
/// The positive decision of a gate without choices.
pub const APPROVE: &str = "approve";

/// What someone decided at a gate: `approve` (a gate without choices), one of a pick-one
/// gate's choices, or `reject` (every gate). Stored and sent as its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Decision {
    Approve,
    Reject,
    /// One of the gate's declared choices.
    Choice(String),
}

impl Decision {
    pub fn as_str(&self) -> &str {
        match self {
            Decision::Approve => APPROVE,
            Decision::Reject => REJECT,
            Decision::Choice(name) => name,
        }
    }

    /// What the request becomes once the run has it.
    pub fn outcome(&self) -> ApprovalStatus {
        match self {
            Decision::Reject => ApprovalStatus::Rejected,
            Decision::Approve | Decision::Choice(_) => ApprovalStatus::Approved,
        }
    }
}

impl From<String> for Decision {
    fn from(name: String) -> Decision {
        match name.as_str() {
            APPROVE => Decision::Approve,
            REJECT => Decision::Reject,
            _ => Decision::Choice(name),
        }
    }
}

impl From<&str> for Decision {
    fn from(name: &str) -> Decision {
        Decision::from(name.to_owned())
    }
}

impl From<Decision> for String {
    fn from(decision: Decision) -> String {
        decision.as_str().to_owned()
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ApprovalRecord {
    /// The decisions this gate accepts: its choices (or `approve`), and `reject`.
    pub fn allowed_decisions(&self) -> Vec<Decision> {
        let mut allowed: Vec<Decision> = if self.choices.is_empty() {
            vec![Decision::Approve]
        } else {
            self.choices
                .iter()
                .map(|c| Decision::from(c.as_str()))
                .collect()
        };
        allowed.push(Decision::Reject);
        allowed
    }

    /// As shown to a client: links only while someone can still use them.
    pub fn public(mut self) -> ApprovalRecord {
        if self.status != ApprovalStatus::Pending {
            self.links.clear();
        }
        self
    }
}

/// A decision being recorded (`pending → deciding`).
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    pub decision: Decision,
    pub decided_by: String,
    pub approver_verified: bool,
    /// Epoch seconds.
    pub decided_at: u64,
    pub notes: Option<String>,
    pub auto_approved: bool,
}

/// An API key as stored: the SHA-256 hex of the key, never the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub key_hash: String,
    pub tenant_id: String,
    /// Epoch milliseconds, as are the two below.
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
}

impl ApiKeyRecord {
    /// Whether the key authenticates at `now` (epoch ms).
    pub fn usable(&self, now: u64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

/// A graph a tenant ran: its content-addressed workflow (and state machine) name, first
/// created at `created_at`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphRecord {
    pub tenant_id: String,
    /// `graph-<hash>`; the state machine is `switchyard-graph-<hash>`.
    pub workflow: String,
    /// Epoch milliseconds.
    pub created_at: u64,
    /// The node ids, in the order they were sent.
    pub nodes: Vec<String>,
    /// The agents it calls.
    pub agents: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The graph's workflow IR as JSON, from which run pages draw its picture (graphs
    /// recorded before pages existed have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
}

/// A view link as stored: the SHA-256 hex of its token, never the token. It shows one run's
/// page until `expires_at`, and nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewLinkRecord {
    pub token_hash: String,
    pub tenant_id: String,
    pub run_id: String,
    /// Epoch milliseconds, as is `expires_at`.
    pub created_at: u64,
    pub expires_at: u64,
}

impl ViewLinkRecord {
    /// Whether the link still shows its run at `now` (epoch ms).
    pub fn usable(&self, now: u64) -> bool {
        now < self.expires_at
    }
}

/// A step that reached a boundary while its run was paused: its task waits (Step Functions
/// `.waitForTaskToken`) until the run is resumed, which sends the token back, or cancelled,
/// which fails it. The token is read only by [`crate::store::Parked::take_all`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedRecord {
    pub run_id: String,
    /// `<step>` or `<step>#<item>` (see [`ParkedRecord::key_of`]): one wait per step (per
    /// map item) at a time.
    pub park_key: String,
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u64>,
    pub tenant_id: String,
    /// Epoch milliseconds.
    pub parked_at: u64,
}

impl ParkedRecord {
    pub fn key_of(step: &str, item: Option<u64>) -> String {
        match item {
            Some(item) => format!("{step}#{item:05}"),
            None => step.to_owned(),
        }
    }

    /// What the wait is given when its step may go on: `{"step": …}`, which the top level's
    /// router (`run-resumed`) reads to go back to the step (or to a paused branch's parallel
    /// step); a map item's own wait discards it.
    pub fn resume_output(&self) -> String {
        serde_json::json!({ "step": self.step }).to_string()
    }
}

/// Where a paused run stopped: the step (and map item) whose agent was not started. It is
/// the message of the task's `Switchyard.Paused` error, as JSON, so that the shared wait of
/// the top level, which is handed only the caught error's cause, learns which step it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PausedAt {
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u64>,
    /// For people reading the execution's history.
    #[serde(default)]
    pub reason: String,
}

impl PausedAt {
    /// The error message a paused task reports.
    pub fn message(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.reason.clone())
    }

    /// Reads it back from a caught error's cause: a Lambda function's error as Step
    /// Functions reports it (`{"errorType": …, "errorMessage": "<the message>"}`), or the
    /// message itself.
    pub fn from_cause(cause: &str) -> Option<PausedAt> {
        #[derive(Deserialize)]
        struct LambdaError {
            #[serde(rename = "errorMessage")]
            error_message: String,
        }
        let message = match serde_json::from_str::<LambdaError>(cause) {
            Ok(error) => error.error_message,
            Err(_) => cause.to_owned(),
        };
        serde_json::from_str::<PausedAt>(&message)
            .ok()
            .filter(|at| !at.step.is_empty())
    }
}

/// Where a listing resumes: the last item returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor {
    pub id: String,
    pub created_at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<PageCursor>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<PageCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_names_its_step_through_the_caught_cause_and_the_resume_names_it_back() {
        let at = PausedAt {
            step: "pace_step".into(),
            item: None,
            reason: "run `r-1` is paused".into(),
        };
        // As Step Functions reports a Lambda function's error in a caught cause.
        let cause = serde_json::json!({
            "errorType": "Switchyard.Paused",
            "errorMessage": at.message(),
        })
        .to_string();
        assert_eq!(PausedAt::from_cause(&cause), Some(at.clone()));
        assert_eq!(PausedAt::from_cause(&at.message()), Some(at));
        let item = PausedAt {
            step: "square_one".into(),
            item: Some(3),
            reason: String::new(),
        };
        assert_eq!(
            PausedAt::from_cause(&item.message()).and_then(|a| a.item),
            Some(3)
        );
        // Anything else names no step.
        for cause in [
            "",
            "run `r-1` is paused",
            r#"{"errorType":"Switchyard.Paused","errorMessage":"run is paused"}"#,
            r#"{"step":""}"#,
        ] {
            assert_eq!(PausedAt::from_cause(cause), None, "{cause}");
        }
        let parked = ParkedRecord {
            step: "pace_step".into(),
            ..ParkedRecord::default()
        };
        assert_eq!(parked.resume_output(), r#"{"step":"pace_step"}"#);
    }

    #[test]
    fn statuses_round_trip_through_their_names_and_refuse_others() {
        for status in RunStatus::ALL {
            assert_eq!(status.as_str().parse::<RunStatus>().ok(), Some(*status));
            assert_eq!(
                serde_json::to_value(status).ok(),
                Some(serde_json::Value::String(status.to_string()))
            );
        }
        let refused = "runnin".parse::<RunStatus>().err().map(|e| e.to_string());
        assert_eq!(
            refused.as_deref(),
            Some("`runnin` is not a status: use one of running, paused, succeeded, failed, cancelled")
        );
        assert!("pending".parse::<ApprovalStatus>().is_ok());
        assert!("pending".parse::<StepStatus>().is_err());
    }

    #[test]
    fn decisions_are_stored_by_name_and_read_back_as_what_they_mean() {
        for (name, decision) in [
            ("approve", Decision::Approve),
            ("reject", Decision::Reject),
            ("option-b", Decision::Choice("option-b".into())),
        ] {
            assert_eq!(Decision::from(name), decision);
            assert_eq!(serde_json::to_value(&decision).ok(), Some(name.into()));
            assert_eq!(
                serde_json::from_value::<Decision>(name.into()).ok(),
                Some(decision)
            );
        }
        assert_eq!(Decision::Reject.outcome(), ApprovalStatus::Rejected);
        assert_eq!(Decision::from("b").outcome(), ApprovalStatus::Approved);
    }

    /// The attribute names an outcome is read by are exactly the fields it decodes.
    fn attributes_of<T: Serialize>(value: &T) -> Vec<String> {
        let mut keys: Vec<String> = serde_json::to_value(value)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
            .unwrap_or_default();
        keys.sort();
        keys
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn outcomes_are_their_records_narrowed_to_the_attributes_they_read() {
        let mut run = RunRecord::started("r1", "t1", "wf", 1_000);
        run.status = RunStatus::Failed;
        run.finished_at = Some(4_500);
        run.failure_error = Some("Agent.Permanent".into());
        run.output = Some("{}".into());
        let outcome = RunOutcome::from(&run);
        assert_eq!(attributes_of(&outcome), sorted(RunOutcome::ATTRIBUTES));
        assert_eq!(
            serde_json::from_value::<RunOutcome>(serde_json::to_value(&run).unwrap_or_default())
                .ok(),
            Some(outcome.clone())
        );
        assert_eq!(outcome.duration_ms(), Some(3_500));
        assert_eq!(
            RunOutcome::from(&RunRecord::started("r2", "t1", "wf", 1)).duration_ms(),
            None
        );

        let approval = ApprovalRecord {
            request_id: "q".into(),
            run_id: "r1".into(),
            tenant_id: "t1".into(),
            workflow: "wf".into(),
            gate: "g".into(),
            status: ApprovalStatus::Rejected,
            created_at: 100,
            decided_at: Some(130),
            notes: Some("no".into()),
            ..ApprovalRecord::default()
        };
        let outcome = ApprovalOutcome::from(&approval);
        assert_eq!(attributes_of(&outcome), sorted(ApprovalOutcome::ATTRIBUTES));
        assert_eq!(outcome.turnaround_ms(), Some(30_000));
        let deciding = ApprovalOutcome {
            status: ApprovalStatus::Deciding,
            ..outcome
        };
        assert_eq!(deciding.turnaround_ms(), None);
    }

    #[test]
    fn a_runs_spending_is_read_by_its_own_attributes() {
        let mut run = RunRecord::started("r1", "t1", "wf", 1_000);
        run.budget = Some(Budget {
            tokens: Some(500),
            usd: None,
        });
        run.spent_tokens = 120;
        run.spent_usd = 0.25;
        let spending = RunSpending {
            budget: run.budget,
            spent_tokens: 120,
            spent_usd: 0.25,
        };
        assert_eq!(attributes_of(&spending), sorted(RunSpending::ATTRIBUTES));
        assert_eq!(
            serde_json::from_value::<RunSpending>(serde_json::to_value(&run).unwrap_or_default())
                .ok(),
            Some(spending)
        );
        // A record written before budgets existed reads as a run without one.
        let old: RunSpending = serde_json::from_value(serde_json::json!({})).unwrap_or_default();
        assert_eq!((old.budget, old.spent_tokens), (None, 0));
    }

    #[test]
    fn a_budget_sets_positive_limits_within_their_maximum() {
        let budget = |tokens, usd| Budget { tokens, usd };
        assert!(budget(Some(1), None).problems().is_empty());
        assert!(budget(None, Some(0.01)).problems().is_empty());
        assert!(budget(Some(Budget::MAX_TOKENS), Some(Budget::MAX_USD))
            .problems()
            .is_empty());
        let limits = |b: Budget| b.problems().iter().map(|p| p.limit).collect::<Vec<_>>();
        assert_eq!(limits(budget(None, None)), [BudgetLimit::Whole]);
        assert_eq!(limits(budget(Some(0), None)), [BudgetLimit::Tokens]);
        assert_eq!(
            limits(budget(Some(Budget::MAX_TOKENS + 1), Some(0.0))),
            [BudgetLimit::Tokens, BudgetLimit::Usd]
        );
        for usd in [-1.0, f64::NAN, f64::INFINITY, Budget::MAX_USD * 2.0] {
            assert_eq!(limits(budget(None, Some(usd))), [BudgetLimit::Usd], "{usd}");
        }
        let message = budget(None, Some(-2.0)).problems()[0].to_string();
        assert!(message.contains("got -2"), "{message}");
    }

    #[test]
    fn a_budget_given_at_start_replaces_the_declared_one_limit_by_limit() {
        let declared = Budget {
            tokens: Some(200_000),
            usd: Some(5.0),
        };
        let given = Budget {
            tokens: Some(10),
            usd: None,
        };
        assert_eq!(
            declared.overridden_by(given),
            Budget {
                tokens: Some(10),
                usd: Some(5.0)
            }
        );
        assert_eq!(Budget::default().overridden_by(given), given);
    }

    #[test]
    fn attempt_keys_sort_by_step_round_item_attempt() {
        let key = |round, item, attempt| {
            AttemptKey {
                step: "write",
                item,
                round,
                attempt,
            }
            .step_key()
        };
        // Steps outside loops keep the keys they always had.
        assert_eq!(key(None, None, 1), "write#01");
        assert_eq!(key(None, Some(7), 2), "write#00007#02");
        assert!(key(None, Some(2), 9) < key(None, Some(10), 1));
        // Each entry of a looped step has keys of its own, in the order the run made them.
        assert_eq!(key(Some(3), None, 0), "write#r0003#00");
        assert_eq!(key(Some(3), Some(7), 1), "write#r0003#00007#01");
        assert_ne!(key(Some(1), None, 0), key(Some(2), None, 0));
        assert!(key(Some(9), None, 2) < key(Some(10), None, 0));
        assert!(key(Some(1), Some(99), 3) < key(Some(2), Some(0), 0));
    }
}
