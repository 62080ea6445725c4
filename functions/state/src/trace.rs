//! Conversation traces: every model exchange of a step attempt, as the agent runtime saw it
//! (the request, the reply or the error, tokens, cost, latency, whether the response cache
//! answered), with secrets already redacted.
//!
//! An attempt's trace is stored by the attempt's one finish write: inline on its step item
//! (the `trace` attribute, JSON text) when it serializes to at most [`INLINE_TRACE_BYTES`],
//! else in the payload bucket under [`TRACE_PREFIX`]`<run>/` with a [`TraceObject`] on the
//! item (`trace_object`). Step records ([`crate::StepRecord`]) are read without either: only
//! the trace endpoint reads them, through [`StepTraceRecord`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The largest trace kept on its step item (serialized JSON); larger ones go to S3.
pub const INLINE_TRACE_BYTES: usize = 16 * 1024;
/// Where offloaded traces live in the payload bucket: `traces/<run>/<attempt>-<id>.json`.
pub const TRACE_PREFIX: &str = "traces/";
/// The largest offloaded trace the API reads back.
pub const MAX_TRACE_OBJECT_BYTES: u64 = 32 * 1024 * 1024;
/// What replaces a secret in a trace.
pub const REDACTED: &str = "[redacted]";

/// Every model exchange of one attempt, in the order they were made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttemptTrace {
    pub exchanges: Vec<ModelExchange>,
}

/// One request to the model and what came of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelExchange {
    /// 1 for the attempt's first exchange: tool rounds and corrections each add one.
    pub round: u32,
    /// `provider:model`.
    pub model: String,
    pub request: ExchangeRequest,
    /// What the model answered; absent when the exchange failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ExchangeReply>,
    /// For a cached exchange: what the cached reply spent once, saved this time.
    #[serde(default)]
    pub tokens_in: u32,
    #[serde(default)]
    pub tokens_out: u32,
    #[serde(default)]
    pub cost_usd: f64,
    pub latency_ms: u64,
    /// Answered from the tenant's response cache, without calling the provider.
    #[serde(default)]
    pub cached: bool,
    /// Why the exchange failed (the model error's text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What was asked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRequest {
    pub system: String,
    pub user: String,
    /// The conversation since the prompt: earlier replies, tool results, corrections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<Value>,
    /// The name of the schema a structured answer must fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<String>,
    /// The tools offered, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Set when the request opted in to the response cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_ttl_s: Option<u32>,
}

/// What the model answered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExchangeReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<TracedToolCall>,
}

/// A tool call the model asked for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TracedToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

/// An offloaded trace: where in the payload bucket, how large, its SHA-256 (hex).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceObject {
    pub key: String,
    pub bytes: u64,
    pub sha256: String,
}

impl TraceObject {
    /// The key prefix of `run_id`'s traces.
    pub fn run_prefix(run_id: &str) -> String {
        format!("{TRACE_PREFIX}{run_id}/")
    }

    /// A fresh key for an attempt's trace (`id` unique to the invocation, so a duplicated
    /// invocation never overwrites the trace the first one recorded).
    pub fn key_for(run_id: &str, step_key: &str, id: &str) -> String {
        let attempt: String = step_key
            .chars()
            .map(|c| if c == '#' { '.' } else { c })
            .collect();
        format!("{}{attempt}-{id}.json", TraceObject::run_prefix(run_id))
    }

    /// Whether the runtime could have written this for `run_id`: a key under the run's
    /// prefix, a bounded size and a digest. Anything else is not read.
    pub fn trusted_for(&self, run_id: &str) -> bool {
        !run_id.is_empty()
            && self.key.starts_with(&TraceObject::run_prefix(run_id))
            && !self.key.contains("..")
            && self.bytes <= MAX_TRACE_OBJECT_BYTES
            && self.sha256.len() == 64
            && self.sha256.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// How an attempt's trace is stored with its record.
#[derive(Clone, Debug, PartialEq)]
pub enum StoredTrace {
    /// The trace's JSON text, on the item.
    Inline(String),
    /// In the payload bucket.
    Object(TraceObject),
}

impl StoredTrace {
    /// The item attribute holding an inline trace.
    pub const INLINE_ATTRIBUTE: &'static str = "trace";
    /// The item attribute holding an offloaded trace's [`TraceObject`].
    pub const OBJECT_ATTRIBUTE: &'static str = "trace_object";
}

/// One attempt of a step as the trace endpoint reads it: the step item with its trace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepTraceRecord {
    pub run_id: String,
    pub step_key: String,
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u64>,
    pub attempt: u64,
    pub tenant_id: String,
    pub status: crate::StepStatus,
    pub started_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    #[serde(default)]
    pub model_calls: u64,
    #[serde(default)]
    pub cache_hits: u64,
    #[serde(default)]
    pub tokens_saved: u64,
    #[serde(default)]
    pub cost_saved_usd: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_name: Option<String>,
    /// The inline trace (JSON text of an [`AttemptTrace`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_object: Option<TraceObject>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_keys_stay_under_their_run_and_only_those_are_trusted() {
        let key = TraceObject::key_for("r1", "write#00003#01", "abc");
        assert_eq!(key, "traces/r1/write.00003.01-abc.json");
        let object = |key: &str| TraceObject {
            key: key.into(),
            bytes: 10,
            sha256: "ab".repeat(32),
        };
        assert!(object(&key).trusted_for("r1"));
        for (key, run) in [
            (key.as_str(), "r2"),
            ("traces/r1x/a.json", "r1"),
            ("runs/r1/a.json", "r1"),
            ("traces/r1/../r2/a.json", "r1"),
            ("traces//a.json", ""),
        ] {
            assert!(!object(key).trusted_for(run), "{key} for {run}");
        }
        let mut huge = object(&key);
        huge.bytes = MAX_TRACE_OBJECT_BYTES + 1;
        assert!(!huge.trusted_for("r1"));
        let mut undigested = object(&key);
        undigested.sha256 = "zz".into();
        assert!(!undigested.trusted_for("r1"));
    }

    #[test]
    fn the_field_names_match_the_item_attributes() {
        let record = StepTraceRecord {
            trace: Some("{}".into()),
            trace_object: Some(TraceObject::default()),
            ..StepTraceRecord::default()
        };
        let value = serde_json::to_value(&record).unwrap_or_default();
        assert!(value.get(StoredTrace::INLINE_ATTRIBUTE).is_some());
        assert!(value.get(StoredTrace::OBJECT_ATTRIBUTE).is_some());
    }
}
