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

    fn cache_identity(&self) -> String {
        let mut identity = self.inner.cache_identity();
        if let Some(temperature) = self.overrides.temperature {
            identity.push_str(&format!(" temperature={temperature}"));
        }
        if let Some(max_tokens) = self.overrides.max_tokens {
            identity.push_str(&format!(" max_tokens={max_tokens}"));
        }
        identity
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

#[cfg(test)]
mod tests {
    use switchyard_sdk::EmbeddedModel;

    use super::*;

    #[test]
    fn overridden_settings_are_part_of_the_cache_identity() {
        let model = |overrides| OverriddenModel {
            inner: Arc::new(EmbeddedModel),
            overrides,
        };
        let plain = model(PromptOverrides::default());
        assert_eq!(plain.cache_identity(), EmbeddedModel::NAME);
        let warmer = model(PromptOverrides {
            temperature: Some(0.9),
            max_tokens: None,
        });
        let longer = model(PromptOverrides {
            temperature: None,
            max_tokens: Some(2048),
        });
        assert_ne!(warmer.cache_identity(), plain.cache_identity());
        assert_ne!(longer.cache_identity(), plain.cache_identity());
        assert_ne!(warmer.cache_identity(), longer.cache_identity());
        // The name reported with replies is the provider's, whatever the overrides.
        assert_eq!(warmer.name(), EmbeddedModel::NAME);
    }
}
