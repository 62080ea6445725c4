//! The API behind a Lambda Function URL: payload format 2.0 in, `{statusCode, headers, body}`
//! out.

use std::convert::Infallible;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use switchyard_lambda::approval::callback::UrlRequest;

use crate::backend::Backend;
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::Api;

/// The request an event carries.
pub fn request(event: Value) -> Result<ApiRequest, ApiError> {
    let event: UrlRequest = serde_json::from_value(event)
        .map_err(|e| ApiError::bad_field("event", format!("not a Function URL request: {e}")))?;
    let body = match event.body {
        None => Vec::new(),
        Some(body) if event.is_base64_encoded => STANDARD
            .decode(body.as_bytes())
            .map_err(|e| ApiError::bad_field("body", format!("not valid base64: {e}")))?,
        Some(body) => body.into_bytes(),
    };
    Ok(ApiRequest {
        method: event.request_context.http.method,
        path: event.raw_path,
        query: event.raw_query_string,
        headers: event.headers.into_iter().collect(),
        body,
    })
}

pub fn response(response: ApiResponse) -> Value {
    json!({
        "statusCode": response.status,
        "headers": response.headers,
        "body": response.body,
        "isBase64Encoded": false,
    })
}

/// The Lambda handler: `lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| handle(&api, e.payload)))`.
pub async fn handle<B: Backend>(api: &Api<B>, event: Value) -> Result<Value, Infallible> {
    let answer = match request(event) {
        Ok(request) => api.handle(request).await,
        Err(e) => e.response(),
    };
    Ok(response(answer))
}
