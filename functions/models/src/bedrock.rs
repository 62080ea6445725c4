use aws_config::SdkConfig;
use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::types::{
    AnyToolChoice, ContentBlock, ConversationRole, InferenceConfiguration, Message,
    SpecificToolChoice, StopReason, SystemContentBlock, Tool, ToolChoice, ToolConfiguration,
    ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus, ToolSpecification,
    ToolUseBlock,
};
use aws_smithy_types::{Document, Number};
use serde_json::{Map, Value};
use switchyard_sdk::{BoxFuture, Model, ModelError, ModelRequest, Reply, ToolCall};

use crate::tools::{self, text_of, Blocks, Role, Toolbox};
use crate::{http, Price};

/// Amazon Bedrock's Converse API, through the official SDK.
///
/// The endpoint, region and credentials come from the [`SdkConfig`], so
/// `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` and the usual credential chain apply when it was
/// loaded with `aws_config::load_defaults`.
///
/// A structured answer is a `toolUse` of an answer tool named after the output, with the
/// output's schema as its `inputSchema`, forced by `toolChoice` (`tool` alone, `any` beside
/// other tools); a correction is that call's `toolResult` with status `error`.
#[derive(Debug)]
pub struct BedrockConverse {
    client: aws_sdk_bedrockruntime::Client,
    model: String,
    name: String,
    price: Price,
}

