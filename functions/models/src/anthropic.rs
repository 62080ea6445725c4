use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use switchyard_sdk::{BoxFuture, Completion, Model, ModelError, ModelRequest, Prompt, Reply};

use crate::{http, ModelConfigError, Price};

/// The Anthropic Messages API (`POST {base}/v1/messages`).
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

    async fn message(&self, prompt: &Prompt) -> Result<Completion, ModelError> {
        let request = MessagesRequest {
            model: &self.model,
            system: &prompt.system,
            messages: [UserMessage {
                role: "user",
                content: &prompt.user,
            }],
            max_tokens: prompt.max_tokens,
            temperature: prompt.temperature,
        };
        let response: MessagesResponse = http::send_json(
            self.http
                .post(&self.endpoint)
                .header("x-api-key", self.auth.clone())
                .header("anthropic-version", Self::API_VERSION)
                .json(&request),
        )
        .await?;
        let text = response
            .content
            .into_iter()
            .filter_map(|block| match block {
                ContentBlock::Text { text } => Some(text),
                ContentBlock::Other => None,
            })
            .collect();
        let usage = response.usage;
        Ok(Completion {
            text,
            model: self.name.clone(),
            tokens_in: usage.input_tokens,
            tokens_out: usage.output_tokens,
            cost_usd: self.price.cost_usd(usage.input_tokens, usage.output_tokens),
        })
    }
}

impl Model for Anthropic {
    fn name(&self) -> &str {
        &self.name
    }

    // Text only for now: structured output and tools come with the providers' native modes.
    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move {
            let completion = self.message(&request.prompt).await?;
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

#[derive(Serialize)]
struct MessagesRequest<'a> {
    model: &'a str,
    // Left out when empty: no field is how the API spells "no system prompt".
    #[serde(skip_serializing_if = "str::is_empty")]
    system: &'a str,
    messages: [UserMessage<'a>; 1],
    max_tokens: u32,
    temperature: f32,
}

#[derive(Serialize)]
struct UserMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct MessagesResponse {
    content: Vec<ContentBlock>,
    usage: Usage,
}

/// Only text is part of the answer; `thinking` and `tool_use` blocks are skipped.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentBlock {
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: u32,
    output_tokens: u32,
}
