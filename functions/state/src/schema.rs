//! The tables as data: names, keys and indexes. The CloudFormation back end renders them,
//! the deploy script creates DynamoDB Local's tables from that template, and the stores
//! query through them, so a table, key or index is spelled once, here.

/// A key attribute's DynamoDB type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeType {
    S,
    N,
}

impl AttributeType {
    pub const fn as_str(self) -> &'static str {
        match self {
            AttributeType::S => "S",
            AttributeType::N => "N",
        }
    }
}

/// A key attribute: its name (the record field serde writes) and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub kind: AttributeType,
}

const fn s(name: &'static str) -> Key {
    Key {
        name,
        kind: AttributeType::S,
    }
}

const fn n(name: &'static str) -> Key {
    Key {
        name,
        kind: AttributeType::N,
    }
}

/// What an index copies from the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
}

impl Projection {
    pub const fn as_str(self) -> &'static str {
        match self {
            Projection::All => "ALL",
            Projection::KeysOnly => "KEYS_ONLY",
        }
    }
}

/// A global secondary index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub hash: Key,
    pub range: Option<Key>,
    pub projection: Projection,
}

/// One table: how the template names it, which variable hands its name to a function, its
/// key schema and its indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub table: Table,
    /// The template's logical id.
    pub logical_id: &'static str,
    /// The name after the deployment's prefix (`switchyard-` by default).
    pub suffix: &'static str,
    /// The environment variable holding the table's name in every function.
    pub env_var: &'static str,
    pub hash: Key,
    pub range: Option<Key>,
    pub indexes: &'static [Index],
    /// The attribute (epoch seconds) after which DynamoDB may delete an item: its Time to
    /// Live. Deletion is lazy, so readers check it too.
    pub ttl: Option<&'static str>,
}

/// Switchyard's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// One item per run: who started it, where it is, how it ended, its totals.
    Runs,
    /// One item per step attempt (per map item inside a map).
    Steps,
    /// One item per approval request, with the task token that resumes the run.
    Approvals,
    /// One item per API key, stored as the key's SHA-256.
    ApiKeys,
    /// One item per graph a tenant ran (sent as JSON, built at run time): what bounds how
    /// many distinct graphs, so state machines, a tenant can create.
    Graphs,
    /// One item per step waiting at a boundary of a paused run, with the task token that
    /// lets it go on.
    Parked,
    /// One item per view link: a short-lived token (stored as its SHA-256) that shows one
    /// run's page and nothing else. Apart from the API keys table, so no view token can
    /// ever be read as a key, and the API may write links but not keys.
    ViewLinks,
    /// One item per cached model reply (opt-in, per tenant): keyed by the SHA-256 of the
    /// tenant, the model and the request, kept until its `expires_at`.
    ModelCache,
}

/// A tenant's items newest first (runs, approvals).
pub const BY_TENANT: Index = Index {
    name: "by-tenant",
    hash: s("tenant_id"),
    range: Some(n("created_at")),
    projection: Projection::All,
};

/// Runs by status, newest first: what is running, across tenants (the reconciler's sweep).
pub const RUNS_BY_STATUS: Index = Index {
    name: "by-status",
    hash: s("status"),
    range: Some(n("created_at")),
    projection: Projection::KeysOnly,
};

/// A run's approval requests.
pub const APPROVALS_BY_RUN: Index = Index {
    name: "by-run",
    hash: s("run_id"),
    range: None,
    projection: Projection::All,
};

/// A tenant's attempts of one agent, newest first (`tenant_agent` is `<tenant>#<agent>`):
/// the registry's health over a recent window, one query per agent.
pub const STEPS_BY_AGENT: Index = Index {
    name: "by-agent",
    hash: s("tenant_agent"),
    range: Some(n("started_at")),
    projection: Projection::All,
};

const RUNS: TableSpec = TableSpec {
    table: Table::Runs,
    logical_id: "RunsTable",
    suffix: "runs",
    env_var: "RUNS_TABLE",
    hash: s("run_id"),
    range: None,
    indexes: &[BY_TENANT, RUNS_BY_STATUS],
    ttl: None,
};

const STEPS: TableSpec = TableSpec {
    table: Table::Steps,
    logical_id: "StepsTable",
    suffix: "steps",
    env_var: "STEPS_TABLE",
    hash: s("run_id"),
    range: Some(s("step_key")),
    indexes: &[STEPS_BY_AGENT],
    ttl: None,
};

