//! Test doubles: a model that gives the answer a test scripts, and contexts to run agents in.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use switchyard_sdk::{
    AgentContext, BoxFuture, MemoryOutbox, Model, ModelError, ModelRequest, Reply, RunContext,
};

/// Answers every structured request with the same JSON, and keeps the requests it saw.
pub(crate) struct ScriptedModel {
    answer: Value,
    requests: Mutex<Vec<ModelRequest>>,
}

impl ScriptedModel {
    pub(crate) fn answering(answer: Value) -> Arc<ScriptedModel> {
        Arc::new(ScriptedModel {
            answer,
            requests: Mutex::new(Vec::new()),
        })
    }

    /// The user message of every request so far.
    pub(crate) fn user_prompts(&self) -> Vec<String> {
        self.requests
            .lock()
            .map(|requests| requests.iter().map(|r| r.prompt.user.clone()).collect())
            .unwrap_or_default()
    }

    pub(crate) fn requests(&self) -> Vec<ModelRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Model for ScriptedModel {
    fn name(&self) -> &str {
        "scripted:test"
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move {
            if let Ok(mut requests) = self.requests.lock() {
                requests.push(request.clone());
            }
            Ok(Reply {
                answer: Some(self.answer.clone()),
                model: "scripted:test".to_owned(),
                tokens_in: 10,
                tokens_out: 5,
                ..Reply::default()
            })
        })
    }
}

fn run(step: &str) -> RunContext {
    RunContext {
        run_id: "run-1".into(),
        tenant_id: "tenant".into(),
        workflow: "test".into(),
        step: step.into(),
        ..RunContext::default()
    }
}

/// The offline (embedded) model, as agents run without keys.
pub(crate) fn offline(step: &str) -> AgentContext {
    AgentContext::local(run(step)).0
}

/// `model` in place of the offline one.
pub(crate) fn with_model(step: &str, model: Arc<ScriptedModel>) -> AgentContext {
    with_model_and_outbox(step, model).0
}

/// `model` in place of the offline one, and the outbox the context sends to.
pub(crate) fn with_model_and_outbox(
    step: &str,
    model: Arc<ScriptedModel>,
) -> (AgentContext, Arc<MemoryOutbox>) {
    let outbox = Arc::new(MemoryOutbox::default());
    let ctx = AgentContext {
        run: run(step),
        model,
        sender: outbox.clone(),
    };
    (ctx, outbox)
}
