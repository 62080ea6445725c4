//! Runs one registered agent for a Step Functions task: resolves offloaded input, records
//! the attempt in DynamoDB with its latency, tokens and cost (and reports them as
//! CloudWatch metrics, [`crate::emf`]) and its conversation trace ([`crate::trace`]),
//! keeps its run within budget ([`crate::budget`]), offloads a large output. The agent's
//! model answers opted-in requests from the tenant's response cache ([`crate::cache`]).

use std::sync::Arc;

use lambda_runtime::Diagnostic;
use serde_json::Value;
use switchyard_sdk::{AgentContext, AgentError, AgentRegistration, Model, RunContext};
use tracing::Instrument;

use crate::budget::{BudgetedModel, RunLedger};
use crate::cache::{CachedModel, ReplyCache};
use crate::metering::MeteredModel;
use crate::payload::{PayloadError, PayloadStore};
pub use crate::task_event::TaskEvent;
use crate::trace::Redactor;
use switchyard_state::schema::PAUSED_ERROR;
use switchyard_state::trace::{AttemptTrace, StoredTrace, INLINE_TRACE_BYTES};
use switchyard_state::{now_ms, Admission, AttemptKey, RunSpending, State, StepRecord};

/// An agent failure as Step Functions sees it: the error name is what `Retry` and `Catch`
/// match.
#[derive(Debug)]
pub struct TaskFailure {
    pub name: &'static str,
    pub message: String,
}

impl From<TaskFailure> for Diagnostic {
    fn from(failure: TaskFailure) -> Diagnostic {
        Diagnostic {
            error_type: failure.name.to_owned(),
            error_message: failure.message,
        }
    }
}

impl From<AgentError> for TaskFailure {
    fn from(error: AgentError) -> TaskFailure {
        TaskFailure {
            name: error.error_name(),
            message: error.to_string(),
        }
    }
}

/// How long an attempt runs before its start is recorded. An attempt that ends sooner (a
/// code agent, a cached answer) is recorded once, by its end: one write on its path instead
/// of two racing for the same item. A longer one (a model call) shows as in flight from then
/// on, and its start write overlaps its work.
pub const START_RECORD_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// What tenants read in a run's failure cause for infrastructure trouble; the AWS error
/// text (ARNs, bucket names, request ids) stays in the function's logs.
pub const INFRASTRUCTURE_MESSAGE: &str =
    "the platform could not complete this step (details are in the platform's logs)";

/// Infrastructure trouble (DynamoDB, S3) is worth retrying, like a provider's 5xx.
fn infrastructure(error: impl std::fmt::Display) -> TaskFailure {
    tracing::error!(error = %error, "infrastructure error");
    TaskFailure {
        name: AgentError::RETRYABLE,
        message: INFRASTRUCTURE_MESSAGE.to_owned(),
    }
}

/// A payload reference the runtime did not write for this run is refused for good.
fn payload_failure(error: PayloadError) -> TaskFailure {
    match error {
        PayloadError::BadReference(_) => {
            tracing::warn!(error = %error, "payload reference refused");
            TaskFailure {
                name: AgentError::INVALID_INPUT,
                message: error.to_string(),
            }
        }
        other => infrastructure(other),
    }
}

pub struct AgentRuntime {
    registration: &'static AgentRegistration,
    model: Arc<dyn Model>,
    state: State,
    /// Runs' budgets and spending (the runs table, through `state`).
    ledger: Arc<dyn RunLedger>,
    payloads: Arc<PayloadStore>,
    cache: Arc<dyn ReplyCache>,
    /// The secrets no trace may hold, read from the environment once.
    redactor: Redactor,
}

/// The default sender: messages are recorded in the run's outbox in S3.
struct Outbox {
    payloads: Arc<PayloadStore>,
    run: RunContext,
}

impl switchyard_sdk::Sender for Outbox {
    fn send<'a>(
        &'a self,
        message: &'a switchyard_sdk::OutboundMessage,
    ) -> switchyard_sdk::BoxFuture<'a, Result<switchyard_sdk::SendReceipt, switchyard_sdk::SendError>>
    {
        Box::pin(self.payloads.record_message(&self.run, message))
    }
}

impl AgentRuntime {
    pub fn new(
        registration: &'static AgentRegistration,
        model: Arc<dyn Model>,
        state: State,
        payloads: PayloadStore,
    ) -> Self {
        AgentRuntime {
            registration,
            model,
            cache: Arc::new(state.clone()),
            ledger: Arc::new(state.clone()),
            state,
            payloads: Arc::new(payloads),
            redactor: Redactor::from_env(),
        }
    }

