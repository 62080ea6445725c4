use serde_json::Value;

use crate::{AgentContext, AgentError, BoxFuture};

/// A declared workflow. Implemented by `workflow!`.
pub trait WorkflowDef {
    /// The run input.
    type Input;
    /// Kebab-case name; the state machine is `switchyard-<NAME>`.
    const NAME: &'static str;
    /// The workflow's graph.
    fn definition() -> crate::ir::Workflow;
}

/// Every `#[agent]` registers one, so a single binary can serve any agent by name.
pub struct AgentRegistration {
    pub name: &'static str,
    pub description: &'static str,
    /// `#[agent(capabilities = [...])]`, in declaration order.
    pub capabilities: &'static [&'static str],
    /// `#[agent(model = "...")]`: see [`crate::Agent::MODEL`].
    pub model: Option<&'static str>,
    pub input_type: fn() -> String,
    pub output_type: fn() -> String,
    /// JSON Schemas of the JSON the input and output serialize to (see [`crate::schema`]).
    pub input_schema: fn() -> Value,
    pub output_schema: fn() -> Value,
    /// The shapes behind the schemas, for checking edges of graphs built at run time.
    pub input_shape: fn() -> &'static crate::shape::Shape,
    pub output_shape: fn() -> &'static crate::shape::Shape,
    /// Checks a value against the input type, naming the bad field.
    pub check_input: fn(Value) -> Result<(), InputError>,
    /// Deserialises the input, runs the agent, serialises the output.
    pub invoke: fn(Value, AgentContext) -> BoxFuture<'static, Result<Value, AgentError>>,
}

/// Every `workflow!` registers one, so the compiler needs no hand-kept list.
pub struct WorkflowRegistration {
    pub name: &'static str,
    pub definition: fn() -> crate::ir::Workflow,
    /// Checks a run input against the workflow's input type, naming the bad field.
    pub check_input: fn(Value) -> Result<(), InputError>,
}

/// Why a run input does not fit the workflow's input type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InputError {
    /// Dotted path of the offending field (`items[0].quantity`), or `input` for the whole.
    pub field: String,
    pub message: String,
}

impl InputError {
    /// `value` as `T`, or where it does not fit: the field is serde's path to the problem (a
    /// missing field named itself, not its parent), `root` when the whole does not fit.
    pub fn decode<T: serde::de::DeserializeOwned>(
        value: serde_json::Value,
        root: &str,
    ) -> Result<T, InputError> {
        serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            let message = error.into_inner().to_string();
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next());
            let field = match (path.as_str(), missing) {
                (".", Some(name)) => name.to_owned(),
                (parent, Some(name)) => format!("{parent}.{name}"),
                (".", None) => root.to_owned(),
                (path, None) => path.to_owned(),
            };
            InputError { field, message }
        })
    }
}

inventory::collect!(AgentRegistration);
inventory::collect!(WorkflowRegistration);

/// Every agent linked into this binary, sorted by name.
pub fn agents() -> Vec<&'static AgentRegistration> {
    let mut all: Vec<_> = inventory::iter::<AgentRegistration>().collect();
    all.sort_by_key(|a| a.name);
    all
}

/// Every workflow linked into this binary, sorted by name.
pub fn workflows() -> Vec<&'static WorkflowRegistration> {
    let mut all: Vec<_> = inventory::iter::<WorkflowRegistration>().collect();
    all.sort_by_key(|w| w.name);
    all
}
