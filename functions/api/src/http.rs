//! The API's own request and response types: what every adapter (Function URL, local server,
//! in-process CLI) converts to and from.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Clone, Debug, Default)]
pub struct ApiRequest {
    /// `GET`, `POST`, ... (any case).
    pub method: String,
    /// The raw path, without the query string.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names in any case; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl ApiRequest {
    pub fn new(method: &str, path: &str) -> ApiRequest {
        ApiRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            ..ApiRequest::default()
        }
    }

    pub fn with_query(mut self, query: &str) -> ApiRequest {
        self.query = query.to_owned();
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> ApiRequest {
        self.headers.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> ApiRequest {
        self.body = body.into();
        self
    }

    /// A header's value, whatever the case of its name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// JSON, except a run's page (HTML, see [`ApiResponse::html`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// Lower-case header names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl ApiResponse {
    pub fn json(status: u16, body: &impl Serialize) -> ApiResponse {
        // Serialising our own response types cannot fail (string keys, finite numbers); a
        // failure would be a bug, answered as one rather than with a panic.
        let (status, body) = match serde_json::to_string(body) {
            Ok(text) => (status, text),
            Err(e) => (
                500,
                serde_json::json!({ "error": "internal", "message": e.to_string() }).to_string(),
            ),
        };
        ApiResponse {
            status,
            headers: BTreeMap::from([
                ("content-type".to_owned(), "application/json".to_owned()),
                // Run state changes by the second and is per tenant: never cache it.
                ("cache-control".to_owned(), "no-store".to_owned()),
            ]),
            body,
        }
    }

    /// A page: never cached, framed or sniffed, its URL (which holds a view link) never
    /// sent on as a Referer, and only what `policy` allows loaded or run.
    pub fn html(status: u16, body: String, policy: &str) -> ApiResponse {
        ApiResponse {
            status,
            headers: BTreeMap::from(
                [
                    ("content-type", "text/html; charset=utf-8"),
                    ("cache-control", "no-store"),
                    ("content-security-policy", policy),
                    ("referrer-policy", "no-referrer"),
                    ("x-content-type-options", "nosniff"),
                    ("x-frame-options", "DENY"),
                ]
                .map(|(name, value)| (name.to_owned(), value.to_owned())),
            ),
            body,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> ApiResponse {
        self.headers.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The body as JSON (it always is).
    #[cfg(test)]
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}
