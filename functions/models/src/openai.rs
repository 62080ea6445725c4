use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use switchyard_sdk::{
    BoxFuture, Model, ModelError, ModelRequest, Reply, ToolCall, ToolResult, Turn,
};

use crate::tools::{text_of, Toolbox};
use crate::{http, ModelConfigError, Price};

/// The OpenAI Chat Completions API (`POST {base}/chat/completions`), or any server that
/// speaks it (vLLM, Ollama, LiteLLM, Azure-style gateways) when given their base URL.
///
/// A structured answer is asked for with `response_format: json_schema`, `strict` when the
/// schema is within what strict mode accepts (so the server guarantees the shape), and is
/// the message's content parsed as JSON; the format's root must be an object, so any other
/// answer travels as `{"value": answer}`. Tools are `function` tools; their results go
/// back as `tool` messages, and a correction as a user message.
#[derive(Debug)]
pub struct OpenAiCompatible {
    http: reqwest::Client,
    endpoint: String,
    auth: HeaderValue,
    model: String,
    name: String,
    price: Price,
}

impl OpenAiCompatible {
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";

    /// `base_url` is the API root, e.g. [`Self::DEFAULT_BASE_URL`]; `model` is the id sent
    /// in every request (`gpt-4o-mini`).
    pub fn new(
        base_url: &str,
        api_key: &str,
        model: impl Into<String>,
        price: Price,
    ) -> Result<Self, ModelConfigError> {
        let model = model.into();
        Ok(OpenAiCompatible {
            http: http::client()?,
            endpoint: http::join(base_url, "/chat/completions"),
            auth: http::secret_header(api_key, "Bearer ")?,
            name: format!("openai:{model}"),
            model,
            price,
        })
    }

    async fn chat(&self, request: &ModelRequest) -> Result<Reply, ModelError> {
        let toolbox = Toolbox::new(request);
        let body = ChatRequest {
            model: &self.model,
            messages: messages(request, &toolbox),
            temperature: request.prompt.temperature,
            max_tokens: request.prompt.max_tokens,
            response_format: toolbox.answer.as_ref().map(|answer| ResponseFormat {
                kind: "json_schema",
                json_schema: JsonSchemaFormat {
                    name: &answer.name,
                    schema: &answer.schema,
                    strict: strict_compatible(&answer.schema),
                },
            }),
            tools: toolbox
                .tools
                .iter()
                .map(|tool| FunctionTool {
                    kind: "function",
                    function: Function {
                        name: &tool.name,
                        description: tool.description,
                        parameters: &tool.schema,
                    },
                })
                .collect(),
        };
        let response: ChatResponse = http::send_json(
            self.http
                .post(&self.endpoint)
                .header(AUTHORIZATION, self.auth.clone())
                .json(&body),
        )
        .await?;
        self.reply(response, request, &toolbox)
    }

    fn reply(
        &self,
        response: ChatResponse,
        request: &ModelRequest,
        toolbox: &Toolbox<'_>,
    ) -> Result<Reply, ModelError> {
        let choice = response
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ModelError::Malformed("the answer has no choices".to_owned()))?;
        let message = choice.message;
        if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
            return Err(ModelError::Refused(refusal));
        }
        let tool_calls: Vec<ToolCall> = message
            .tool_calls
            .into_iter()
            .map(|call| {
                // Arguments that are not JSON reach the tool as a string, whose decode
                // error goes back to the model for it to correct.
                let arguments = serde_json::from_str(&call.function.arguments)
                    .unwrap_or(Value::String(call.function.arguments));
                ToolCall {
                    arguments: toolbox.arguments(&call.function.name, arguments),
                    id: call.id,
                    name: call.function.name,
                }
            })
            .collect();
        // A tool call comes with `content: null` or `""`; a refusal is handled above.
        let content = message
            .content
            .filter(|content| !content.is_empty() || tool_calls.is_empty());
        let (text, answer) = match (content, &toolbox.answer) {
            (Some(content), Some(format)) => match serde_json::from_str::<Value>(&content) {
                Ok(answer) => (None, Some(format.unwrap(answer))),
                // Cut off: asking for a correction would be cut off the same way.
                Err(_) if choice.finish_reason.as_deref() == Some("length") => {
                    return Err(ModelError::Malformed(format!(
                        "the answer was cut off at max_tokens ({}) before its JSON ended",
                        request.prompt.max_tokens
                    )))
                }
                // Left as text: the chat loop sends back that it is not JSON.
                Err(_) => (Some(content), None),
            },
            (content, _) => (content, None),
        };
        let usage = response.usage;
        Ok(Reply {
            text,
            answer,
            answer_call_id: None,
            tool_calls,
            model: self.name.clone(),
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.completion_tokens,
            cost_usd: self
                .price
                .cost_usd(usage.prompt_tokens, usage.completion_tokens),
            cached: false,
        })
    }
}

