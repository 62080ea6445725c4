//! The API behind a Lambda Function URL: payload format 2.0 in, `{statusCode, headers, body}`
//! out, as `aws_lambda_events` defines them (see [`switchyard_lambda::function_url`]).

use std::convert::Infallible;

use serde_json::Value;
use switchyard_lambda::function_url::{self, UrlResponse};

use crate::backend::Backend;
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::Api;

/// The request an event carries.
pub fn request(event: Value) -> Result<ApiRequest, ApiError> {
    let event = function_url::parse(event)
        .map_err(|e| ApiError::bad_field("event", format!("not a Function URL request: {e}")))?;
    let body = function_url::body(&event)
        .map_err(|e| ApiError::bad_field("body", format!("not valid base64: {e}")))?;
    // Names arrive lower case; a repeated header's values are joined, as `ApiRequest` keeps
    // them.
    let headers = event
        .headers
        .keys()
        .map(|name| {
            let values: Vec<_> = event
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            (name.as_str().to_owned(), values.join(", "))
        })
        .collect();
    Ok(ApiRequest {
        method: function_url::method(&event),
        path: event.raw_path.unwrap_or_default(),
        query: event.raw_query_string.unwrap_or_default(),
        headers,
        body,
    })
}

pub fn response(response: ApiResponse) -> UrlResponse {
    let headers = function_url::header_map(
        response
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    function_url::response(response.status, headers, response.body)
}

/// The Lambda handler: `lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| handle(&api, e.payload)))`.
pub async fn handle<B: Backend>(api: &Api<B>, event: Value) -> Result<UrlResponse, Infallible> {
    let answer = match request(event) {
        Ok(request) => api.handle(request).await,
        Err(e) => e.response(),
    };
    Ok(response(answer))
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde_json::json;

    use super::*;
    use crate::memory::{MemoryBackend, KEY_A};

    fn event(method: &str, path: &str, body: Option<&str>, base64: bool) -> Value {
        json!({
            "version": "2.0",
            "rawPath": path,
            "rawQueryString": "limit=1",
            "headers": { "x-api-key": KEY_A, "content-type": "application/json" },
            "body": body,
            "isBase64Encoded": base64,
            "requestContext": { "http": { "method": method }, "timeEpoch": 0 },
        })
    }

    fn answer(event: Value) -> Value {
        switchyard_agents::link();
        let api = Api::new(MemoryBackend::new());
        let response =
            futures::executor::block_on(handle(&api, event)).unwrap_or_else(|never| match never {});
        serde_json::to_value(response).expect("a response serialises")
    }

    #[test]
    fn events_become_requests_and_answers_become_function_url_responses() {
        let response = answer(event("GET", "/runs", None, false));
        assert_eq!(response["statusCode"], 200);
        assert_eq!(response["headers"]["content-type"], "application/json");
        let body: Value =
            serde_json::from_str(response["body"].as_str().expect("a body")).expect("json");
        assert_eq!(body["runs"], json!([]));
    }

    #[test]
    fn base64_bodies_are_decoded() {
        let body = STANDARD.encode(r#"{"workflow": "gate-test", "input": {"topic": "t"}}"#);
        let mut request = event("POST", "/runs/start", Some(&body), true);
        request["rawQueryString"] = json!("");
        assert_eq!(answer(request)["statusCode"], 202);
        let broken = event("POST", "/runs/start", Some("%%%"), true);
        assert_eq!(answer(broken)["statusCode"], 400);
    }

    #[test]
    fn events_that_are_not_function_url_requests_are_400() {
        let response = answer(json!({ "hello": "world" }));
        assert_eq!(response["statusCode"], 400);
        let body: Value =
            serde_json::from_str(response["body"].as_str().expect("a body")).expect("json");
        assert_eq!(body["field"], "event");
    }
}
