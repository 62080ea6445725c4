//! The one HTTP setup shared by the providers that speak plain JSON over HTTPS.

use std::error::Error;
use std::time::Duration;

use reqwest::header::HeaderValue;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use switchyard_sdk::ModelError;

use crate::ModelConfigError;

/// Long enough for a slow completion of a few thousand tokens, short enough that a hung
/// provider surfaces as a retryable `Transport` error well inside the default 120 s agent
/// task timeout instead of an opaque `States.Timeout`.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An unreachable host fails fast rather than eating the whole request budget.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Error bodies can be whole HTML pages from a proxy; keep enough to diagnose.
const MAX_ERROR_MESSAGE_CHARS: usize = 500;

/// Built once per provider and reused, so connections (and TLS sessions) are pooled across
/// invocations of a warm Lambda.
pub(crate) fn client() -> Result<reqwest::Client, ModelConfigError> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(ModelConfigError::HttpClient)
}

/// Sends `request` and decodes a 2xx body as `T`, mapping every failure onto [`ModelError`].
pub(crate) async fn send_json<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<T, ModelError> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport)?;
    if !status.is_success() {
        return Err(status_error(status.as_u16(), error_message(&body)));
    }
    serde_json::from_slice(&body).map_err(|err| ModelError::Malformed(err.to_string()))
}

/// 429 is throttling whatever the provider; everything else keeps its status so
/// [`ModelError::is_retryable`] can tell server faults (5xx) from our own (4xx).
pub(crate) fn status_error(status: u16, message: String) -> ModelError {
    if status == 429 {
        ModelError::Throttled
    } else {
        ModelError::Provider { status, message }
    }
}

/// The `{"error": {"message": ...}}` shape both OpenAI and Anthropic use for errors.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => parsed.error.message,
        Err(_) => String::from_utf8_lossy(body)
            .chars()
            .take(MAX_ERROR_MESSAGE_CHARS)
            .collect(),
    }
}

/// reqwest's own message ("error sending request for url") hides the cause, which is in
/// the source chain (connection refused, timed out, TLS failure).
fn transport(err: reqwest::Error) -> ModelError {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ModelError::Transport(message)
}

/// `https://host/v1/` and `https://host/v1` name the same base.
pub(crate) fn join(base_url: &str, path: &str) -> String {
    format!("{}{path}", base_url.trim_end_matches('/'))
}

/// The API key as a header value, checked once at construction and marked sensitive so
/// it never shows in `Debug` output or HTTP logs.
pub(crate) fn secret_header(api_key: &str, scheme: &str) -> Result<HeaderValue, ModelConfigError> {
    let mut value = HeaderValue::from_str(&format!("{scheme}{api_key}"))
        .map_err(|_| ModelConfigError::InvalidApiKey)?;
    value.set_sensitive(true);
    Ok(value)
}