const APPROVALS: TableSpec = TableSpec {
    table: Table::Approvals,
    logical_id: "ApprovalsTable",
    suffix: "approvals",
    env_var: "APPROVALS_TABLE",
    hash: s("request_id"),
    range: None,
    indexes: &[APPROVALS_BY_RUN, BY_TENANT],
    ttl: None,
};

const API_KEYS: TableSpec = TableSpec {
    table: Table::ApiKeys,
    logical_id: "ApiKeysTable",
    suffix: "api-keys",
    env_var: "API_KEYS_TABLE",
    hash: s("key_hash"),
    range: None,
    indexes: &[],
    ttl: None,
};

const GRAPHS: TableSpec = TableSpec {
    table: Table::Graphs,
    logical_id: "GraphsTable",
    suffix: "graphs",
    env_var: "GRAPHS_TABLE",
    hash: s("tenant_id"),
    range: Some(s("workflow")),
    indexes: &[],
    ttl: None,
};

const PARKED: TableSpec = TableSpec {
    table: Table::Parked,
    logical_id: "ParkedTable",
    suffix: "parked",
    env_var: "PARKED_TABLE",
    hash: s("run_id"),
    range: Some(s("park_key")),
    indexes: &[],
    ttl: None,
};

const VIEW_LINKS: TableSpec = TableSpec {
    table: Table::ViewLinks,
    logical_id: "ViewLinksTable",
    suffix: "view-links",
    env_var: "VIEW_LINKS_TABLE",
    hash: s("token_hash"),
    range: None,
    indexes: &[],
    ttl: None,
};

const MODEL_CACHE: TableSpec = TableSpec {
    table: Table::ModelCache,
    logical_id: "ModelCacheTable",
    suffix: "model-cache",
    env_var: "MODEL_CACHE_TABLE",
    hash: s("cache_key"),
    range: None,
    indexes: &[],
    ttl: Some("expires_at"),
};

/// The prefix `infra/deploy` gives table names unless told otherwise.
pub const DEFAULT_TABLE_PREFIX: &str = "switchyard-";

impl Table {
    pub const ALL: [Table; 8] = [
        Table::Runs,
        Table::Steps,
        Table::Approvals,
        Table::ApiKeys,
        Table::Graphs,
        Table::Parked,
        Table::ViewLinks,
        Table::ModelCache,
    ];

    pub const fn spec(self) -> &'static TableSpec {
        match self {
            Table::Runs => &RUNS,
            Table::Steps => &STEPS,
            Table::Approvals => &APPROVALS,
            Table::ApiKeys => &API_KEYS,
            Table::Graphs => &GRAPHS,
            Table::Parked => &PARKED,
            Table::ViewLinks => &VIEW_LINKS,
            Table::ModelCache => &MODEL_CACHE,
        }
    }

    /// The short name deployment files and the CLI use (`runs`, `api_keys`).
    pub const fn key(self) -> &'static str {
        match self {
            Table::Runs => "runs",
            Table::Steps => "steps",
            Table::Approvals => "approvals",
            Table::ApiKeys => "api_keys",
            Table::Graphs => "graphs",
            Table::Parked => "parked",
            Table::ViewLinks => "view_links",
            Table::ModelCache => "model_cache",
        }
    }

    /// The table's name under `prefix`.
    pub fn name_with_prefix(self, prefix: &str) -> String {
        format!("{prefix}{}", self.spec().suffix)
    }
}

/// The names a deployment hands its functions through the environment, besides the tables'.
pub mod env {
    /// What a deployed function serves: an agent's name or a [`super::PlatformFunction`].
    pub const FUNCTION: &str = "SWITCHYARD_FUNCTION";
    /// The bucket for step outputs too large for Step Functions.
    pub const PAYLOAD_BUCKET: &str = "PAYLOAD_BUCKET";
    /// `arn:…:stateMachine:switchyard-`; a workflow's name completes it.
    pub const STATE_MACHINE_ARN_PREFIX: &str = "STATE_MACHINE_ARN_PREFIX";
    /// The role state machines built from graphs at run time assume (it may invoke every
    /// agent function and nothing else); without it the API builds no graphs.
    pub const GRAPH_ROLE_ARN: &str = "GRAPH_ROLE_ARN";
    /// The approval callback's Function URL, which signed links point at.
    pub const APPROVAL_CALLBACK_URL: &str = "APPROVAL_CALLBACK_URL";
    /// The SSM parameter (its name, never its value) holding the secret(s) approval links
    /// are signed with.
    pub const APPROVAL_LINK_SECRET_PARAMETER: &str = "APPROVAL_LINK_SECRET_PARAMETER";
    /// Changes when the secret is rotated, so the functions start again and re-read it.
    pub const APPROVAL_LINK_SECRET_VERSION: &str = "APPROVAL_LINK_SECRET_VERSION";
    /// `development` or `production`.
    pub const APP_ENVIRONMENT: &str = "APP_ENVIRONMENT";
    /// In development, gates decide themselves.
    pub const AUTO_APPROVE_IN_DEV: &str = "AUTO_APPROVE_IN_DEV";
    /// `provider:model` of the model agents ask.
    pub const PRIMARY_MODEL: &str = "PRIMARY_MODEL";
    /// Literal strings (comma-separated) replaced by `[redacted]` wherever they appear in a
    /// conversation trace, besides the values of the provider key variables.
    pub const TRACE_REDACT: &str = "TRACE_REDACT";
    /// `provider:model` of the model one agent's function asks, set per function at deploy
    /// time; over the agent's declared model and `PRIMARY_MODEL`.
    pub const AGENT_MODEL: &str = "AGENT_MODEL";
}

