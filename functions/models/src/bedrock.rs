use aws_config::SdkConfig;
use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message, SystemContentBlock,
};
use switchyard_sdk::{BoxFuture, Completion, Model, ModelError, ModelRequest, Prompt, Reply};

use crate::{http, Price};

/// Amazon Bedrock's Converse API, through the official SDK.
///
/// The endpoint, region and credentials come from the [`SdkConfig`], so
/// `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` and the usual credential chain apply when it was
/// loaded with `aws_config::load_defaults`.
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

    async fn converse(&self, prompt: &Prompt) -> Result<Completion, ModelError> {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(prompt.user.clone()))
            .build()
            .expect("a message with a role and content always builds");
        let inference = InferenceConfiguration::builder()
            // Converse takes an i32; no model comes near the limit, so saturate.
            .max_tokens(i32::try_from(prompt.max_tokens).unwrap_or(i32::MAX))
            .temperature(prompt.temperature)
            .build();
        let mut request = self
            .client
            .converse()
            .model_id(&self.model)
            .messages(message)
            .inference_config(inference);
        // An empty text block fails validation; no block at all means "no system prompt".
        if !prompt.system.is_empty() {
            request = request.system(SystemContentBlock::Text(prompt.system.clone()));
        }
        let output = request.send().await.map_err(converse_error)?;
        self.completion(output)
    }

    fn completion(&self, output: ConverseOutput) -> Result<Completion, ModelError> {
        let message = output
            .output()
            .and_then(|output| output.as_message().ok())
            .ok_or_else(|| ModelError::Malformed("the answer has no message".to_owned()))?;
        let text = message
            .content()
            .iter()
            .filter_map(|block| block.as_text().ok().map(String::as_str))
            .collect();
        // The SDK fills a missing `usage` with zeros (Smithy's error correction), so only a
        // wholly absent one is caught here.
        let usage = output
            .usage()
            .ok_or_else(|| ModelError::Malformed("the answer has no token usage".to_owned()))?;
        let tokens_in = token_count(usage.input_tokens())?;
        let tokens_out = token_count(usage.output_tokens())?;
        Ok(Completion {
            text,
            model: self.name.clone(),
            tokens_in,
            tokens_out,
            cost_usd: self.price.cost_usd(tokens_in, tokens_out),
        })
    }
}

impl Model for BedrockConverse {
    fn name(&self) -> &str {
        &self.name
    }

    // Text only for now: structured output and tools come with the providers' native modes.
    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move {
            let completion = self.converse(&request.prompt).await?;
            Ok(Reply {
                text: Some(completion.text),
                model: completion.model,
                tokens_in: completion.tokens_in,
                tokens_out: completion.tokens_out,
                cost_usd: completion.cost_usd,
                ..Reply::default()
            })
        })
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
