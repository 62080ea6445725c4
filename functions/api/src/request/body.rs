//! JSON bodies: an object, then a serde type. Syntax is `malformed_json` about the `body`;
//! a value that does not fit is `bad_request` about the path serde reports (`auto_approve`,
//! `items[2].quantity`).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The body as a JSON object.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson(
            "the body is empty; expected a JSON object".to_owned(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(ApiError::MalformedJson(format!(
            "expected a JSON object, got {}",
            json_kind(&other)
        ))),
        Err(e) => Err(ApiError::MalformedJson(e.to_string())),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `object` as `T`. Decoded from the parsed value, not the text, so a message is serde's
/// alone (no line and column of a body the client sent as one line).
pub fn decode<T: DeserializeOwned>(object: Map<String, Value>) -> Result<T, ApiError> {
    switchyard_sdk::InputError::decode(Value::Object(object), "body")
        .map_err(|e| ApiError::bad_field(e.field, e.message))
}

/// A field a body must have: absent, `null` and `""` are all missing.
pub fn required(
    value: Option<String>,
    field: &'static str,
    message: &str,
) -> Result<String, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_field(field, message))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Order {
        id: Option<String>,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    struct Item {
        quantity: u32,
    }

    fn refusal(body: Value) -> (String, String) {
        let Value::Object(object) = body else {
            panic!("an object")
        };
        let error = decode::<Order>(object).expect_err("refused");
        assert_eq!((error.status(), error.code()), (400, "bad_request"));
        (
            error.field().unwrap_or_default().to_owned(),
            error.to_string(),
        )
    }

    #[test]
    fn a_value_that_fits_is_decoded() {
        let Value::Object(object) = json!({ "id": "o-1", "items": [{ "quantity": 2 }] }) else {
            panic!("an object")
        };
        let order: Order = decode(object).expect("fits");
        assert_eq!(order.id.as_deref(), Some("o-1"));
        assert_eq!(order.items[0].quantity, 2);
    }

    #[test]
    fn a_value_that_does_not_fit_names_its_path() {
        let (field, message) =
            refusal(json!({ "items": [{ "quantity": 1 }, { "quantity": "two" }] }));
        assert_eq!(field, "items[1].quantity");
        assert!(message.contains("expected u32"), "{message}");
        assert!(!message.contains("line"), "{message}");
        assert_eq!(refusal(json!({ "id": 5, "items": [] })).0, "id");
        assert_eq!(refusal(json!({ "items": [], "idd": "x" })).0, "idd");
        assert_eq!(refusal(json!({ "id": "x" })).0, "items");
        assert_eq!(refusal(json!({ "items": [{}] })).0, "items[0].quantity");
    }

    #[test]
    fn malformed_bodies_name_the_body() {
        for body in ["", "  ", "{", "[1]", "\"text\"", "{\"a\":}", "\u{0}"] {
            let error = json_object(body.as_bytes()).expect_err("refused");
            assert_eq!(
                (error.status(), error.code(), error.field()),
                (400, "malformed_json", Some("body")),
                "{body:?}"
            );
        }
        assert_eq!(
            json_object(&[0xff, 0xfe]).map_err(|e| e.code()).err(),
            Some("malformed_json")
        );
        let error = json_object(b"{\"a\": 1,}").expect_err("trailing comma");
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn required_fields_are_present_and_not_empty() {
        assert_eq!(
            required(Some("r".into()), "id", "required").ok(),
            Some("r".into())
        );
        for value in [None, Some(String::new())] {
            let error = required(value, "id", "required").expect_err("missing");
            assert_eq!(error.field(), Some("id"));
        }
    }
}
