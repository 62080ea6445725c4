//! The offline model: deterministic answers derived from the request, so every workflow
//! runs without keys and tests are reproducible.

use serde_json::{Map, Value};

use super::{approx_tokens, Model, ModelError, ModelRequest, Reply, ToolCall, Turn};
use crate::BoxFuture;

/// The offline default.
///
/// - Free text: the prompt's first line with a tag derived from the whole prompt.
/// - Structured output: a value generated from the schema, always valid for it: every
///   property present, booleans `true`, the first of an `enum` or `anyOf`, numbers inside
///   their bounds, arrays of two items, strings naming their field and the prompt's
///   subject. So an offline judge approves, and an offline classifier picks the first class.
/// - Tools: on the first round it calls every offered tool once, with arguments generated
///   the same way; once it has their results it answers.
///
/// Token counts approximate a real tokenizer (about four characters a token); it is free.
#[derive(Clone, Debug, Default)]
pub struct EmbeddedModel;

impl EmbeddedModel {
    pub const NAME: &'static str = "embedded:deterministic-v1";
}

impl Model for EmbeddedModel {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move { Ok(answer(request)) })
    }
}

fn answer(request: &ModelRequest) -> Reply {
    let prompt = &request.prompt;
    let conversation = serde_json::to_string(&request.turns).unwrap_or_default();
    let seed = fnv1a(prompt.system.as_bytes()) ^ fnv1a(prompt.user.as_bytes());
    let subject = prompt.user.lines().next().unwrap_or_default().trim();
    let subject = if subject.is_empty() {
        "Untitled"
    } else {
        subject
    };
    let tokens_in = approx_tokens(&prompt.system)
        + approx_tokens(&prompt.user)
        + approx_tokens(&conversation)
        + request
            .output
            .as_ref()
            .map(|o| approx_tokens(&o.schema.to_string()))
            .unwrap_or(0);
    let mut reply = Reply {
        model: EmbeddedModel::NAME.to_owned(),
        tokens_in,
        ..Reply::default()
    };
    let has_results = request
        .turns
        .iter()
        .any(|t| matches!(t, Turn::ToolResults { .. }));
    if !request.tools.is_empty() && !has_results {
        let generator = Generator { seed, subject };
        reply.tool_calls = request
            .tools
            .iter()
            .enumerate()
            .map(|(i, tool)| ToolCall {
                id: format!("call_{i}"),
                name: tool.name.clone(),
                arguments: generator.value(&tool.input_schema, &tool.name, 0),
            })
            .collect();
        reply.tokens_out =
            approx_tokens(&serde_json::to_string(&reply.tool_calls).unwrap_or_default());
    } else if let Some(output) = &request.output {
        let value = Generator { seed, subject }.value(&output.schema, &output.name, 0);
        reply.tokens_out = approx_tokens(&value.to_string()).min(prompt.max_tokens);
        reply.answer = Some(value);
    } else {
        let text = format!("{subject} (draft {:04x})", seed & 0xffff);
        reply.tokens_out = approx_tokens(&text).min(prompt.max_tokens);
        reply.text = Some(text);
    }
    reply
}

/// Schema-valid values, the same for the same request.
struct Generator<'a> {
    seed: u64,
    subject: &'a str,
}

/// Deeper than any schema the shape model writes; a cut-off value is `null`.
const MAX_DEPTH: usize = 32;

impl Generator<'_> {
    fn value(&self, schema: &Value, field: &str, depth: usize) -> Value {
        let Value::Object(schema) = schema else {
            // `true` (anything) or `false` (nothing); nothing fits `false` anyway.
            return Value::Null;
        };
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(value) = schema.get("const") {
            return value.clone();
        }
        if let Some(Value::Array(values)) = schema.get("enum") {
            return values.first().cloned().unwrap_or(Value::Null);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(options)) = schema.get(key) {
                let first = options
                    .iter()
                    .find(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                    .or_else(|| options.first());
                if let Some(option) = first {
                    return self.value(option, field, depth + 1);
                }
            }
        }
        let kind = match schema.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(Value::Array(kinds)) => kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|k| *k != "null")
                .unwrap_or("null"),
            _ if schema.contains_key("properties") => "object",
            _ => "null",
        };
        match kind {
            "boolean" => Value::Bool(true),
            "integer" => {
                let n = bounded(schema, 3.0).round();
                Value::from(n as i64)
            }
            "number" => Value::from(bounded(schema, 0.8)),
            "string" => Value::String(self.text(schema, field)),
            "array" => self.array(schema, field, depth),
            "object" => self.object(schema, field, depth),
            _ => Value::Null,
        }
    }

    fn text(&self, schema: &Map<String, Value>, field: &str) -> String {
        let text = format!(
            "{}: {} (draft {:04x})",
            field.replace('_', " "),
            self.subject,
            (self.seed ^ fnv1a(field.as_bytes())) & 0xffff
        );
        let min = length(schema, "minLength").unwrap_or(0);
        let max = length(schema, "maxLength").unwrap_or(usize::MAX);
        let mut text: String = text.chars().take(max).collect();
        while text.chars().count() < min {
            text.push('.');
        }
        text
    }

    fn array(&self, schema: &Map<String, Value>, field: &str, depth: usize) -> Value {
        if let Some(Value::Array(prefix)) = schema.get("prefixItems") {
            return Value::Array(
                prefix
                    .iter()
                    .map(|item| self.value(item, field, depth + 1))
                    .collect(),
            );
        }
        let min = length(schema, "minItems").unwrap_or(0);
        let max = length(schema, "maxItems").unwrap_or(usize::MAX);
        let count = 2usize.clamp(min, max.max(min));
        let items = schema.get("items").cloned().unwrap_or(Value::Bool(true));
        let singular = field.strip_suffix('s').unwrap_or(field);
        Value::Array(
            (0..count)
                .map(|i| self.value(&items, &format!("{singular} {}", i + 1), depth + 1))
                .collect(),
        )
    }

    /// Every named property; no data keys for a map, whose key type the schema does not
    /// say (a `HashMap<u32, _>` refuses the key `"name"`), so an empty map is what always
    /// decodes.
    fn object(&self, schema: &Map<String, Value>, field: &str, depth: usize) -> Value {
        let mut object = Map::new();
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, property) in properties {
                object.insert(name.clone(), self.value(property, name, depth + 1));
            }
        }
        // What a struct flattens that is not a plain struct (an enum) adds its keys beside
        // the object's own.
        if let Some(Value::Array(parts)) = schema.get("allOf") {
            for part in parts {
                if let Value::Object(keys) = self.value(part, field, depth + 1) {
                    for (name, value) in keys {
                        object.entry(name).or_insert(value);
                    }
                }
            }
        }
        Value::Object(object)
    }
}

/// `preferred` moved inside the schema's bounds.
fn bounded(schema: &Map<String, Value>, preferred: f64) -> f64 {
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    let mut value = preferred;
    if let Some(min) = number("minimum") {
        value = value.max(min);
    }
    if let Some(min) = number("exclusiveMinimum") {
        value = value.max(min + 1.0);
    }
    if let Some(max) = number("maximum") {
        value = value.min(max);
    }
    if let Some(max) = number("exclusiveMaximum") {
        value = value.min(max - 1.0);
    }
    value
}

fn length(schema: &Map<String, Value>, key: &str) -> Option<usize> {
    schema
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
