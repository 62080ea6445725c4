//! The seed agents and workflows: the five systems Switchyard replaces, declared in Rust.
//!
//! Each module holds one workflow: its data types, its agents (`#[agent]`) and its graph
//! (`workflow!`). Nothing lists them: the compiler and the Lambda binary find them through
//! their registrations.

pub mod bench;
pub mod campaign;
pub mod dev_team;
pub mod enterprise;
pub mod movie;
pub mod sales;
pub mod self_test;

/// Forces this crate to be linked (and so its registrations to exist) in binaries that
/// otherwise only reach it through the registries.
pub fn link() {}
