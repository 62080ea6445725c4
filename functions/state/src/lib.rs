//! Switchyard's run state, owned in one place.
//!
//! - [`schema`]: the tables (names, keys, indexes), the environment variables that hand
//!   their names and the rest of a deployment's wiring to its functions, the platform
//!   functions, and the run-tracker's phases. The compiler's CloudFormation back end renders
//!   the tables from it; nothing else spells a table, key or index.
//! - [`record`]: the typed records (runs, steps, approvals, API keys, graphs, view links)
//!   and their statuses.
//! - [`trace`]: conversation traces (each model exchange of a step attempt) and where an
//!   attempt's trace is stored.
//! - `store` (feature `dynamodb`): every read and write, with the rules that keep records
//!   honest (conditional creates, a finished run never rewritten, an attempt counted once,
//!   approval transitions from the right status only). Items map to records through
//!   `serde_dynamo`; a field's name is its attribute's name.

pub mod record;
pub mod schema;
#[cfg(feature = "dynamodb")]
pub mod store;
pub mod trace;

pub use record::*;
#[cfg(feature = "dynamodb")]
pub use store::{now_ms, State, StateError, TableNames};
