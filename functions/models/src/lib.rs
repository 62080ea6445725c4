//! Real language-model providers behind the SDK's [`Model`] trait.
//!
//! Three providers cover the deployments Switchyard targets:
//!
//! - [`OpenAiCompatible`]: the OpenAI Chat Completions API, or any server that speaks it;
//! - [`Anthropic`]: the Anthropic Messages API;
//! - [`BedrockConverse`]: the Amazon Bedrock Converse API, through the official AWS SDK.
//!
//! A Lambda picks one at init with [`model_from_env`], which reads `PRIMARY_MODEL`
//! (`provider:model`) and falls back to the SDK's offline [`EmbeddedModel`]; an agent's
//! function with [`agent_model_from_env`], which puts its function's `AGENT_MODEL` and its
//! declared `#[agent(model = "...")]` first. Every [`Reply`] carries its token counts and a
//! cost from [`Price`].
//!
//! Each provider answers a [`ModelRequest`] in its API's native terms, so the SDK's chat
//! loop (`ctx.model.ask::<T>()`, tools, corrections) works the same on all three:
//!
//! | | structured answer | tools | correction |
//! |---|---|---|---|
//! | OpenAI | `response_format: json_schema` (`strict` when the schema allows) | `function` tools, `tool` messages | a user message |
//! | Anthropic | a forced answer tool (`tool_choice`) | `tool_use` / `tool_result` blocks | the answer call's error `tool_result` |
//! | Bedrock | a forced answer tool (`toolChoice`) | `toolUse` / `toolResult` blocks | the answer call's `toolResult`, status `error` |
//!
//! A tool input or answer whose schema is not an object's (which the APIs require) travels
//! as `{"value": ...}`, unwrapped before the SDK sees it. A refusal, content filter or
//! guardrail is [`ModelError::Refused`]; an answer cut off at `max_tokens` is
//! [`ModelError::Malformed`], since a correction would be cut off the same way.
//!
//! Providers never retry: failures are mapped onto [`ModelError`] so that
//! [`ModelError::is_retryable`] tells the caller (ultimately Step Functions' `Retry`) whether
//! trying again can help.
//!
//! [`Model`]: switchyard_sdk::Model
//! [`EmbeddedModel`]: switchyard_sdk::EmbeddedModel
//! [`Reply`]: switchyard_sdk::Reply
//! [`ModelRequest`]: switchyard_sdk::ModelRequest
//! [`ModelError`]: switchyard_sdk::ModelError
//! [`ModelError::Refused`]: switchyard_sdk::ModelError::Refused
//! [`ModelError::Malformed`]: switchyard_sdk::ModelError::Malformed
//! [`ModelError::is_retryable`]: switchyard_sdk::ModelError::is_retryable

mod anthropic;
mod bedrock;
mod config;
mod http;
mod openai;
mod overrides;
mod pricing;
mod tools;

pub use anthropic::Anthropic;
pub use bedrock::BedrockConverse;
pub use config::{
    agent_model_from_env, model_from_env, ApiKey, ModelConfigError, ModelSpec, ProviderSpec,
};
pub use openai::OpenAiCompatible;
pub use overrides::PromptOverrides;
pub use pricing::Price;