impl BedrockConverse {
    /// `model` is a Bedrock model id or inference profile
    /// (`anthropic.claude-3-haiku-20240307-v1:0`, `us.amazon.nova-lite-v1:0`).
    pub fn new(sdk_config: &SdkConfig, model: impl Into<String>, price: Price) -> Self {
        let config = aws_sdk_bedrockruntime::config::Builder::from(sdk_config)
            // The SDK would retry throttling and 5xx on its own; the caller already retries
            // by `ModelError::is_retryable`, so retrying here too would multiply attempts and
            // behave unlike the HTTP providers.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(http::CONNECT_TIMEOUT)
                    .operation_timeout(http::REQUEST_TIMEOUT)
                    .build(),
            )
            .build();
        let model = model.into();
        BedrockConverse {
            client: aws_sdk_bedrockruntime::Client::from_conf(config),
            name: format!("bedrock:{model}"),
            model,
            price,
        }
    }

    async fn converse(&self, request: &ModelRequest) -> Result<Reply, ModelError> {
        let prompt = &request.prompt;
        let toolbox = Toolbox::new(request);
        let messages = tools::conversation::<Block>(request, &toolbox)
            .into_iter()
            .map(|(role, blocks)| {
                let role = match role {
                    Role::User => ConversationRole::User,
                    Role::Assistant => ConversationRole::Assistant,
                };
                Message::builder()
                    .role(role)
                    .set_content(Some(blocks.into_iter().map(|b| b.0).collect()))
                    .build()
                    .expect("a message with a role and content always builds")
            })
            .collect();
        let inference = InferenceConfiguration::builder()
            // Converse takes an i32; no model comes near the limit, so saturate.
            .max_tokens(i32::try_from(prompt.max_tokens).unwrap_or(i32::MAX))
            .temperature(prompt.temperature)
            .build();
        let mut call = self
            .client
            .converse()
            .model_id(&self.model)
            .set_messages(Some(messages))
            .inference_config(inference)
            .set_tool_config(tool_config(&toolbox));
        // An empty text block fails validation; no block at all means "no system prompt".
        if !prompt.system.is_empty() {
            call = call.system(SystemContentBlock::Text(prompt.system.clone()));
        }
        let output = call.send().await.map_err(converse_error)?;
        self.reply(output, request, &toolbox)
    }

    fn reply(
        &self,
        output: ConverseOutput,
        request: &ModelRequest,
        toolbox: &Toolbox<'_>,
    ) -> Result<Reply, ModelError> {
        let message = output
            .output()
            .and_then(|output| output.as_message().ok())
            .ok_or_else(|| ModelError::Malformed("the answer has no message".to_owned()))?;
        // The SDK fills a missing `usage` with zeros (Smithy's error correction), so only a
        // wholly absent one is caught here.
        let usage = output
            .usage()
            .ok_or_else(|| ModelError::Malformed("the answer has no token usage".to_owned()))?;
        let tokens_in = token_count(usage.input_tokens())?;
        let tokens_out = token_count(usage.output_tokens())?;
        let mut reply = Reply {
            model: self.name.clone(),
            tokens_in,
            tokens_out,
            cost_usd: self.price.cost_usd(tokens_in, tokens_out),
            ..Reply::default()
        };
        let mut text = String::new();
        for block in message.content() {
            match block {
                ContentBlock::Text(part) => text.push_str(part),
                ContentBlock::ToolUse(call) => {
                    let input = json(call.input());
                    match toolbox.answer_in(call.name(), input) {
                        // The first answer is the answer.
                        Ok(answer) if reply.answer.is_none() => {
                            reply.answer = Some(answer);
                            reply.answer_call_id = Some(call.tool_use_id().to_owned());
                        }
                        Ok(_) => {}
                        Err(input) => reply.tool_calls.push(ToolCall {
                            id: call.tool_use_id().to_owned(),
                            name: call.name().to_owned(),
                            arguments: toolbox.arguments(call.name(), input),
                        }),
                    }
                }
                _ => {}
            }
        }
        let acted = reply.answer.is_some() || !reply.tool_calls.is_empty();
        match output.stop_reason() {
            // The text is what the filter or guardrail put in the answer's place.
            StopReason::ContentFiltered | StopReason::GuardrailIntervened => {
                let reason = if text.trim().is_empty() {
                    format!("stopped with `{}`", output.stop_reason().as_str())
                } else {
                    text
                };
                return Err(ModelError::Refused(reason));
            }
            // Cut off: asking for a correction would be cut off the same way.
            StopReason::MaxTokens if request.output.is_some() && !acted => {
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

impl Model for BedrockConverse {
    fn name(&self) -> &str {
        &self.name
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(self.converse(request))
    }
}

/// The tools and, when there is an answer tool, the choice that forces an answer; `None`
/// without tools, as Converse refuses an empty tool list.
fn tool_config(toolbox: &Toolbox<'_>) -> Option<ToolConfiguration> {
    let tools: Vec<Tool> = toolbox
        .all()
        .map(|tool| {
            let mut spec = ToolSpecification::builder()
                .name(&tool.name)
                .input_schema(ToolInputSchema::Json(document(&tool.schema)));
            // Converse refuses an empty description; none at all is allowed.
            if !tool.description.is_empty() {
                spec = spec.description(tool.description);
            }
            Tool::ToolSpec(
                spec.build()
                    .expect("a tool spec with a name and input schema always builds"),
            )
        })
        .collect();
    if tools.is_empty() {
        return None;
    }
    let choice = toolbox.answer.as_ref().map(|answer| {
        if toolbox.tools.is_empty() {
            ToolChoice::Tool(
                SpecificToolChoice::builder()
                    .name(&answer.name)
                    .build()
                    .expect("a tool choice with a name always builds"),
            )
        } else {
            // The model may call tools first; it must end with the answer tool.
            ToolChoice::Any(AnyToolChoice::builder().build())
        }
    });
    ToolConfiguration::builder()
        .set_tools(Some(tools))
        .set_tool_choice(choice)
        .build()
        .ok()
}

/// A Converse content block.
struct Block(ContentBlock);

impl Blocks for Block {
    fn text(text: String) -> Self {
        Block(ContentBlock::Text(text))
    }

    fn tool_use(id: &str, name: &str, input: Value) -> Self {
        let call = ToolUseBlock::builder()
            .tool_use_id(id)
            .name(name)
            .input(document(&input))
            .build()
            .expect("a tool use with an id, a name and an input always builds");
        Block(ContentBlock::ToolUse(call))
    }

    fn tool_result(call_id: &str, content: &Value, is_error: bool) -> Self {
        // `json` content must be an object; anything else goes as its JSON text.
        let content = match content {
            Value::Object(_) => ToolResultContentBlock::Json(document(content)),
            other => ToolResultContentBlock::Text(text_of(other)),
        };
        let mut result = ToolResultBlock::builder()
            .tool_use_id(call_id)
            .content(content);
        // Only the error status is sent: not every model on Bedrock takes the field, and
        // success is what its absence means.
        if is_error {
            result = result.status(ToolResultStatus::Error);
        }
        Block(ContentBlock::ToolResult(
            result
                .build()
                .expect("a tool result with an id and content always builds"),
        ))
    }
}

/// JSON as a Smithy document. Integers stay integers (`PosInt` from zero up, `NegInt`
/// below), so a schema's `"minItems": 2` is not sent as `2.0`.
fn document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Number::PosInt(u),
            (None, Some(i)) => Number::NegInt(i),
            // Every other number serde_json holds is a finite f64.
            (None, None) => Number::Float(n.as_f64().unwrap_or_default()),
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(document).collect()),
        Value::Object(map) => Document::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), document(value)))
                .collect(),
        ),
    }
}

