//! Reading what clients send: the API key, JSON bodies and query strings. Pure, so every
//! rule is unit-tested; each refusal names the field it is about.

mod body;
mod budget;
mod credentials;
mod decision;
pub mod graph;
mod params;
mod start;

pub use credentials::{api_key, key_identity};
pub use decision::decision;
pub use params::{
    approval_status, encode_cursor, event_page, log_level, page, query, run_filter, view_ttl,
    LOG_LEVELS,
};
pub use start::start_run;