    /// How `trace` is stored with its attempt: inline when small, else in the payload
    /// bucket. A trace that cannot be stored is logged and left out; the attempt's record
    /// and outcome stand.
    async fn stored_trace(
        &self,
        run_id: &str,
        step_key: &str,
        trace: &AttemptTrace,
    ) -> Option<StoredTrace> {
        let text = match self.redactor.encode(trace) {
            Ok(text) => text,
            Err(e) => {
                tracing::warn!(error = %e, "the conversation trace does not serialize; not recorded");
                return None;
            }
        };
        if text.len() <= INLINE_TRACE_BYTES {
            return Some(StoredTrace::Inline(text));
        }
        let bytes = text.len();
        match self
            .payloads
            .put_trace(run_id, step_key, text.into_bytes())
            .await
        {
            Ok(object) => {
                tracing::info!(bytes, key = %object.key, "conversation trace offloaded to S3");
                Some(StoredTrace::Object(object))
            }
            Err(e) => {
                tracing::warn!(error = %e, bytes, "could not store the conversation trace; the attempt is recorded without it");
                None
            }
        }
    }

    pub async fn handle(&self, payload: Value) -> Result<Value, TaskFailure> {
        let event = TaskEvent::from_payload(payload).map_err(|e| TaskFailure {
            name: AgentError::INVALID_INPUT,
            message: format!("task event is not {{envelope, context}}: {e}"),
        })?;
        let span = tracing::info_span!(
            "agent",
            agent = self.registration.name,
            run_id = %event.context.run_id,
            step = %event.context.step,
            tenant_id = %event.context.tenant_id,
            attempt = event.context.attempt,
            round = event.context.round,
        );
        self.run(event).instrument(span).await
    }

    /// Whether the agent may start: not while its run is paused. Checked at a step's
    /// boundary (its first attempt; a retry goes on within the step), before anything is
    /// recorded, so a parked step leaves no attempt behind and runs once when resumed. A
    /// parallel branch is admitted with its siblings (`Runs::admit_group` in the state crate):
    /// its Parallel state, caught paused, runs again whole, so no sibling may have started.
    ///
    /// The same read gives the run's budget and spending, for the attempt's model exchanges
    /// (`Some(None)`: the run has no record); `None` when nothing was read.
    async fn may_start(
        &self,
        run: &RunContext,
    ) -> Result<Option<Option<RunSpending>>, TaskFailure> {
        if run.attempt > 0 {
            return Ok(None);
        }
        let runs = self.state.runs();
        let admission = match &run.group {
            // A parallel branch: admitted with its siblings of this entry into the step.
            Some(group) => {
                let entry = match run.round {
                    Some(round) => format!("{group}#r{round}"),
                    None => group.clone(),
                };
                runs.admit_group(&run.run_id, &entry).await
            }
            None => runs.admission(&run.run_id).await,
        };
        match admission {
            Ok(Admission::Held) => {
                tracing::info!("run paused: the step waits at its boundary");
                let at = switchyard_state::PausedAt {
                    step: run.step.clone(),
                    item: run.item.map(u64::from),
                    reason: format!("run `{}` is paused", run.run_id),
                };
                Err(TaskFailure {
                    name: PAUSED_ERROR,
                    message: at.message(),
                })
            }
            Ok(Admission::Go(spending)) => Ok(Some(Some(spending))),
            Ok(Admission::Unrecorded) => Ok(Some(None)),
            // A pause is a client's request; an unreadable record does not stop the run.
            Err(e) => {
                tracing::warn!(error = %e, "could not read whether the run is paused; going on");
                Ok(None)
            }
        }
    }

