//! What an agent asks a language model, and what comes back.
//!
//! Agents ask through `ctx.model`, an `Arc<dyn Model>`:
//!
//! - [`Model::complete`]: free text for a [`Prompt`];
//! - `ctx.model.ask::<T>(prompt)`: a value of a Rust type. The request carries `T`'s JSON
//!   Schema (from the serde-true [`Shape`](crate::shape::Shape) the workflow checks use),
//!   each provider uses its native structured output, and the answer is decoded as serde
//!   would; an answer that does not fit is sent back with what is wrong, a bounded number
//!   of times ([`Chat`]);
//! - `ctx.model.chat(prompt).tool(...).ask::<T>()`: the same, with [`Tool`]s the model may
//!   call; the loop runs independent calls of one turn concurrently.
//!
//! Providers implement one method, [`Model::respond`]: one exchange of a [`ModelRequest`]
//! for a [`Reply`]. The runtime wraps the configured provider to meter, cache, trace and
//! budget each exchange, so those see every round of a conversation.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::BoxFuture;

mod chat;
mod embedded;
mod tool;

pub use chat::Chat;
pub use embedded::EmbeddedModel;
pub use tool::Tool;

/// One request to a language model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    pub system: String,
    pub user: String,
    pub max_tokens: u32,
    pub temperature: f32,
}

impl Prompt {
    pub fn new(system: impl Into<String>, user: impl Into<String>) -> Self {
        Prompt {
            system: system.into(),
            user: user.into(),
            max_tokens: 512,
            temperature: 0.2,
        }
    }

    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = temperature;
        self
    }
}

/// A model's free-text answer with its accounting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub tokens_in: u32,
    pub tokens_out: u32,
    pub cost_usd: f64,
}

/// One exchange: the prompt, the conversation since it, the answer's schema and the tools.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    pub prompt: Prompt,
    /// What was said after the prompt's user message, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<Turn>,
    /// The answer must be JSON fitting this schema (structured output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputSchema>,
    /// Functions the model may call before it answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Opt-in: the runtime may answer this request from a reply cached at most this many
    /// seconds ago, for the same tenant, provider, model, prompt, schema and tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_ttl_s: Option<u32>,
}

impl ModelRequest {
    /// A request for free text.
    pub fn text(prompt: Prompt) -> Self {
        ModelRequest {
            prompt,
            turns: Vec::new(),
            output: None,
            tools: Vec::new(),
            cache_ttl_s: None,
        }
    }
}

/// The schema a structured answer must fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputSchema {
    /// A short identifier (`[A-Za-z0-9_-]{1,64}`): providers that answer through a forced
    /// tool call use it as the tool's name.
    pub name: String,
    /// JSON Schema, draft 2020-12, without `$schema`.
    pub schema: Value,
}

/// A function the model may call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// `[A-Za-z0-9_-]{1,64}`, unique in the request.
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub input_schema: Value,
}

/// What was said after the prompt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Turn {
    /// An earlier reply of the model, as it gave it.
    Assistant(AssistantTurn),
    /// The results of the tool calls of the assistant turn just before.
    ToolResults { results: Vec<ToolResult> },
    /// The answer of the assistant turn just before did not fit the output schema; this
    /// says what is wrong. Providers that answer through a tool call send it as that
    /// call's error result, the others as a user message.
    Correction { message: String },
}

/// A reply as the conversation remembers it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssistantTurn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

/// The model asks for a function to be run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call, echoed in its result.
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

/// What a tool call gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    pub call_id: String,
    pub name: String,
    /// The tool's output, or the error message when `is_error`.
    pub content: Value,
    #[serde(default)]
    pub is_error: bool,
}

/// One exchange's answer with its accounting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Free text: the answer to a text request, or what came instead of a structured
    /// answer (for example JSON that does not parse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The structured answer, parsed but not yet checked against the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
    /// Set by providers that answer through a forced tool call (Anthropic, Bedrock): the
    /// call's id, to which a [`Turn::Correction`] replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_call_id: Option<String>,
    /// Calls the model asks for before it answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// `provider:model` as configured.
    pub model: String,
    pub tokens_in: u32,
    pub tokens_out: u32,
    pub cost_usd: f64,
    /// Served from the response cache: the tokens and cost are what the cached exchange
    /// spent, saved this time.
    #[serde(default)]
    pub cached: bool,
}

