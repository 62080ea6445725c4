//! Counts what one agent invocation spends on its model.

use std::sync::{Arc, Mutex};

use switchyard_sdk::{BoxFuture, Model, ModelError, ModelRequest, Reply};

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
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move {
            let reply = self.inner.respond(request).await?;
            if let Ok(mut usage) = self.usage.lock() {
                usage.tokens_in += u64::from(reply.tokens_in);
                usage.tokens_out += u64::from(reply.tokens_out);
                usage.cost_usd += reply.cost_usd;
                usage.model = Some(reply.model.clone());
            }
            Ok(reply)
        })
    }
}