    async fn run(&self, event: TaskEvent) -> Result<Value, TaskFailure> {
        let run = event.context;
        let known_spending = self.may_start(&run).await?;
        let key = AttemptKey {
            step: &run.step,
            item: run.item,
            round: run.round,
            attempt: run.attempt,
        };
        let attempt = StepRecord::started(
            &run.run_id,
            &run.tenant_id,
            &run.workflow,
            &key,
            self.registration.name,
            now_ms(),
        );
        // The start is recorded while the agent works, once it has run for
        // `START_RECORD_AFTER`; the end is one write of the whole record that does not wait
        // for it (a start that lands after the end is refused by its condition).
        let state = self.state.clone();
        let start_record = attempt.clone();
        let (ended, ended_before_start) = tokio::sync::oneshot::channel::<()>();
        let recorded_start = tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(START_RECORD_AFTER) => {
                    state.steps().start(&start_record).await.map(Some)
                }
                // Ended first: the end is the attempt's only write.
                _ = ended_before_start => Ok(None),
            }
        });
        let started = std::time::Instant::now();
        let cached = Arc::new(CachedModel::new(
            self.model.clone(),
            self.cache.clone(),
            &run.tenant_id,
        ));
        // Inside the meter: an exchange the budget refuses was never sent. Outside the
        // cache: a cached reply is checked like any other, and counts as free.
        let budgeted = Arc::new(BudgetedModel::new(
            cached,
            self.ledger.clone(),
            &run.run_id,
            known_spending,
        ));
        let metered = Arc::new(MeteredModel::new(budgeted.clone()));
        let result = async {
            let input = self
                .payloads
                .resolve(&run.run_id, event.input)
                .await
                .map_err(payload_failure)?;
            let ctx = AgentContext {
                run: run.clone(),
                model: metered.clone(),
                sender: Arc::new(Outbox {
                    payloads: self.payloads.clone(),
                    run: run.clone(),
                }),
            };
            let output = (self.registration.invoke)(input, ctx)
                .await
                .map_err(TaskFailure::from)?;
            self.payloads
                .offload(&run, output)
                .await
                .map_err(infrastructure)
        }
        .await;
        let mut usage = metered.usage();
        usage.latency_ms = started.elapsed().as_millis() as u64;
        let error = result.as_ref().err().map(|f| (f.name, f.message.as_str()));
        match &error {
            None => tracing::info!(
                latency_ms = usage.latency_ms,
                tokens_in = usage.tokens_in,
                tokens_out = usage.tokens_out,
                cost_usd = usage.cost_usd,
                model_calls = usage.model_calls,
                cache_hits = usage.cache_hits,
                "agent succeeded"
            ),
            Some((name, message)) => tracing::warn!(
                latency_ms = usage.latency_ms,
                error_name = name,
                error = message,
                "agent failed"
            ),
        }
        // An agent that asked no model has no trace: nothing more to do on its path.
        let trace = match metered.trace() {
            Some(trace) => {
                self.stored_trace(&run.run_id, &attempt.step_key, &trace)
                    .await
            }
            None => None,
        };
        let now = now_ms();
        let finished = attempt.finished(&usage, error, now);
        // Ignored if the start's wait is over (its write then runs to completion).
        let _ = ended.send(());
        let steps = self.state.steps();
        let (recorded_start, recorded_end) =
            tokio::join!(recorded_start, steps.finish(&finished, trace.as_ref()));
        match recorded_start {
            // Recorded, refused because the end landed first, or never needed: nothing lost.
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not record the attempt's start"),
            Err(e) => tracing::warn!(error = %e, "recording the attempt's start did not finish"),
        }
        let first_end = match recorded_end {
            Ok(first) => first,
            // The step's own outcome stands; a lost record is logged, not turned into a failure.
            Err(e) => {
                tracing::error!(error = %e, "could not record the step attempt");
                true
            }
        };
        if first_end {
            crate::emf::emit(&crate::emf::agent_attempt(&finished, now));
            // The run's spending, for its budget: nothing for a run without one or an
            // attempt that asked no model.
            budgeted.settle().await;
        } else {
            // The first invocation's end stands, and was counted.
            tracing::warn!("duplicate invocation of a finished attempt; its first end stands");
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infrastructure_errors_reach_tenants_without_their_details() {
        let failure = infrastructure(
            "ResourceNotFoundException: arn:aws:dynamodb:us-east-1:123456789012:table/steps",
        );
        assert_eq!(
            (failure.name, failure.message.as_str()),
            (AgentError::RETRYABLE, INFRASTRUCTURE_MESSAGE)
        );
        let refused = payload_failure(PayloadError::BadReference(
            "not a payload of this run".into(),
        ));
        assert_eq!(refused.name, AgentError::INVALID_INPUT);
        let detail = "s3://secret-bucket/key: 403";
        let stored = payload_failure(PayloadError::Store {
            detail: detail.into(),
            source: detail.into(),
        });
        assert!(
            !stored.message.contains("secret-bucket"),
            "{}",
            stored.message
        );
    }
}
