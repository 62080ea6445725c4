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
//! declared `#[agent(model = "...")]` first. Every
//! [`Completion`] carries its token counts and a cost from [`Price`].
//!
//! Providers never retry: failures are mapped onto [`ModelError`] so that
//! [`ModelError::is_retryable`] tells the caller (ultimately Step Functions' `Retry`) whether
//! trying again can help.
//!
//! [`Model`]: switchyard_sdk::Model
//! [`EmbeddedModel`]: switchyard_sdk::EmbeddedModel
//! [`Completion`]: switchyard_sdk::Completion
//! [`ModelError`]: switchyard_sdk::ModelError
//! [`ModelError::is_retryable`]: switchyard_sdk::ModelError::is_retryable

mod anthropic;
mod bedrock;
mod config;
mod http;
mod openai;
mod overrides;
mod pricing;

pub use anthropic::Anthropic;
pub use bedrock::BedrockConverse;
pub use config::{
    agent_model_from_env, model_from_env, ApiKey, ModelConfigError, ModelSpec, ProviderSpec,
};
pub use openai::OpenAiCompatible;
pub use overrides::PromptOverrides;
pub use pricing::Price;
