//! The Switchyard run API: start runs, follow them step by step, list, cancel, read their
//! timelines and logs, and decide approvals — per tenant, authenticated by API keys.
//!
//! [`Api::handle`] is the whole API as a function from [`ApiRequest`] to [`ApiResponse`]; it
//! knows no HTTP server. [`function_url`] adapts it to Lambda Function URL events, and the
//! `switchyard serve` command to a local HTTP server. Everything outside the process (tables,
//! state machines, logs) is behind [`Backend`]; [`AwsBackend`] is the deployed one, and the
//! unit tests use an in-memory one.
//!
//! Invariants:
//! - a tenant never sees or acts on another tenant's runs or approvals: they answer 404, the
//!   same as runs that do not exist, so ids cannot be probed;
//! - every answer is JSON but a run's page (HTML), errors are `{error, message, field?}`, and
//!   nothing a client sends can produce a 5xx (503 means AWS itself failed);
//! - a view link shows one run's page and its polled state, and authorizes nothing else;
//! - approvals are decided only through `ApprovalStore::decide`, as every other way of
//!   deciding is.

mod api;
mod aws;
mod backend;
mod error;
pub mod function_url;
mod http;
pub mod keys;
mod logs;
#[cfg(test)]
mod memory;
pub mod reconcile;
mod request;
mod route;
mod run_page;
mod timeline;
mod view_link;
mod views;

pub use api::Api;
pub use aws::AwsBackend;
pub use backend::{
    ApprovalRecord, Backend, BackendError, Execution, ExecutionStatus, HistoryItem, LogEvent, Page,
    PageCursor, PageRequest, RunEnd, RunFilter, RunRecord, StepRecord,
};
pub use error::ApiError;
pub use http::{ApiRequest, ApiResponse};
/// What `Api::from_env` and `ApiKeys::from_env` fail with: a missing variable.
pub use switchyard_lambda::ConfigError;
