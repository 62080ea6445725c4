//! Lambda Function URL events (payload format 2.0), as `aws_lambda_events` defines them, plus
//! the few things both of our Function URLs (the approval callback and the API) read from them.
//!
//! `aws_lambda_events` rather than `lambda_http`: we need the event and response types only.
//! `lambda_http` turns them into `http::Request`s served by its own `run`, while `bootstrap`
//! runs one `lambda_runtime` handler over raw JSON for every function and answers a payload
//! that is not a Function URL event with our own 400, which a typed runtime would refuse first.

use aws_lambda_events::http::header::CONTENT_TYPE;
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

pub use aws_lambda_events::lambda_function_urls::{
    LambdaFunctionUrlRequest as UrlRequest, LambdaFunctionUrlResponse as UrlResponse,
};

/// The event as a Function URL request, or why it is not one.
pub fn parse(event: Value) -> Result<UrlRequest, serde_json::Error> {
    serde_json::from_value(event)
}

/// The request's method, upper case (empty when the event has none).
pub fn method(request: &UrlRequest) -> String {
    request
        .request_context
        .http
        .method
        .as_deref()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// The body's bytes, decoded when the event carries it base64-encoded.
pub fn body(request: &UrlRequest) -> Result<Vec<u8>, base64::DecodeError> {
    match &request.body {
        None => Ok(Vec::new()),
        Some(body) if request.is_base64_encoded => STANDARD.decode(body.as_bytes()),
        Some(body) => Ok(body.clone().into_bytes()),
    }
}

/// Whether any value of header `name` (any case) contains `needle`.
pub fn header_contains(request: &UrlRequest, name: HeaderName, needle: &str) -> bool {
    request
        .headers
        .get_all(name)
        .iter()
        .any(|value| String::from_utf8_lossy(value.as_bytes()).contains(needle))
}

/// Whether the body is JSON, by its content type.
pub fn is_json(request: &UrlRequest) -> bool {
    header_contains(request, CONTENT_TYPE, "application/json")
}

/// A text response: `status`, these headers, `body` as it is (never base64).
pub fn response(status: u16, headers: HeaderMap, body: String) -> UrlResponse {
    // The type is `#[non_exhaustive]`: no struct literal outside its crate.
    let mut response = UrlResponse::default();
    response.status_code = status.into();
    response.headers = headers;
    response.body = Some(body);
    response.is_base64_encoded = false;
    response
}

/// Header pairs we wrote ourselves as a [`HeaderMap`]. A name or value that is not valid HTTP
/// would be our bug: it is logged and left out rather than failing the answer.
pub fn header_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.insert(name, value);
            }
            _ => tracing::error!(header = name, "not a valid HTTP header; left out"),
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(headers: Value, body: &str, base64: bool) -> UrlRequest {
        parse(json!({
            "rawPath": "/x",
            "headers": headers,
            "body": body,
            "isBase64Encoded": base64,
            "requestContext": { "http": { "method": "post" }, "timeEpoch": 0 },
        }))
        .expect("a Function URL request")
    }

    #[test]
    fn headers_are_read_whatever_their_case() {
        let request = event(json!({ "Content-Type": "application/json" }), "", false);
        assert!(is_json(&request));
        assert_eq!(method(&request), "POST");
    }

    #[test]
    fn bodies_are_decoded_from_base64_when_marked() {
        let plain = event(json!({}), "a=1", false);
        assert_eq!(body(&plain).ok(), Some(b"a=1".to_vec()));
        let encoded = event(json!({}), &STANDARD.encode("a=1"), true);
        assert_eq!(body(&encoded).ok(), Some(b"a=1".to_vec()));
        assert!(body(&event(json!({}), "%%%", true)).is_err());
    }

    #[test]
    fn responses_serialise_as_function_url_answers() {
        let headers = header_map([("content-type", "text/plain"), ("bad name", "x")]);
        let answer = serde_json::to_value(response(201, headers, "hi".to_owned())).expect("json");
        assert_eq!(answer["statusCode"], 201);
        assert_eq!(answer["headers"], json!({ "content-type": "text/plain" }));
        assert_eq!(answer["body"], "hi");
        assert_eq!(answer["isBase64Encoded"], false);
    }
}
