use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchyard_sdk::{BoxFuture, Model, ModelError, ModelRequest, Reply, ToolCall};

use crate::tools::{self, text_of, Blocks, Role, Toolbox};
use crate::{http, ModelConfigError, Price};

/// The Anthropic Messages API (`POST {base}/v1/messages`).
///
/// A structured answer is a call to an answer tool named after the output, with the
/// output's schema as its input schema, forced by `tool_choice` (`tool` alone, `any` beside
/// other tools); a correction is that call's error `tool_result`. Tools are client tools,
/// their results `tool_result` blocks.
#[derive(Debug)]
pub struct Anthropic {
    http: reqwest::Client,
    endpoint: String,
    auth: HeaderValue,
    model: String,
    name: String,
    price: Price,
}

impl Anthropic {
    pub const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";

    /// The API version this client's request and response types follow.
    const API_VERSION: &'static str = "2023-06-01";

    /// `base_url` is the host root, e.g. [`Self::DEFAULT_BASE_URL`], without `/v1`;
    /// `model` is the id sent in every request (`claude-3-5-haiku-latest`).
    pub fn new(
        base_url: &str,
        api_key: &str,
        model: impl Into<String>,
        price: Price,
    ) -> Result<Self, ModelConfigError> {
        let model = model.into();
        Ok(Anthropic {
            http: http::client()?,
            endpoint: http::join(base_url, "/v1/messages"),
            auth: http::secret_header(api_key, "")?,
            name: format!("anthropic:{model}"),
            model,
            price,
        })
    }

    async fn message(&self, request: &ModelRequest) -> Result<Reply, ModelError> {
        let toolbox = Toolbox::new(request);
        let tool_choice = toolbox.answer.as_ref().map(|answer| {
            if toolbox.tools.is_empty() {
                ToolChoice::Tool { name: &answer.name }
            } else {
                // The model may call tools first; it must end with the answer tool.
                ToolChoice::Any
            }
        });
        let body = MessagesRequest {
            model: &self.model,
            system: &request.prompt.system,
            messages: tools::conversation::<Block>(request, &toolbox)
                .into_iter()
                .map(|(role, blocks)| Message::new(role, blocks))
                .collect(),
            max_tokens: request.prompt.max_tokens,
            temperature: request.prompt.temperature,
            tools: toolbox
                .all()
                .map(|tool| ToolDefinition {
                    name: &tool.name,
                    description: tool.description,
                    input_schema: &tool.schema,
                })
                .collect(),
            tool_choice,
        };
        let response: MessagesResponse = http::send_json(
            self.http
                .post(&self.endpoint)
                .header("x-api-key", self.auth.clone())
                .header("anthropic-version", Self::API_VERSION)
                .json(&body),
        )
        .await?;
        self.reply(response, request, &toolbox)
    }

    fn reply(
        &self,
        response: MessagesResponse,
        request: &ModelRequest,
        toolbox: &Toolbox<'_>,
    ) -> Result<Reply, ModelError> {
        let mut reply = Reply {
            model: self.name.clone(),
            tokens_in: response.usage.input_tokens,
            tokens_out: response.usage.output_tokens,
            cost_usd: self
                .price
                .cost_usd(response.usage.input_tokens, response.usage.output_tokens),
            ..Reply::default()
        };
        let mut text = String::new();
        for block in response.content {
            match block {
                ContentBlock::Text { text: part } => text.push_str(&part),
                ContentBlock::ToolUse { id, name, input } => {
                    match toolbox.answer_in(&name, input) {
                        // The first answer is the answer.
                        Ok(answer) if reply.answer.is_none() => {
                            reply.answer = Some(answer);
                            reply.answer_call_id = Some(id);
                        }
                        Ok(_) => {}
                        Err(input) => reply.tool_calls.push(ToolCall {
                            arguments: toolbox.arguments(&name, input),
                            id,
                            name,
                        }),
                    }
                }
                ContentBlock::Other => {}
            }
        }
        let acted = reply.answer.is_some() || !reply.tool_calls.is_empty();
        match response.stop_reason.as_deref() {
            Some("refusal") => {
                let reason = if text.trim().is_empty() {
                    "the model stopped with `refusal`".to_owned()
                } else {
                    text
                };
                return Err(ModelError::Refused(reason));
            }
            // Cut off: asking for a correction would be cut off the same way.
            Some("max_tokens") if request.output.is_some() && !acted => {
                return Err(ModelError::Malformed(format!(
                    "the answer was cut off at max_tokens ({}) before it was given",
                    request.prompt.max_tokens
                )));
            }
            _ => {}
        }
        // Text beside a call is kept; no text at all beside one is no text.
        if !(text.is_empty() && acted) {
            reply.text = Some(text);
        }
        Ok(reply)
    }
}

impl Model for Anthropic {
    fn name(&self) -> &str {
        &self.name
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(self.message(request))
    }
}

#[derive(Serialize)]
struct MessagesRequest<'a> {
    model: &'a str,
    // Left out when empty: no field is how the API spells "no system prompt".
    #[serde(skip_serializing_if = "str::is_empty")]
    system: &'a str,
    messages: Vec<Message>,
    max_tokens: u32,
    temperature: f32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolDefinition<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoice<'a>>,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: Content,
}

impl Message {
    fn new(role: Role, mut blocks: Vec<Block>) -> Self {
        let role = match role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        // A message that is one text is sent as a plain string, the API's short form.
        let content = match blocks.as_mut_slice() {
            [Block::Text { text }] => Content::Text(std::mem::take(text)),
            _ => Content::Blocks(blocks),
        };
        Message { role, content }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Blocks(Vec<Block>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

impl Blocks for Block {
    fn text(text: String) -> Self {
        Block::Text { text }
    }

    fn tool_use(id: &str, name: &str, input: Value) -> Self {
        Block::ToolUse {
            id: id.to_owned(),
            name: name.to_owned(),
            input,
        }
    }

    fn tool_result(call_id: &str, content: &Value, is_error: bool) -> Self {
        Block::ToolResult {
            tool_use_id: call_id.to_owned(),
            content: text_of(content),
            is_error,
        }
    }
}

#[derive(Serialize)]
struct ToolDefinition<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ToolChoice<'a> {
    Any,
    Tool { name: &'a str },
}

#[derive(Deserialize)]
struct MessagesResponse {
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    usage: Usage,
}

/// Text and tool calls are the answer; `thinking` and other blocks are skipped.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: u32,
    output_tokens: u32,
}