impl Reply {
    /// The reply as the conversation remembers it.
    pub fn turn(&self) -> AssistantTurn {
        AssistantTurn {
            text: self.text.clone(),
            answer: self.answer.clone(),
            answer_call_id: self.answer_call_id.clone(),
            tool_calls: self.tool_calls.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model provider throttled the request (HTTP 429)")]
    Throttled,
    #[error("model provider failed with HTTP {status}: {message}")]
    Provider { status: u16, message: String },
    #[error("model request failed: {0}")]
    Transport(String),
    #[error("model answer could not be read: {0}")]
    Malformed(String),
    /// The model declined to answer (a refusal, a content filter, a guardrail): asking the
    /// same again gives the same.
    #[error("the model declined to answer: {0}")]
    Refused(String),
    /// The model's answer did not fit the requested type, after every correction.
    #[error("the model's answer does not fit `{type_name}` after {attempts} attempts: {problem}")]
    InvalidOutput {
        type_name: String,
        attempts: u32,
        problem: String,
    },
    /// The model kept calling tools past the conversation's bound.
    #[error("the model was still calling tools after {rounds} rounds")]
    TooManyToolRounds { rounds: u32 },
    /// The run's budget would be exceeded by this exchange.
    #[error("the run's budget is exhausted: {0}")]
    BudgetExceeded(String),
}

impl ModelError {
    /// Step Functions' error name for an invalid structured answer.
    pub const INVALID_OUTPUT: &'static str = "Model.InvalidOutput";
    /// Step Functions' error name for an exhausted run budget.
    pub const BUDGET_EXCEEDED: &'static str = "Budget.Exceeded";

    /// Throttling, server errors and transport failures are worth retrying.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Throttled | ModelError::Transport(_) => true,
            ModelError::Provider { status, .. } => *status >= 500,
            ModelError::Malformed(_)
            | ModelError::Refused(_)
            | ModelError::InvalidOutput { .. }
            | ModelError::TooManyToolRounds { .. }
            | ModelError::BudgetExceeded(_) => false,
        }
    }
}

/// A language model provider.
pub trait Model: Send + Sync {
    /// `provider:model`, as `PRIMARY_MODEL` names it.
    fn name(&self) -> &str;

    /// What identifies this model's answers in the response cache: its name, plus whatever
    /// the deployment changes in the requests it sends (a wrapper that overrides the
    /// temperature says so here), so a reply is never served under settings it was not
    /// made with.
    fn cache_identity(&self) -> String {
        self.name().to_owned()
    }

    /// One exchange.
    fn respond<'a>(&'a self, request: &'a ModelRequest)
        -> BoxFuture<'a, Result<Reply, ModelError>>;

    /// Free text for a prompt: one exchange without schema or tools.
    fn complete<'a>(&'a self, prompt: &'a Prompt) -> BoxFuture<'a, Result<Completion, ModelError>> {
        Box::pin(async move {
            let reply = self.respond(&ModelRequest::text(prompt.clone())).await?;
            let text = reply
                .text
                .ok_or_else(|| ModelError::Malformed("the answer has no text".to_owned()))?;
            Ok(Completion {
                text,
                model: reply.model,
                tokens_in: reply.tokens_in,
                tokens_out: reply.tokens_out,
                cost_usd: reply.cost_usd,
            })
        })
    }
}

impl dyn Model + '_ {
    /// A value of `T` for `prompt`: see [`Chat::ask`].
    pub async fn ask<T>(&self, prompt: Prompt) -> Result<T, ModelError>
    where
        T: serde::de::DeserializeOwned + crate::JsonShape,
    {
        self.chat(prompt).ask::<T>().await
    }

    /// A conversation to configure (tools, bounds, caching) before asking.
    pub fn chat(&self, prompt: Prompt) -> Chat<'_> {
        Chat::new(self, prompt)
    }
}

/// About four characters a token: the embedded model's count, and the runtime's estimate
/// of a request before it is sent.
pub fn approx_tokens(text: &str) -> u32 {
    u32::try_from(text.len().div_ceil(4)).unwrap_or(u32::MAX)
}