/// The functions every deployment has besides its agents, by their `SWITCHYARD_FUNCTION`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlatformFunction {
    /// A gate's `.waitForTaskToken` task: stores the request, signs links, notifies.
    ApprovalRequest,
    /// Records run starts and ends, and expires a gate's requests when its wait times out.
    RunTracker,
    /// The signed links' Function URL.
    ApprovalCallback,
    /// The Run API's Function URL.
    Api,
}

impl PlatformFunction {
    pub const ALL: [PlatformFunction; 4] = [
        PlatformFunction::ApprovalRequest,
        PlatformFunction::RunTracker,
        PlatformFunction::ApprovalCallback,
        PlatformFunction::Api,
    ];

    /// Its `SWITCHYARD_FUNCTION` value; the deployed function is `switchyard-<this>`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PlatformFunction::ApprovalRequest => "approval-request",
            PlatformFunction::RunTracker => "run-tracker",
            PlatformFunction::ApprovalCallback => "approval-callback",
            PlatformFunction::Api => "api",
        }
    }

    pub fn from_name(name: &str) -> Option<PlatformFunction> {
        PlatformFunction::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
    }
}

/// What a state machine tells the run-tracker itself (its `phase` field). Runs starting
/// and ending reach the tracker as Step Functions' execution status-change events, not from
/// the state machines: the only call left in a definition is on a gate's timeout path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackerPhase {
    /// A gate's wait timed out: its pending requests can no longer be decided.
    ApprovalExpired,
    /// A step reached a boundary of a paused run: its task token is kept until the run is
    /// resumed (or cancelled).
    Parked,
}

impl TrackerPhase {
    pub const fn as_str(self) -> &'static str {
        match self {
            TrackerPhase::ApprovalExpired => "approval_expired",
            TrackerPhase::Parked => "parked",
        }
    }
}

/// The error an agent task reports when its run is paused: the task did not start the agent,
/// and every definition catches it first, into a wait (the top level's `run-parked`, which a
/// parallel step catches for its branches, or a map item's `<step>-parked`); its message is a
/// [`crate::PausedAt`]. Retriers that
/// would match it (`States.ALL`, `States.TaskFailed`) are preceded by one that never retries
/// it.
pub const PAUSED_ERROR: &str = "Switchyard.Paused";

/// The error a run failed with when its own failure was named `States.*` and definitions
/// routed every failure through a Fail state (which cannot raise those); its cause is the
/// original `{"Error", "Cause"}` as JSON. Definitions no longer do (an unhandled error fails
/// the execution as it is); the run-tracker still reads such runs' errors back.
pub const RUNTIME_ERROR: &str = "Switchyard.Runtime";

/// The execution statuses that end a run, as Step Functions names them in its status-change
/// events: the template's rule sends the run-tracker these and no others (a run's start is
/// the Run API's write).
pub const RUN_END_STATUSES: [&str; 5] = [
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
    "PENDING_REDRIVE",
];

/// The CloudWatch metrics the functions emit as Embedded Metric Format lines and the
/// template's dashboard plots: one definition, so the dashboard names only what is emitted.
pub mod metrics {
    /// The namespace every metric is published under.
    pub const NAMESPACE: &str = "Switchyard";

    /// The dimensions metrics are split by.
    pub const WORKFLOW: &str = "Workflow";
    pub const AGENT: &str = "Agent";
    pub const GATE: &str = "Gate";

