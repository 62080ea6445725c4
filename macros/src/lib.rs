//! Switchyard's front end: `#[agent]` and `workflow!`.
//!
//! Layout follows thiserror's: `ast` parses into our own types, `lower` resolves names and
//! builds the IR (running the IR's own validation and attaching spans to its errors),
//! `expand` generates code. Parsing never generates code; codegen never validates.

mod agent;
mod ctxt;
mod shape;
mod workflow;

use proc_macro::TokenStream;

/// Turns `async fn name(input: In, ctx: AgentContext) -> Result<Out, E>` into an agent.
///
/// The function stays as written; next to it a type `name` implements
/// `switchyard_sdk::Agent` (so workflows refer to it by the same path) and the agent is
/// registered for the multi-agent Lambda binary.
#[proc_macro_attribute]
pub fn agent(args: TokenStream, item: TokenStream) -> TokenStream {
    agent::expand(args.into(), item.into()).into()
}

/// Declares a workflow; see the README for the language.
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    workflow::expand(input.into()).into()
}

/// Describes the JSON serde writes for a type (`switchyard_sdk::JsonShape`), read from the
/// same `#[serde(...)]` attributes. Derive it next to `Serialize` on every type that flows
/// through a workflow. A field of a type from another crate that cannot derive it declares
/// its JSON: `#[shape(string)]` (or `number`, `integer`, `bool`, `array`, `object`, `opaque`).
#[proc_macro_derive(JsonShape, attributes(serde, shape))]
pub fn derive_json_shape(input: TokenStream) -> TokenStream {
    shape::derive(input.into()).into()
}
