use std::sync::Arc;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::model::{EmbeddedModel, Model, ModelError};
use crate::sender::{MemoryOutbox, SendError, Sender};
use crate::shape::JsonShape;
use crate::BoxFuture;

/// A typed step of a workflow. Implemented by `#[agent]` on an async function.
pub trait Agent {
    type Input: DeserializeOwned + JsonShape + Send + 'static;
    type Output: Serialize + JsonShape + Send + 'static;
    /// The registered name; the Lambda function is `switchyard-<NAME>` with `_` as `-`.
    const NAME: &'static str;
    /// The function's doc comment.
    const DESCRIPTION: &'static str;
    /// What it can do, as `#[agent(capabilities = [...])]` declares: graphs may name a
    /// capability instead of an agent, and the registry lists them.
    const CAPABILITIES: &'static [&'static str] = &[];
    /// The model it asks (`provider:model`), as `#[agent(model = "...")]` declares; `None`
    /// asks the deployment's `PRIMARY_MODEL`. A deployment may still choose another for its
    /// function (`AGENT_MODEL`).
    const MODEL: Option<&'static str> = None;

    fn run(
        input: Self::Input,
        ctx: AgentContext,
    ) -> BoxFuture<'static, Result<Self::Output, AgentError>>;
}

/// Who is running: passed by the state machine alongside every agent's input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    /// The execution name, which is the run id.
    pub run_id: String,
    pub tenant_id: String,
    pub workflow: String,
    pub step: String,
    /// 0 on the first attempt, then the retry count.
    #[serde(default)]
    pub attempt: u32,
    /// Position in the list when the step runs inside a map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u32>,
    /// For a step a run may enter more than once (on a loop's cycle), which entry this is:
    /// higher at each entry, so each has records of its own. Absent for other steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    /// For a parallel branch, its parallel step: the branches of one entry into it are
    /// admitted as one group, so a pause stops all of them or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// What an agent gets besides its input.
#[derive(Clone)]
pub struct AgentContext {
    pub run: RunContext,
    pub model: Arc<dyn Model>,
    /// Where outbound messages go (an outbox that records them, unless configured).
    pub sender: Arc<dyn Sender>,
}

impl AgentContext {
    /// A context for calling an agent directly (unit tests, local runs): the offline model
    /// and an in-memory outbox.
    pub fn local(run: RunContext) -> (AgentContext, Arc<MemoryOutbox>) {
        let outbox = Arc::new(MemoryOutbox::default());
        let ctx = AgentContext {
            run,
            model: Arc::new(EmbeddedModel),
            sender: outbox.clone(),
        };
        (ctx, outbox)
    }
}

/// An agent's failure. The variant decides the error name Step Functions sees, which is
/// what a workflow's `retry(on = [...])` and `catch(on = [...])` match.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Worth retrying: throttling, provider 429/5xx, timeouts.
    #[error("transient failure: {0}")]
    Retryable(String),
    /// Retrying will not help.
    #[error("{0}")]
    Permanent(String),
    /// The input does not make sense for this agent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Send(#[from] SendError),
}

impl AgentError {
    /// Step Functions error name for a transient failure.
    pub const RETRYABLE: &'static str = "Agent.Retryable";
    /// Step Functions error name for a permanent failure.
    pub const PERMANENT: &'static str = "Agent.Permanent";
    /// Step Functions error name for bad input.
    pub const INVALID_INPUT: &'static str = "Agent.InvalidInput";

    /// The error name reported to Step Functions.
    pub fn error_name(&self) -> &'static str {
        match self {
            AgentError::Retryable(_) => Self::RETRYABLE,
            AgentError::Permanent(_) => Self::PERMANENT,
            AgentError::InvalidInput(_) => Self::INVALID_INPUT,
            AgentError::Model(
                ModelError::InvalidOutput { .. } | ModelError::TooManyToolRounds { .. },
            ) => ModelError::INVALID_OUTPUT,
            AgentError::Model(ModelError::BudgetExceeded(_)) => ModelError::BUDGET_EXCEEDED,
            AgentError::Model(e) if e.is_retryable() => Self::RETRYABLE,
            AgentError::Model(_) => Self::PERMANENT,
            AgentError::Send(SendError::Unavailable(_)) => Self::RETRYABLE,
            AgentError::Send(SendError::Refused(_)) => Self::PERMANENT,
        }
    }
}
