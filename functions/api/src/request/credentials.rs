//! Who is asking: the API key a request carries, and the identity it decides as.

use crate::error::ApiError;
use crate::http::ApiRequest;

/// Keys are a few dozen characters; anything much longer is not one.
const MAX_KEY_LEN: usize = 256;

/// The API key from `Authorization: Bearer <key>` or `x-api-key: <key>`.
pub fn api_key(request: &ApiRequest) -> Result<&str, ApiError> {
    let key = match request.header("authorization") {
        Some(value) => {
            let (scheme, key) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(ApiError::Unauthorized(
                    "the Authorization header must be `Bearer <API key>`",
                ));
            }
            key.trim()
        }
        None => request.header("x-api-key").map(str::trim).unwrap_or(""),
    };
    if key.is_empty() {
        return Err(ApiError::Unauthorized(
            "an API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>`",
        ));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(ApiError::Unauthorized("unknown API key"));
    }
    Ok(key)
}

/// The identity an API key decides as: its tenant and a prefix of its hash (which key, never
/// the key).
pub fn key_identity(tenant: &str, key_hash: &str) -> String {
    format!(
        "api-key:{tenant}/{}",
        key_hash.get(..12).unwrap_or(key_hash)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_come_from_bearer_or_x_api_key() {
        let bearer = ApiRequest::new("GET", "/runs").with_header("Authorization", "Bearer sy_abc");
        assert_eq!(api_key(&bearer).ok(), Some("sy_abc"));
        let lower = ApiRequest::new("GET", "/runs").with_header("authorization", "bearer  sy_abc ");
        assert_eq!(api_key(&lower).ok(), Some("sy_abc"));
        let header = ApiRequest::new("GET", "/runs").with_header("X-Api-Key", "sy_def");
        assert_eq!(api_key(&header).ok(), Some("sy_def"));
        for request in [
            ApiRequest::new("GET", "/runs"),
            ApiRequest::new("GET", "/runs").with_header("authorization", "Basic dXNlcjpwdw=="),
            ApiRequest::new("GET", "/runs").with_header("authorization", "Bearer "),
            ApiRequest::new("GET", "/runs").with_header("x-api-key", "  "),
            ApiRequest::new("GET", "/runs").with_header("x-api-key", &"k".repeat(300)),
        ] {
            assert_eq!(
                api_key(&request).map_err(|e| e.status()),
                Err(401),
                "{request:?}"
            );
        }
    }
}