/// A Smithy document as JSON. A float JSON cannot hold (NaN, infinity), which no JSON body
/// carries anyway, becomes `null`.
fn json(document: &Document) -> Value {
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(json).collect()),
        Document::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), json(value)))
                .collect::<Map<String, Value>>(),
        ),
    }
}

fn token_count(count: i32) -> Result<u32, ModelError> {
    u32::try_from(count).map_err(|_| ModelError::Malformed(format!("negative token count {count}")))
}

/// Bedrock's exceptions are mapped by meaning, not by their HTTP status: `ModelNotReady`
/// arrives as 429 but is a capacity problem on AWS's side, worth retrying like a 5xx,
/// while throttling is reported as [`ModelError::Throttled`].
fn converse_error(err: SdkError<ConverseError, HttpResponse>) -> ModelError {
    match err {
        SdkError::ServiceError(context) => {
            let status = context.raw().status();
            let err = context.into_err();
            // A 2xx body the SDK could not deserialize is reported as an unhandled service
            // error rather than a `ResponseError`.
            if status.is_success() {
                return ModelError::Malformed(DisplayErrorContext(&err).to_string());
            }
            let message = err
                .message()
                .map_or_else(|| DisplayErrorContext(&err).to_string(), str::to_owned);
            match err {
                ConverseError::ThrottlingException(_) => ModelError::Throttled,
                ConverseError::InternalServerException(_) => ModelError::Provider {
                    status: 500,
                    message,
                },
                ConverseError::ServiceUnavailableException(_)
                | ConverseError::ModelNotReadyException(_) => ModelError::Provider {
                    status: 503,
                    message,
                },
                ConverseError::ModelTimeoutException(_) => ModelError::Provider {
                    status: 504,
                    message,
                },
                ConverseError::ValidationException(_) => ModelError::Provider {
                    status: 400,
                    message,
                },
                ConverseError::AccessDeniedException(_) => ModelError::Provider {
                    status: 403,
                    message,
                },
                _ => http::status_error(status.as_u16(), message),
            }
        }
        SdkError::ResponseError(_) => ModelError::Malformed(DisplayErrorContext(&err).to_string()),
        // Timeouts, connection failures, and requests that could not be built or signed
        // (e.g. credentials not yet available).
        _ => ModelError::Transport(DisplayErrorContext(&err).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{document, json, Document, Number};

    #[test]
    fn json_and_documents_convert_both_ways_keeping_integers() {
        let value = json!({
            "count": 2, "below": -3, "ratio": 0.5, "big": u64::MAX, "least": i64::MIN,
            "none": null, "yes": true, "list": ["a", {"nested": [1.5e300]}]
        });
        let doc = document(&value);
        let Document::Object(map) = &doc else {
            panic!("{doc:?}")
        };
        assert_eq!(map["count"], Document::Number(Number::PosInt(2)));
        assert_eq!(map["below"], Document::Number(Number::NegInt(-3)));
        assert_eq!(map["ratio"], Document::Number(Number::Float(0.5)));
        assert_eq!(json(&doc), value);
        assert_eq!(
            json(&Document::Number(Number::Float(f64::NAN))),
            json!(null)
        );
    }
}
