//! Counts what one agent invocation spends on its model.

use std::sync::{Arc, Mutex};

use switchyard_sdk::{BoxFuture, Completion, Model, ModelError, Prompt};

use switchyard_state::StepUsage;

/// A model handle for one invocation: delegates, and adds up tokens and cost.
pub struct MeteredModel {
    inner: Arc<dyn Model>,
    usage: Mutex<StepUsage>,
}

impl MeteredModel {
    pub fn new(inner: Arc<dyn Model>) -> Self {
        MeteredModel {
            inner,
            usage: Mutex::new(StepUsage::default()),
        }
    }

    /// What was spent so far.
    pub fn usage(&self) -> StepUsage {
        self.usage.lock().map(|u| u.clone()).unwrap_or_default()
    }
}

impl Model for MeteredModel {
    fn complete<'a>(&'a self, prompt: &'a Prompt) -> BoxFuture<'a, Result<Completion, ModelError>> {
        Box::pin(async move {
            let completion = self.inner.complete(prompt).await?;
            if let Ok(mut usage) = self.usage.lock() {
                usage.tokens_in += u64::from(completion.tokens_in);
                usage.tokens_out += u64::from(completion.tokens_out);
                usage.cost_usd += completion.cost_usd;
                usage.model = Some(completion.model.clone());
            }
            Ok(completion)
        })
    }
}
