use serde::{Deserialize, Serialize};

use crate::BoxFuture;

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
}

/// A model's answer with its accounting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub tokens_in: u32,
    pub tokens_out: u32,
    pub cost_usd: f64,
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
}

impl ModelError {
    /// Throttling, server errors and transport failures are worth retrying.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Throttled | ModelError::Transport(_) => true,
            ModelError::Provider { status, .. } => *status >= 500,
            ModelError::Malformed(_) => false,
        }
    }
}

/// A language model provider.
pub trait Model: Send + Sync {
    fn complete<'a>(&'a self, prompt: &'a Prompt) -> BoxFuture<'a, Result<Completion, ModelError>>;
}

/// The offline default: deterministic text derived from the prompt, so every workflow runs
/// without keys and tests are reproducible. Token counts approximate a real tokenizer
/// (about four characters a token).
#[derive(Clone, Debug, Default)]
pub struct EmbeddedModel;

impl EmbeddedModel {
    pub const NAME: &'static str = "embedded:deterministic-v1";
}

impl Model for EmbeddedModel {
    fn complete<'a>(&'a self, prompt: &'a Prompt) -> BoxFuture<'a, Result<Completion, ModelError>> {
        Box::pin(async move {
            let seed = fnv1a(prompt.system.as_bytes()) ^ fnv1a(prompt.user.as_bytes());
            let subject = prompt.user.lines().next().unwrap_or_default().trim();
            let text = format!(
                "{} (draft {:04x})",
                if subject.is_empty() {
                    "Untitled"
                } else {
                    subject
                },
                seed & 0xffff
            );
            let tokens_in = approx_tokens(&prompt.system) + approx_tokens(&prompt.user);
            let tokens_out = approx_tokens(&text).min(prompt.max_tokens);
            Ok(Completion {
                text,
                model: Self::NAME.to_owned(),
                tokens_in,
                tokens_out,
                cost_usd: 0.0,
            })
        })
    }
}

fn approx_tokens(text: &str) -> u32 {
    u32::try_from(text.len().div_ceil(4)).unwrap_or(u32::MAX)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