    /// A metric's unit, as CloudWatch names it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Unit {
        Milliseconds,
        Count,
        None,
    }

    impl Unit {
        pub const fn as_str(self) -> &'static str {
            match self {
                Unit::Milliseconds => "Milliseconds",
                Unit::Count => "Count",
                Unit::None => "None",
            }
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Metric {
        pub name: &'static str,
        pub unit: Unit,
    }

    /// What one kind of event reports: the dimension sets each of its metrics is published
    /// under, and the metrics.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct MetricSet {
        pub dimensions: &'static [&'static [&'static str]],
        pub metrics: &'static [Metric],
    }

    const fn metric(name: &'static str, unit: Unit) -> Metric {
        Metric { name, unit }
    }

    /// One agent attempt's time, from its input resolved to its output offloaded.
    pub const AGENT_LATENCY: Metric = metric("AgentLatency", Unit::Milliseconds);
    /// 1 for an attempt that succeeded, else 0 (so the average is the success rate).
    pub const AGENT_SUCCEEDED: Metric = metric("AgentSucceeded", Unit::Count);
    /// 1 for an attempt that failed, else 0.
    pub const AGENT_FAILED: Metric = metric("AgentFailed", Unit::Count);
    /// Model tokens an attempt used, in and out.
    pub const TOKENS: Metric = metric("Tokens", Unit::Count);
    /// What an attempt's model calls cost, in US dollars.
    pub const COST_USD: Metric = metric("CostUSD", Unit::None);
    /// 1 for a run that ended this way, else 0 (one of the three is 1 at every end).
    pub const RUN_SUCCEEDED: Metric = metric("RunSucceeded", Unit::Count);
    pub const RUN_FAILED: Metric = metric("RunFailed", Unit::Count);
    pub const RUN_CANCELLED: Metric = metric("RunCancelled", Unit::Count);
    /// A run's time from its execution's start to its end.
    pub const RUN_DURATION: Metric = metric("RunDuration", Unit::Milliseconds);
    /// From an approval request's creation to its decision.
    pub const APPROVAL_TURNAROUND: Metric = metric("ApprovalTurnaround", Unit::Milliseconds);

    /// Each finished agent attempt (the agent runtime).
    pub const AGENT_ATTEMPT: MetricSet = MetricSet {
        dimensions: &[&[WORKFLOW, AGENT], &[AGENT]],
        metrics: &[
            AGENT_LATENCY,
            AGENT_SUCCEEDED,
            AGENT_FAILED,
            TOKENS,
            COST_USD,
        ],
    };
    /// Each run's end (the run-tracker).
    pub const RUN_END: MetricSet = MetricSet {
        dimensions: &[&[WORKFLOW]],
        metrics: &[RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELLED, RUN_DURATION],
    };
    /// Each approval decision (the one decision path).
    pub const APPROVAL_DECISION: MetricSet = MetricSet {
        dimensions: &[&[WORKFLOW, GATE]],
        metrics: &[APPROVAL_TURNAROUND],
    };

    /// Everything the functions emit.
    pub const ALL: [MetricSet; 3] = [AGENT_ATTEMPT, RUN_END, APPROVAL_DECISION];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_indexes_key_on_typed_attributes() {
        let mut seen = std::collections::BTreeSet::new();
        for table in Table::ALL {
            let spec = table.spec();
            assert_eq!(spec.table, table);
            assert!(seen.insert(spec.suffix) && seen.insert(spec.logical_id));
            assert!(seen.insert(spec.env_var));
            for index in spec.indexes {
                // An index key the table also keys on must have the same type.
                for key in [Some(index.hash), index.range].into_iter().flatten() {
                    for own in [Some(spec.hash), spec.range].into_iter().flatten() {
                        if own.name == key.name {
                            assert_eq!(own.kind, key.kind, "{}.{}", spec.suffix, key.name);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn metric_names_are_unique_and_dimension_sets_within_limits() {
        let mut names = std::collections::BTreeSet::new();
        for set in metrics::ALL {
            for metric in set.metrics {
                assert!(names.insert(metric.name), "{} twice", metric.name);
            }
            // CloudWatch takes at most 30 dimensions per metric.
            assert!(set
                .dimensions
                .iter()
                .all(|d| !d.is_empty() && d.len() <= 30));
        }
    }

    #[test]
    fn tracker_phases_serialize_as_their_names() {
        let phase = TrackerPhase::ApprovalExpired;
        assert_eq!(
            serde_json::to_value(phase).ok(),
            Some(serde_json::Value::String(phase.as_str().into()))
        );
    }
}
