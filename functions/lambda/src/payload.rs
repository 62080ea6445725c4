//! Step outputs too large for Step Functions' 256 KiB state limit go to S3; the state carries
//! a reference that the next agent's runtime resolves transparently.
//!
//! A reference keeps the output's top-level scalar fields inline, so `branch` conditions and
//! `.when` guards on them still work; lists and objects live only in S3. Fields added to the
//! reference later (a gate's `approval`) are merged back when it is resolved.
//!
//! A reference is only trusted when the runtime could have written it for this run: the
//! deployment's own bucket, a key under `runs/<this run>/`, a size under
//! [`MAX_RESOLVED_BYTES`] and the SHA-256 of the stored bytes, checked after the read. A
//! client cannot smuggle one in through a run's input (the API refuses the marker anywhere
//! in it), and a forged one cannot read another run's data or any other object.

use serde_json::{Map, Value};
use switchyard_sdk::RunContext;
use switchyard_state::trace::{AttemptTrace, TraceObject, INLINE_TRACE_BYTES};

/// The key marking a reference.
pub const REFERENCE_KEY: &str = "$payload";
/// Offload outputs larger than this many bytes (overridable by `PAYLOAD_OFFLOAD_BYTES`);
/// leaves room under 256 KiB for the envelope and a gate's decision.
pub const DEFAULT_OFFLOAD_BYTES: usize = 200_000;
/// The largest stored payload the runtime reads back (Lambda's memory is the real bound).
pub const MAX_RESOLVED_BYTES: u64 = 64 * 1024 * 1024;

/// Whether `value` contains the reference marker as an object key at any depth.
pub fn contains_reference(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.contains_key(REFERENCE_KEY) || map.values().any(contains_reference)
        }
        Value::Array(items) => items.iter().any(contains_reference),
        _ => false,
    }
}

/// A reference that passed every check: where to read, how much and what digest to expect.
#[derive(Debug, PartialEq, Eq)]
pub struct TrustedReference {
    pub key: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Checks a reference's location against what this runtime writes for `run_id` in `bucket`.
pub fn check_reference(
    location: &Value,
    bucket: Option<&str>,
    run_id: &str,
) -> Result<TrustedReference, PayloadError> {
    let bad = |why: &str| PayloadError::BadReference(why.to_owned());
    let bucket = bucket.ok_or_else(|| bad("no payload bucket is configured"))?;
    if location["bucket"].as_str() != Some(bucket) {
        return Err(bad("not in this deployment's payload bucket"));
    }
    let key = location["key"].as_str().ok_or_else(|| bad("no key"))?;
    let prefix = run_prefix(run_id);
    if run_id.is_empty() || !key.starts_with(&prefix) || key.contains("..") {
        return Err(bad("not a payload of this run"));
    }
    let bytes = location["bytes"].as_u64().ok_or_else(|| bad("no size"))?;
    if bytes > MAX_RESOLVED_BYTES {
        return Err(bad("larger than the runtime reads"));
    }
    let sha256 = location["sha256"]
        .as_str()
        .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| bad("no SHA-256 digest"))?;
    Ok(TrustedReference {
        key: key.to_owned(),
        bytes,
        sha256: sha256.to_ascii_lowercase(),
    })
}

