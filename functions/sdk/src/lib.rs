//! The crate Switchyard users depend on.
//!
//! ```text
//! use switchyard_sdk::{agent, workflow, AgentContext, AgentError};
//!
//! #[agent]
//! /// Scores a lead.
//! async fn scorer(lead: Lead, ctx: AgentContext) -> Result<Score, AgentError> { ... }
//!
//! workflow! {
//!     /// Score then notify.
//!     pub LeadFlow(Lead) {
//!         score = scorer -> notify;
//!         notify = notifier -> end;
//!     }
//! }
//! ```
//!
//! `#[agent]` turns an async function into an [`Agent`]; `workflow!` checks the graph at
//! `cargo build` and registers it so `cargo run -p compiler` finds it.

extern crate self as switchyard_sdk;

mod agent;
mod approval;
pub mod flow;
mod model;
mod registry;
pub mod schema;
mod sender;
pub mod shape;

pub use agent::{Agent, AgentContext, AgentError, RunContext};
pub use approval::{ApprovalDecision, Approved};
pub use model::{
    approx_tokens, AssistantTurn, Chat, Completion, EmbeddedModel, Model, ModelError, ModelRequest,
    OutputSchema, Prompt, Reply, Tool, ToolCall, ToolResult, ToolSpec, Turn,
};
pub use registry::{
    agents, workflows, AgentRegistration, InputError, WorkflowDef, WorkflowRegistration,
};
pub use sender::{MemoryOutbox, OutboundMessage, SendError, SendReceipt, Sender};
pub use shape::JsonShape;
pub use switchyard_ir as ir;
pub use switchyard_macros::{agent, workflow, JsonShape};

/// A boxed, sendable future, as returned by [`Agent::run`] and [`Model::complete`].
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Data produced by one step may be consumed by the next.
///
/// Every type flows into itself. Implement it for a pair of types whose JSON forms are
/// compatible (the data crosses Step Functions as JSON) to connect steps whose Rust types
/// differ, e.g. a join struct fed by a parallel step's tuple.
#[diagnostic::on_unimplemented(
    message = "the data `{Self}` cannot flow into a step that takes `{T}`",
    label = "this edge carries `{Self}`, the step it leads to takes `{T}`",
    note = "connect steps whose types match, or implement `FlowsInto<{T}>` for `{Self}` if their JSON forms are compatible"
)]
pub trait FlowsInto<T> {}

impl<T> FlowsInto<T> for T {}

/// Used by the code `#[agent]` and `workflow!` generate; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
    pub use serde_json;

    use crate::FlowsInto;

    /// The agent's input schema, through its `Agent` impl: a type without `JsonShape` is
    /// reported once, at the signature.
    pub fn input_schema<A: crate::Agent>() -> serde_json::Value {
        crate::schema::schema_of::<A::Input>()
    }

    pub fn output_schema<A: crate::Agent>() -> serde_json::Value {
        crate::schema::schema_of::<A::Output>()
    }

    pub fn input_shape<A: crate::Agent>() -> &'static crate::shape::Shape {
        const { &<A::Input as crate::JsonShape>::SHAPE }
    }

    pub fn output_shape<A: crate::Agent>() -> &'static crate::shape::Shape {
        const { &<A::Output as crate::JsonShape>::SHAPE }
    }

    /// Compiles only if data of type `S` may feed a step taking `T`.
    pub fn assert_flows<S: FlowsInto<T>, T>() {}

    /// Compiles only if every element of `items` may feed a step taking `T`.
    pub fn assert_items<I, T>(_items: I)
    where
        I: IntoIterator,
        I::Item: FlowsInto<T>,
    {
    }

    /// Deserialises `value` as `T` only to report where it does not fit.
    pub fn check_input<T: serde::de::DeserializeOwned>(
        value: serde_json::Value,
    ) -> Result<(), crate::InputError> {
        crate::InputError::decode::<T>(value, "input").map(drop)
    }

    /// `std::any::type_name` without the crate-internal noise of references.
    pub fn type_name<T: ?Sized>() -> String {
        std::any::type_name::<T>().to_owned()
    }
}
