//! The seed agents and workflows: the five systems Switchyard replaces, declared in Rust.
//!
//! Each module holds one workflow: its data types, its agents (`#[agent]`) and its graph
//! (`workflow!`). Nothing lists them: the compiler and the Lambda binary find them through
//! their registrations.
//!
//! Agents whose job is judgement or writing ask the model for a typed answer holding only
//! what the model decides (`ctx.model.ask::<T>()`), check it against what the code knows,
//! and build their output from it and the data the code owns; agents that compute (the
//! campaign analyst's statistics, schedulers, totals) stay code.

pub mod bench;
pub mod campaign;
pub mod dev_team;
pub mod enterprise;
pub mod movie;
pub mod sales;
pub mod self_test;

#[cfg(test)]
mod scripted;
mod text;

/// Forces this crate to be linked (and so its registrations to exist) in binaries that
/// otherwise only reach it through the registries.
pub fn link() {}
