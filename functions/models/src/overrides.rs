use std::sync::Arc;

use switchyard_sdk::{BoxFuture, Model, ModelError, ModelRequest, Prompt, Reply};

/// Deployment-wide generation settings (`MODEL_TEMPERATURE`, `MODEL_MAX_TOKENS`) that
/// replace what each agent's [`Prompt`] asks for, so an operator can tune a deployment
/// without rebuilding agents.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PromptOverrides {
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

impl PromptOverrides {
    pub fn is_empty(&self) -> bool {
        self.temperature.is_none() && self.max_tokens.is_none()
    }

    pub fn apply(&self, prompt: &Prompt) -> Prompt {
        Prompt {
            temperature: self.temperature.unwrap_or(prompt.temperature),
            max_tokens: self.max_tokens.unwrap_or(prompt.max_tokens),
            ..prompt.clone()
        }
    }
}

/// A model whose prompts get [`PromptOverrides`] applied before it sees them.
pub(crate) struct OverriddenModel {
    pub(crate) inner: Arc<dyn Model>,
    pub(crate) overrides: PromptOverrides,
}

impl Model for OverriddenModel {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move {
            let request = ModelRequest {
                prompt: self.overrides.apply(&request.prompt),
                ..request.clone()
            };
            self.inner.respond(&request).await
        })
    }
}
