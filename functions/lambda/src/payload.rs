//! Step outputs too large for Step Functions' 256 KiB state limit go to S3; the state carries
//! a reference that the next agent's runtime resolves transparently.
//!
//! A reference keeps the output's top-level scalar fields inline, so `branch` conditions and
//! `.when` guards on them still work; lists and objects live only in S3. Fields added to the
//! reference later (a gate's `approval`) are merged back when it is resolved.

use serde_json::{Map, Value};
use switchyard_sdk::RunContext;

/// The key marking a reference.
pub const REFERENCE_KEY: &str = "$payload";
/// Offload outputs larger than this many bytes (overridable by `PAYLOAD_OFFLOAD_BYTES`);
/// leaves room under 256 KiB for the envelope and a gate's decision.
pub const DEFAULT_OFFLOAD_BYTES: usize = 200_000;

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("payload store: {0}")]
    Store(String),
    #[error("stored payload s3://{bucket}/{key} is not JSON: {reason}")]
    Corrupt {
        bucket: String,
        key: String,
        reason: String,
    },
    #[error("malformed payload reference: {0}")]
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
    pub async fn resolve(&self, input: Value) -> Result<Value, PayloadError> {
        match input {
            Value::Object(map) if map.contains_key(REFERENCE_KEY) => self.fetch(map).await,
            Value::Array(items) => {
                let mut resolved = Vec::with_capacity(items.len());
                for item in items {
                    resolved.push(match item {
                        Value::Object(map) if map.contains_key(REFERENCE_KEY) => {
                            self.fetch(map).await?
                        }
                        other => other,
                    });
                }
                Ok(Value::Array(resolved))
            }
            other => Ok(other),
        }
    }

    async fn fetch(&self, mut reference: Map<String, Value>) -> Result<Value, PayloadError> {
        let location = reference.remove(REFERENCE_KEY).unwrap_or_default();
        let (Some(bucket), Some(key)) = (location["bucket"].as_str(), location["key"].as_str())
        else {
            return Err(PayloadError::BadReference(location.to_string()));
        };
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                PayloadError::Store(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            })?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| PayloadError::Store(e.to_string()))?
            .into_bytes();
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

    /// The output as is, or a reference to it in S3 when it is over the threshold.
    pub async fn offload(&self, run: &RunContext, output: Value) -> Result<Value, PayloadError> {
        let bytes = serde_json::to_vec(&output).map_err(|e| PayloadError::Store(e.to_string()))?;
        if bytes.len() <= self.threshold {
            return Ok(output);
        }
        let Some(bucket) = &self.bucket else {
            return Err(PayloadError::Store(format!(
                "output is {} bytes, over the {} byte limit, and PAYLOAD_BUCKET is not set",
                bytes.len(),
                self.threshold
            )));
        };
        let item = run.item.map(|i| format!("-{i}")).unwrap_or_default();
        let key = format!(
            "runs/{}/{}{item}-{}.json",
            run.run_id, run.step, run.attempt
        );
        let size = bytes.len();
        self.s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .content_type("application/json")
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| {
                PayloadError::Store(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            })?;
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
            serde_json::json!({ "bucket": bucket, "key": key, "bytes": size }),
        );
        Ok(Value::Object(reference))
    }
}