impl Model for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.name
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(self.chat(request))
    }
}

/// The system prompt, the user's message and the conversation since.
fn messages<'a>(request: &'a ModelRequest, toolbox: &Toolbox<'_>) -> Vec<ChatMessage<'a>> {
    let prompt = &request.prompt;
    let mut messages = Vec::with_capacity(2 + request.turns.len());
    if !prompt.system.is_empty() {
        messages.push(ChatMessage::System {
            content: &prompt.system,
        });
    }
    messages.push(ChatMessage::User {
        content: &prompt.user,
    });
    for turn in &request.turns {
        match turn {
            Turn::Assistant(turn) => {
                // The content is what the model wrote: its text, or the JSON it answered.
                let answer = turn.answer.as_ref().map(|answer| match &toolbox.answer {
                    Some(format) => format.wrap(answer).to_string(),
                    None => answer.to_string(),
                });
                let said: Vec<String> = turn
                    .text
                    .iter()
                    .cloned()
                    .chain(answer)
                    .filter(|part| !part.is_empty())
                    .collect();
                let content = match (said.is_empty(), turn.tool_calls.is_empty()) {
                    // `null` is how the API spells "only calls".
                    (true, false) => None,
                    _ => Some(said.join("\n\n")),
                };
                messages.push(ChatMessage::Assistant {
                    content,
                    tool_calls: turn
                        .tool_calls
                        .iter()
                        .map(|call| OutgoingCall {
                            id: &call.id,
                            kind: "function",
                            function: CalledFunction {
                                name: &call.name,
                                arguments: arguments_text(
                                    &toolbox.input(&call.name, &call.arguments),
                                ),
                            },
                        })
                        .collect(),
                });
            }
            Turn::ToolResults { results } => {
                messages.extend(results.iter().map(|result| ChatMessage::Tool {
                    tool_call_id: &result.call_id,
                    content: result_text(result),
                }));
            }
            Turn::Correction { message } => messages.push(ChatMessage::User { content: message }),
        }
    }
    messages
}

/// A call's arguments as the API spells them: a JSON string. Arguments that were not JSON
/// were kept as the string the model wrote, and go back as it wrote them.
fn arguments_text(arguments: &Value) -> String {
    match arguments {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}

/// The API has no error flag on a tool message, so an error says so in its content.
fn result_text(result: &ToolResult) -> String {
    let text = text_of(&result.content);
    if result.is_error {
        format!("Error: {text}")
    } else {
        text
    }
}

/// The deepest nesting of objects below the root strict mode accepts.
const STRICT_MAX_DEPTH: usize = 10;
/// The most properties strict mode accepts in one schema.
const STRICT_MAX_PROPERTIES: usize = 5000;

/// Whether OpenAI's strict mode accepts `schema` as it is: the root an object; every object
/// closed (`additionalProperties: false`) with every property required; only the keywords
/// strict mode supports (no `allOf`, `oneOf`, `not`, `prefixItems`, string lengths, open
/// maps or the empty schema). A schema outside it is sent with `strict: false`, as a guide
/// the chat loop's check and corrections back up, rather than rewritten: making optional
/// fields required and nullable would change what the answer decodes as.
pub(crate) fn strict_compatible(schema: &Value) -> bool {
    let root_is_object = schema.get("type").and_then(Value::as_str) == Some("object");
    let mut properties = 0;
    root_is_object && strict_node(schema, 0, &mut properties) && properties <= STRICT_MAX_PROPERTIES
}

fn strict_node(schema: &Value, depth: usize, properties: &mut usize) -> bool {
    const KEYWORDS: &[&str] = &[
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "enum",
        "const",
        "title",
        "description",
        "$defs",
        "$ref",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    ];
    let Value::Object(schema) = schema else {
        return false;
    };
    // Every node says what it is: the empty schema (anything) has no strict form.
    let defined = ["type", "anyOf", "enum", "const", "$ref"]
        .iter()
        .any(|key| schema.contains_key(*key));
    if !defined || !schema.keys().all(|k| KEYWORDS.contains(&k.as_str())) {
        return false;
    }
    let is_object = match schema.get("type") {
        Some(Value::String(kind)) => kind == "object",
        Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "object"),
        _ => schema.contains_key("properties"),
    };
    if is_object && (depth > STRICT_MAX_DEPTH || !strict_object(schema, properties)) {
        return false;
    }
    let nested_depth = depth + usize::from(is_object);
    let children = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(Map::values)
        .chain(schema.get("items"))
        .chain(
            schema
                .get("anyOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .chain(
            schema
                .get("$defs")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(Map::values),
        );
    for child in children {
        if !strict_node(child, nested_depth, properties) {
            return false;
        }
    }
    true
}

/// Closed, with every property required.
fn strict_object(schema: &Map<String, Value>, properties: &mut usize) -> bool {
    if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
        return false;
    }
    let names: Vec<&String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    *properties += names.len();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    names.iter().all(|name| required.contains(&name.as_str()))
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    temperature: f32,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<FunctionTool<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum ChatMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: &'a str,
    },
    Assistant {
        content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<OutgoingCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: String,
    },
}

