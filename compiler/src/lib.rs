//! The Switchyard compiler: the `compiler` binary (`main.rs`) discovers every linked workflow
//! and writes what `switchyard_back` renders. The back ends live in `compiler/back` so the
//! `workflow!` macro can run the same whole-definition checks at `cargo build`.

pub use switchyard_back::*;

/// What the compiler knows of every agent linked into this binary, from its registration.
pub fn linked_agents() -> Vec<AgentInfo> {
    switchyard_sdk::agents()
        .into_iter()
        .map(|a| AgentInfo {
            name: a.name.to_owned(),
            description: a.description.to_owned(),
            capabilities: a.capabilities.iter().map(|c| (*c).to_owned()).collect(),
            model: a.model.map(str::to_owned),
            input_type: (a.input_type)(),
            output_type: (a.output_type)(),
            input_schema: (a.input_schema)(),
            output_schema: (a.output_schema)(),
        })
        .collect()
}
