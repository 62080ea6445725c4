use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde::{Deserialize, Serialize};
use switchyard_sdk::{BoxFuture, Completion, Model, ModelError, ModelRequest, Prompt, Reply};

use crate::{http, ModelConfigError, Price};

/// The OpenAI Chat Completions API (`POST {base}/chat/completions`), or any server that
/// speaks it (vLLM, Ollama, LiteLLM, Azure-style gateways) when given their base URL.
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

    async fn chat(&self, prompt: &Prompt) -> Result<Completion, ModelError> {
        let mut messages = Vec::with_capacity(2);
        if !prompt.system.is_empty() {
            messages.push(ChatMessage {
                role: "system",
                content: &prompt.system,
            });
        }
        messages.push(ChatMessage {
            role: "user",
            content: &prompt.user,
        });
        let request = ChatRequest {
            model: &self.model,
            messages,
            temperature: prompt.temperature,
            max_tokens: prompt.max_tokens,
        };
        let response: ChatResponse = http::send_json(
            self.http
                .post(&self.endpoint)
                .header(AUTHORIZATION, self.auth.clone())
                .json(&request),
        )
        .await?;
        let text = response
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ModelError::Malformed("the answer has no choices".to_owned()))?
            .message
            .content
            // A refusal or a tool call comes back with `content: null`.
            .ok_or_else(|| ModelError::Malformed("the first choice has no text".to_owned()))?;
        let usage = response.usage;
        Ok(Completion {
            text,
            model: self.name.clone(),
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.completion_tokens,
            cost_usd: self
                .price
                .cost_usd(usage.prompt_tokens, usage.completion_tokens),
        })
    }
}

impl Model for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.name
    }

    // Text only for now: structured output and tools come with the providers' native modes.
    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move {
            let completion = self.chat(&request.prompt).await?;
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
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    temperature: f32,
    max_tokens: u32,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
    usage: Usage,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u32,
    completion_tokens: u32,
}