#[derive(Serialize)]
struct OutgoingCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: CalledFunction<'a>,
}

#[derive(Serialize)]
struct CalledFunction<'a> {
    name: &'a str,
    arguments: String,
}

#[derive(Serialize)]
struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: JsonSchemaFormat<'a>,
}

#[derive(Serialize)]
struct JsonSchemaFormat<'a> {
    name: &'a str,
    schema: &'a Value,
    strict: bool,
}

#[derive(Serialize)]
struct FunctionTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: Function<'a>,
}

#[derive(Serialize)]
struct Function<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
    usage: Usage,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    /// Absent or `null` without calls, depending on the server.
    #[serde(default, deserialize_with = "null_as_empty")]
    tool_calls: Vec<IncomingCall>,
}

#[derive(Deserialize)]
struct IncomingCall {
    id: String,
    function: IncomingFunction,
}

#[derive(Deserialize)]
struct IncomingFunction {
    name: String,
    /// A JSON object, as a string the model wrote (not always valid JSON).
    arguments: String,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u32,
    completion_tokens: u32,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::strict_compatible;

    /// Takes a schema out of strict mode.
    type Change = fn(&mut serde_json::Value);

    #[test]
    fn strict_mode_takes_closed_objects_with_every_property_required() {
        let closed = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                "owner": {"anyOf": [
                    {"type": "object", "properties": {"id": {"type": "integer"}},
                     "required": ["id"], "additionalProperties": false},
                    {"type": "null"}
                ]}
            },
            "required": ["name", "tags", "owner"],
            "additionalProperties": false
        });
        assert!(strict_compatible(&closed));

        let variants: [(&str, Change); 8] = [
            ("open object", |s| {
                s.as_object_mut().map(|o| o.remove("additionalProperties"));
            }),
            ("optional property", |s| {
                s["required"] = json!(["name", "tags"])
            }),
            ("open nested object", |s| {
                s["properties"]["owner"]["anyOf"][0]["additionalProperties"] = json!(true)
            }),
            (
                "map",
                |s| {
                    s["properties"]["name"] =
                        json!({"type": "object", "additionalProperties": {"type": "integer"}})
                },
            ),
            ("anything", |s| s["properties"]["name"] = json!({})),
            (
                "tuple",
                |s| {
                    s["properties"]["tags"] =
                        json!({"type": "array", "prefixItems": [{"type": "string"}]})
                },
            ),
            ("allOf", |s| s["allOf"] = json!([{"type": "object"}])),
            ("string length", |s| {
                s["properties"]["name"]["maxLength"] = json!(3)
            }),
        ];
        for (why, change) in variants {
            let mut schema = closed.clone();
            change(&mut schema);
            assert!(!strict_compatible(&schema), "{why}: {schema}");
        }
        assert!(!strict_compatible(
            &json!({"type": "array", "items": {"type": "string"}})
        ));
        assert!(!strict_compatible(
            &json!({"anyOf": [closed.clone(), {"type": "null"}]})
        ));
    }

    #[test]
    fn strict_mode_takes_ten_levels_of_objects() {
        let mut schema = json!({"type": "string"});
        for level in 1..=12 {
            schema = json!({
                "type": "object",
                "properties": {"inner": schema},
                "required": ["inner"],
                "additionalProperties": false
            });
            assert_eq!(strict_compatible(&schema), level <= 11, "{level}");
        }
    }
}
