//! The workflow IR: what a `workflow!` declaration means, independent of how it is written or
//! where it is deployed.
//!
//! The macros lower a declaration into a [`Workflow`]; [`validate`] checks it (the macros run
//! the same checks at `cargo build` and attach spans to the errors); [`estimate`] computes
//! static per-run bounds; the compiler's back ends turn it into Amazon States Language,
//! Mermaid and deployment manifests.

mod analysis;
mod graph;
mod model_name;
mod stages;
mod valid;

pub use analysis::{estimate, Estimate, MAX_HISTORY_EVENTS, USD_PER_TRANSITION};
pub use graph::*;
pub use model_name::{
    model_override_variable, parse_model_name, ModelName, ModelNameError, EMBEDDED_VARIANT,
    MODEL_PROVIDERS,
};
pub use stages::{stages, StageError};
pub use valid::{
    check_agent_name, closest, known_error_names, resource_key, validate, ErrorKind, Locus,
    RetryKey, Setting, ValidationError, BUDGET_EXCEEDED, MAX_SUMMARY_FIELDS,
    MAX_SUMMARY_LABEL_CHARS,
};

/// Step Functions' limit on state and state machine names.
pub const MAX_NAME_LEN: usize = 80;
/// Lambda's limit on function names.
pub const MAX_FUNCTION_NAME_LEN: usize = 64;
/// Step Functions' limit on a state machine definition, in bytes.
pub const MAX_DEFINITION_BYTES: usize = 1_048_576;
/// Prefix of every Lambda function and state machine Switchyard deploys.
pub const RESOURCE_PREFIX: &str = "switchyard-";
/// Prefix of the workflows the Run API builds from graphs sent at run time (after
/// [`RESOURCE_PREFIX`], of their state machines).
pub const GRAPH_WORKFLOW_PREFIX: &str = "graph-";

/// The Lambda function an agent deploys as: `switchyard-<name>` with `_` as `-`.
pub fn function_name(agent: &str) -> String {
    format!("{RESOURCE_PREFIX}{}", agent.replace('_', "-"))
}