fn run_prefix(run_id: &str) -> String {
    format!("runs/{run_id}/")
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl PayloadError {
    fn store<E: std::error::Error + Send + Sync + 'static>(error: E) -> PayloadError {
        PayloadError::Store {
            detail: aws_sdk_s3::error::DisplayErrorContext(&error).to_string(),
            source: Box::new(error),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// S3 (or reading its body) failed; the error is the source.
    #[error("payload store: {detail}")]
    Store {
        detail: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("output is {bytes} bytes, over the {limit} byte limit, and PAYLOAD_BUCKET is not set")]
    NoBucket { bytes: usize, limit: usize },
    #[error("output does not serialise: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("stored payload s3://{bucket}/{key} is not JSON: {reason}")]
    Corrupt {
        bucket: String,
        key: String,
        reason: String,
    },
    #[error("refused payload reference: {0}")]
    BadReference(String),
}

pub struct PayloadStore {
    s3: aws_sdk_s3::Client,
    bucket: Option<String>,
    threshold: usize,
}

impl PayloadStore {
    pub fn from_env(config: &aws_config::SdkConfig) -> PayloadStore {
        // Custom endpoints (LocalStack) need path-style addressing: `<bucket>.localhost` does
        // not resolve.
        let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(custom_endpoint)
            .build();
        PayloadStore {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            bucket: std::env::var("PAYLOAD_BUCKET")
                .ok()
                .filter(|b| !b.is_empty()),
            threshold: std::env::var("PAYLOAD_OFFLOAD_BYTES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_OFFLOAD_BYTES),
        }
    }

    /// The input with every reference (at the top level, or as an element of a parallel
    /// step's list) replaced by the stored value.
    pub async fn resolve(&self, run_id: &str, input: Value) -> Result<Value, PayloadError> {
        match input {
            Value::Object(map) if map.contains_key(REFERENCE_KEY) => self.fetch(run_id, map).await,
            Value::Array(items) => {
                let mut resolved = Vec::with_capacity(items.len());
                for item in items {
                    resolved.push(match item {
                        Value::Object(map) if map.contains_key(REFERENCE_KEY) => {
                            self.fetch(run_id, map).await?
                        }
                        other => other,
                    });
                }
                Ok(Value::Array(resolved))
            }
            other => Ok(other),
        }
    }

    async fn fetch(
        &self,
        run_id: &str,
        mut reference: Map<String, Value>,
    ) -> Result<Value, PayloadError> {
        let location = reference.remove(REFERENCE_KEY).unwrap_or_default();
        let trusted = check_reference(&location, self.bucket.as_deref(), run_id)?;
        let bucket = self.bucket.as_deref().unwrap_or_default();
        let key = trusted.key.as_str();
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(PayloadError::store)?;
        // Refuse before reading: the stored object must be the size the reference says.
        let length = object.content_length().and_then(|l| u64::try_from(l).ok());
        if length.is_some_and(|l| l != trusted.bytes) {
            return Err(PayloadError::BadReference(
                "stored size differs from the reference".to_owned(),
            ));
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(PayloadError::store)?
            .into_bytes();
        if bytes.len() as u64 != trusted.bytes || sha256_hex(&bytes) != trusted.sha256 {
            return Err(PayloadError::BadReference(
                "stored payload does not match its digest".to_owned(),
            ));
        }
        let mut value: Value =
            serde_json::from_slice(&bytes).map_err(|e| PayloadError::Corrupt {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                reason: e.to_string(),
            })?;
        // Fields set on the reference after it was made (a gate's decision) win.
        if let Value::Object(stored) = &mut value {
            stored.extend(reference);
        }
        Ok(value)
    }

    /// Records an outbound message under `outbox/<run>/` (the local default sender: messages
    /// are kept, not delivered, so runs can be inspected and tests can count them).
    pub async fn record_message(
        &self,
        run: &RunContext,
        message: &switchyard_sdk::OutboundMessage,
    ) -> Result<switchyard_sdk::SendReceipt, switchyard_sdk::SendError> {
        let bucket = self.bucket.as_ref().ok_or_else(|| {
            switchyard_sdk::SendError::Unavailable("PAYLOAD_BUCKET is not set".into())
        })?;
        let message_id = uuid::Uuid::new_v4().to_string();
        let body = serde_json::to_vec(&serde_json::json!({
            "message_id": message_id,
            "run_id": run.run_id,
            "tenant_id": run.tenant_id,
            "step": run.step,
            "message": message,
        }))
        .map_err(|e| switchyard_sdk::SendError::Refused(e.to_string()))?;
        self.s3
            .put_object()
            .bucket(bucket)
            .key(format!("outbox/{}/{message_id}.json", run.run_id))
            .content_type("application/json")
            .body(body.into())
            .send()
            .await
            .map_err(|e| {
                switchyard_sdk::SendError::Unavailable(
                    aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                )
            })?;
        Ok(switchyard_sdk::SendReceipt {
            message_id,
            channel: "outbox".into(),
        })
    }

    /// Stores an attempt's conversation trace (JSON text too large for its step item) under
    /// `traces/<run>/`; where it went.
    pub async fn put_trace(
        &self,
        run_id: &str,
        step_key: &str,
        text: Vec<u8>,
    ) -> Result<TraceObject, PayloadError> {
        let Some(bucket) = &self.bucket else {
            return Err(PayloadError::NoBucket {
                bytes: text.len(),
                limit: INLINE_TRACE_BYTES,
            });
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let object = TraceObject {
            key: TraceObject::key_for(run_id, step_key, &id),
            bytes: text.len() as u64,
            sha256: sha256_hex(&text),
        };
        self.s3
            .put_object()
            .bucket(bucket)
            .key(&object.key)
            .content_type("application/json")
            .body(text.into())
            .send()
            .await
            .map_err(PayloadError::store)?;
        Ok(object)
    }

    /// An offloaded trace of `run_id`, read back: only where the runtime writes that run's
    /// traces, and only bytes matching the recorded size and digest.
    pub async fn get_trace(
        &self,
        run_id: &str,
        object: &TraceObject,
    ) -> Result<AttemptTrace, PayloadError> {
        if !object.trusted_for(run_id) {
            return Err(PayloadError::BadReference(
                "not a trace of this run".to_owned(),
            ));
        }
        let bucket = self
            .bucket
            .as_deref()
            .ok_or_else(|| PayloadError::BadReference("no payload bucket is configured".into()))?;
        let stored = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(&object.key)
            .send()
            .await
            .map_err(PayloadError::store)?;
        let length = stored.content_length().and_then(|l| u64::try_from(l).ok());
        if length.is_some_and(|l| l != object.bytes) {
            return Err(PayloadError::BadReference(
                "stored size differs from the record".to_owned(),
            ));
        }
        let bytes = stored
            .body
            .collect()
            .await
            .map_err(PayloadError::store)?
            .into_bytes();
        if bytes.len() as u64 != object.bytes
            || sha256_hex(&bytes) != object.sha256.to_ascii_lowercase()
        {
            return Err(PayloadError::BadReference(
                "stored trace does not match its digest".to_owned(),
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| PayloadError::Corrupt {
            bucket: bucket.to_owned(),
            key: object.key.clone(),
            reason: e.to_string(),
        })
    }

    /// The output as is, or a reference to it in S3 when it is over the threshold.
    pub async fn offload(&self, run: &RunContext, output: Value) -> Result<Value, PayloadError> {
        let bytes = serde_json::to_vec(&output)?;
        if bytes.len() <= self.threshold {
            return Ok(output);
        }
        let Some(bucket) = &self.bucket else {
            return Err(PayloadError::NoBucket {
                bytes: bytes.len(),
                limit: self.threshold,
            });
        };
        // One object per attempt of each entry of the step: a later round of a loop never
        // overwrites what an earlier one handed on.
        let round = run.round.map(|r| format!("-r{r}")).unwrap_or_default();
        let item = run.item.map(|i| format!("-{i}")).unwrap_or_default();
        let key = format!(
            "{}{}{round}{item}-{}.json",
            run_prefix(&run.run_id),
            run.step,
            run.attempt
        );
        let size = bytes.len();
        let digest = sha256_hex(&bytes);
        self.s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .content_type("application/json")
            .body(bytes.into())
            .send()
            .await
            .map_err(PayloadError::store)?;
        tracing::info!(run_id = %run.run_id, step = %run.step, bytes = size, key = %key, "output offloaded to S3");
        let mut reference = Map::new();
        if let Value::Object(fields) = &output {
            for (name, value) in fields {
                if matches!(value, Value::Bool(_) | Value::Number(_))
                    || value.as_str().is_some_and(|s| s.len() <= 256)
                {
                    reference.insert(name.clone(), value.clone());
                }
            }
        }
        reference.insert(
            REFERENCE_KEY.to_owned(),
            serde_json::json!({ "bucket": bucket, "key": key, "bytes": size, "sha256": digest }),
        );
        Ok(Value::Object(reference))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn location(bucket: &str, key: &str) -> Value {
        json!({ "bucket": bucket, "key": key, "bytes": 10, "sha256": "ab".repeat(32) })
    }

    #[test]
    fn only_this_runs_payloads_in_this_bucket_are_trusted() {
        let ok = check_reference(&location("pay", "runs/r1/step-0.json"), Some("pay"), "r1");
        assert_eq!(
            ok.map(|t| t.key).ok().as_deref(),
            Some("runs/r1/step-0.json")
        );
        let refused = [
            (location("other", "runs/r1/step-0.json"), Some("pay"), "r1"),
            (location("pay", "runs/r2/step-0.json"), Some("pay"), "r1"),
            (location("pay", "runs/r1x/step-0.json"), Some("pay"), "r1"),
            (location("pay", "outbox/r1/m.json"), Some("pay"), "r1"),
            (location("pay", "runs/r1/../r2/s.json"), Some("pay"), "r1"),
            (location("pay", "runs//s.json"), Some("pay"), ""),
            (location("pay", "runs/r1/step-0.json"), None, "r1"),
        ];
        for (reference, bucket, run) in refused {
            assert!(
                matches!(
                    check_reference(&reference, bucket, run),
                    Err(PayloadError::BadReference(_))
                ),
                "{reference} in {bucket:?} for {run}"
            );
        }
    }

    #[test]
    fn references_need_a_digest_and_a_bounded_size() {
        let mut no_digest = location("pay", "runs/r1/s.json");
        no_digest["sha256"] = Value::Null;
        let mut huge = location("pay", "runs/r1/s.json");
        huge["bytes"] = json!(MAX_RESOLVED_BYTES + 1);
        let mut no_size = location("pay", "runs/r1/s.json");
        no_size["bytes"] = json!("10");
        for reference in [no_digest, huge, no_size] {
            assert!(
                check_reference(&reference, Some("pay"), "r1").is_err(),
                "{reference}"
            );
        }
    }

    #[test]
    fn the_marker_is_found_at_any_depth() {
        assert!(contains_reference(&json!({ "$payload": {} })));
        assert!(contains_reference(
            &json!({ "a": [1, { "b": { "$payload": 1 } }] })
        ));
        assert!(!contains_reference(
            &json!({ "a": ["$payload"], "payload": 1 })
        ));
    }
}
