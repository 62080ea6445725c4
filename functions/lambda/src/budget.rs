//! A run's budget, kept around its model: each exchange of an attempt is refused before it
//! is sent if the run could not pay for it, and what the attempt spent is added to the
//! run's totals when it ends.
//!
//! The run's budget and spending are read once per attempt: by a step's first attempt with
//! the run's status, before the agent starts (one consistent read of the run's item), and
//! by a retry at its first exchange; an attempt of a run without a budget reads nothing
//! more. Attempts running at once
//! (a parallel step, a map) each count from the totals when they first asked, so together
//! they may pass the budget by what they were already allowed; a later attempt sees it spent.

use std::sync::{Arc, Mutex};

use switchyard_sdk::{approx_tokens, BoxFuture, Model, ModelError, ModelRequest, Reply};
use switchyard_state::{Budget, RunSpending, State, StateError};
use tokio::sync::OnceCell;

/// Where runs' budgets and spending are kept: the runs table (a fake in tests).
pub trait RunLedger: Send + Sync {
    /// The run's budget and spending (`None`: no record of the run).
    fn spending<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RunSpending>, StateError>>;

    /// Adds to the run's spending, atomically; `false` if the run keeps none (it has no
    /// budget, or it ended).
    fn spend<'a>(
        &'a self,
        run_id: &'a str,
        tokens: u64,
        usd: f64,
    ) -> BoxFuture<'a, Result<bool, StateError>>;
}

impl RunLedger for State {
    fn spending<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RunSpending>, StateError>> {
        Box::pin(async move { self.runs().spending(run_id).await })
    }

    fn spend<'a>(
        &'a self,
        run_id: &'a str,
        tokens: u64,
        usd: f64,
    ) -> BoxFuture<'a, Result<bool, StateError>> {
        Box::pin(async move { self.runs().spend(run_id, tokens, usd).await })
    }
}

/// What the run had spent when the attempt first asked, and its limits.
#[derive(Clone, Copy, Debug)]
struct Limits {
    budget: Budget,
    spent_tokens: u64,
    spent_usd: f64,
}

/// The limits a run's record gives; none without a record or a budget. The Run API records
/// a run with a budget before its execution starts, so no record means no budget (a run
/// started outside the API).
fn limits_of(read: Option<RunSpending>) -> Option<Limits> {
    read.and_then(|read| {
        read.budget.map(|budget| Limits {
            budget,
            spent_tokens: read.spent_tokens,
            spent_usd: read.spent_usd,
        })
    })
}

/// This attempt's spending.
#[derive(Debug, Default)]
struct AttemptSpending {
    tokens: u64,
    usd: f64,
    /// The estimates of exchanges sent and not answered yet (an agent may ask at once).
    in_flight_tokens: u64,
}

/// A model handle for one attempt that keeps its run within budget.
pub struct BudgetedModel {
    inner: Arc<dyn Model>,
    ledger: Arc<dyn RunLedger>,
    run_id: String,
    /// Read at the first exchange; `None` inside: the run has no budget.
    limits: OnceCell<Option<Limits>>,
    spending: Mutex<AttemptSpending>,
}

impl BudgetedModel {
    /// `known` is the run's spending when the attempt already read it (a step's first
    /// attempt reads it with the run's status; `Some(None)`: the run has no record): the
    /// exchanges then read nothing. Otherwise the first exchange reads it.
    pub fn new(
        inner: Arc<dyn Model>,
        ledger: Arc<dyn RunLedger>,
        run_id: &str,
        known: Option<Option<RunSpending>>,
    ) -> Self {
        BudgetedModel {
            inner,
            ledger,
            run_id: run_id.to_owned(),
            limits: known.map_or_else(OnceCell::new, |read| {
                OnceCell::new_with(Some(limits_of(read)))
            }),
            spending: Mutex::new(AttemptSpending::default()),
        }
    }

    /// Adds what this attempt spent to its run's totals: one atomic update, made only by an
    /// attempt of a run with a budget that spent something.
    pub async fn settle(&self) {
        let Some(Some(_)) = self.limits.get() else {
            return;
        };
        let (tokens, usd) = match self.spending.lock() {
            Ok(spending) => (spending.tokens, spending.usd),
            Err(_) => return,
        };
        if tokens == 0 && usd == 0.0 {
            return;
        }
        match self.ledger.spend(&self.run_id, tokens, usd).await {
            Ok(true) => {}
            Ok(false) => tracing::info!("the run ended before this attempt's spending was added"),
            Err(e) => {
                tracing::warn!(error = %e, tokens, usd, "could not add to the run's spending")
            }
        }
    }

    /// The run's limits, read at the first exchange. An unreadable record refuses the
    /// exchange (it may be retried) rather than spend past a budget unseen.
    async fn limits(&self) -> Result<Option<Limits>, ModelError> {
        let limits = self
            .limits
            .get_or_try_init(|| async {
                let read = self.ledger.spending(&self.run_id).await?;
                Ok::<_, StateError>(limits_of(read))
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not read the run's budget");
                ModelError::Transport("the run's budget could not be read".to_owned())
            })?;
        Ok(*limits)
    }

    /// Refuses the exchange if the run cannot pay for it; otherwise counts its estimate
    /// as in flight.
    fn admit(&self, limits: &Limits, estimate: u64) -> Result<(), ModelError> {
        let mut spending = self
            .spending
            .lock()
            .map_err(|_| ModelError::Transport("the budget's count is unusable".to_owned()))?;
        if let Some(limit) = limits.budget.tokens {
            let spent = limits.spent_tokens + spending.tokens + spending.in_flight_tokens;
            if spent.saturating_add(estimate) > limit {
                return Err(ModelError::BudgetExceeded(format!(
                    "spent {spent} of {limit} tokens; this request may take up to {estimate} more"
                )));
            }
        }
        if let Some(limit) = limits.budget.usd {
            // What an exchange costs is known only once it is answered: spending the
            // budget to the last cent is spending all of it.
            let spent = limits.spent_usd + spending.usd;
            if spent >= limit {
                return Err(ModelError::BudgetExceeded(format!(
                    "spent {spent:.4} of {limit} US dollars"
                )));
            }
        }
        spending.in_flight_tokens += estimate;
        Ok(())
    }

    fn answered(&self, estimate: u64, reply: Option<&Reply>) {
        if let Ok(mut spending) = self.spending.lock() {
            spending.in_flight_tokens = spending.in_flight_tokens.saturating_sub(estimate);
            // A reply from the response cache spent nothing this time.
            if let Some(reply) = reply.filter(|r| !r.cached) {
                spending.tokens += u64::from(reply.tokens_in) + u64::from(reply.tokens_out);
                spending.usd += reply.cost_usd;
            }
        }
    }
}

/// The most an exchange may use, before it is sent: what is sent (the prompt, the
/// conversation since, the answer's schema and the tools, at about four characters a
/// token) and the most it may answer (`max_tokens`).
pub fn estimate_tokens(request: &ModelRequest) -> u64 {
    let prompt = &request.prompt;
    let mut tokens = u64::from(approx_tokens(&prompt.system))
        + u64::from(approx_tokens(&prompt.user))
        + u64::from(prompt.max_tokens);
    if !request.turns.is_empty() {
        tokens += json_tokens(&request.turns);
    }
    if let Some(output) = &request.output {
        tokens += json_tokens(&output.schema);
    }
    if !request.tools.is_empty() {
        tokens += json_tokens(&request.tools);
    }
    tokens
}

fn json_tokens(value: &impl serde::Serialize) -> u64 {
    u64::from(approx_tokens(
        &serde_json::to_string(value).unwrap_or_default(),
    ))
}

impl Model for BudgetedModel {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn cache_identity(&self) -> String {
        self.inner.cache_identity()
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move {
            let Some(limits) = self.limits().await? else {
                return self.inner.respond(request).await;
            };
            let estimate = estimate_tokens(request);
            self.admit(&limits, estimate)?;
            let result = self.inner.respond(request).await;
            self.answered(estimate, result.as_ref().ok());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use switchyard_sdk::{Prompt, Turn};

    use super::*;

    /// A run's record: its spending, read and added to as the runs table would.
    #[derive(Default)]
    struct FakeLedger {
        /// What each read answers, in turn (the last one from then on); `Err` fails a read.
        reads: Mutex<Vec<Result<Option<RunSpending>, ()>>>,
        read_count: AtomicU32,
        spent: Mutex<Vec<(u64, f64)>>,
    }

    impl FakeLedger {
        fn answering(reads: Vec<Result<Option<RunSpending>, ()>>) -> Arc<FakeLedger> {
            Arc::new(FakeLedger {
                reads: Mutex::new(reads),
                ..FakeLedger::default()
            })
        }

        fn with(budget: Option<Budget>, spent_tokens: u64, spent_usd: f64) -> Arc<FakeLedger> {
            FakeLedger::answering(vec![Ok(Some(RunSpending {
                budget,
                spent_tokens,
                spent_usd,
            }))])
        }

        fn reads(&self) -> u32 {
            self.read_count.load(Ordering::SeqCst)
        }

        fn spends(&self) -> Vec<(u64, f64)> {
            self.spent.lock().map(|s| s.clone()).unwrap_or_default()
        }
    }

    impl RunLedger for FakeLedger {
        fn spending<'a>(
            &'a self,
            _run_id: &'a str,
        ) -> BoxFuture<'a, Result<Option<RunSpending>, StateError>> {
            self.read_count.fetch_add(1, Ordering::SeqCst);
            let answer = self
                .reads
                .lock()
                .map(|mut reads| {
                    if reads.len() > 1 {
                        reads.remove(0)
                    } else {
                        reads.first().cloned().unwrap_or(Ok(None))
                    }
                })
                .unwrap_or(Ok(None));
            Box::pin(async move { answer.map_err(|()| StateError::MissingTable("runs")) })
        }

        fn spend<'a>(
            &'a self,
            _run_id: &'a str,
            tokens: u64,
            usd: f64,
        ) -> BoxFuture<'a, Result<bool, StateError>> {
            if let Ok(mut spent) = self.spent.lock() {
                spent.push((tokens, usd));
            }
            Box::pin(async { Ok(true) })
        }
    }

    /// A model whose every answer uses `tokens_in + tokens_out` tokens and costs `cost`.
    struct FakeModel {
        tokens_in: u32,
        tokens_out: u32,
        cost: f64,
        cached: bool,
        delay: Duration,
        calls: AtomicU32,
    }

    impl FakeModel {
        fn new(tokens_in: u32, tokens_out: u32, cost: f64) -> Arc<FakeModel> {
            Arc::new(FakeModel {
                tokens_in,
                tokens_out,
                cost,
                cached: false,
                delay: Duration::ZERO,
                calls: AtomicU32::new(0),
            })
        }

        fn calls(&self) -> u32 {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl Model for FakeModel {
        fn name(&self) -> &str {
            "fake:model"
        }

        fn respond<'a>(
            &'a self,
            _request: &'a ModelRequest,
        ) -> BoxFuture<'a, Result<Reply, ModelError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                Ok(Reply {
                    text: Some("ok".into()),
                    model: "fake:model".into(),
                    tokens_in: self.tokens_in,
                    tokens_out: self.tokens_out,
                    cost_usd: self.cost,
                    cached: self.cached,
                    ..Reply::default()
                })
            })
        }
    }

    /// A request estimated at exactly `tokens`: no text, `max_tokens` alone.
    fn request(tokens: u32) -> ModelRequest {
        ModelRequest::text(Prompt::new("", "").max_tokens(tokens))
    }

    fn budgeted(inner: &Arc<FakeModel>, ledger: &Arc<FakeLedger>) -> BudgetedModel {
        BudgetedModel::new(inner.clone(), ledger.clone(), "run-1", None)
    }

    fn tokens(limit: u64) -> Option<Budget> {
        Some(Budget {
            tokens: Some(limit),
            usd: None,
        })
    }

    fn exceeded(result: Result<Reply, ModelError>) -> String {
        match result {
            Err(ModelError::BudgetExceeded(message)) => message,
            other => panic!("expected BudgetExceeded, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_attempt_that_never_asks_reads_and_writes_nothing() {
        let (inner, ledger) = (
            FakeModel::new(1, 1, 0.0),
            FakeLedger::with(tokens(10), 0, 0.0),
        );
        let model = budgeted(&inner, &ledger);
        model.settle().await;
        assert_eq!((ledger.reads(), ledger.spends()), (0, vec![]));
    }

    #[tokio::test]
    async fn a_run_without_a_budget_costs_one_read_an_attempt() {
        let (inner, ledger) = (
            FakeModel::new(100, 50, 0.01),
            FakeLedger::with(None, 0, 0.0),
        );
        let model = budgeted(&inner, &ledger);
        for _ in 0..3 {
            model.respond(&request(1_000_000)).await.expect("no limit");
        }
        model.settle().await;
        assert_eq!((inner.calls(), ledger.reads()), (3, 1));
        assert_eq!(ledger.spends(), vec![]);
    }

    #[tokio::test]
    async fn an_exchange_the_run_cannot_pay_for_is_refused_before_it_is_sent() {
        let (inner, ledger) = (
            FakeModel::new(100, 50, 0.002),
            FakeLedger::with(tokens(1_000), 400, 0.5),
        );
        let model = budgeted(&inner, &ledger);
        // 400 spent before, + 300 estimated: fits.
        model.respond(&request(300)).await.expect("fits");
        // 400 + 150 spent by this attempt + 300: fits again.
        model.respond(&request(300)).await.expect("fits");
        // 400 + 300 + 301 does not.
        let message = exceeded(model.respond(&request(301)).await);
        assert!(
            message.contains("spent 700 of 1000 tokens") && message.contains("301 more"),
            "{message}"
        );
        assert_eq!(inner.calls(), 2);
        let failure = switchyard_sdk::AgentError::from(ModelError::BudgetExceeded(message));
        assert_eq!(failure.error_name(), ModelError::BUDGET_EXCEEDED);
        // What the attempt spent is added to the run's totals once, as it ends.
        model.settle().await;
        assert_eq!(ledger.reads(), 1);
        assert_eq!(ledger.spends(), vec![(300, 0.004)]);
    }

    #[tokio::test]
    async fn a_spent_dollar_budget_refuses_the_next_exchange() {
        let budget = Some(Budget {
            tokens: None,
            usd: Some(0.01),
        });
        let (inner, ledger) = (
            FakeModel::new(10, 10, 0.006),
            FakeLedger::with(budget, 0, 0.0),
        );
        let model = budgeted(&inner, &ledger);
        model
            .respond(&request(10))
            .await
            .expect("nothing spent yet");
        model.respond(&request(10)).await.expect("0.006 spent");
        let message = exceeded(model.respond(&request(10)).await);
        assert!(
            message.contains("spent 0.0120 of 0.01 US dollars"),
            "{message}"
        );
        // Spent before this attempt: refused at once.
        let ledger = FakeLedger::with(budget, 500, 0.01);
        let model = budgeted(&inner, &ledger);
        exceeded(model.respond(&request(10)).await);
        model.settle().await;
        assert_eq!(ledger.spends(), vec![]);
    }

    #[tokio::test]
    async fn exchanges_in_flight_count_against_the_budget() {
        let inner = Arc::new(FakeModel {
            delay: Duration::from_millis(20),
            ..Arc::into_inner(FakeModel::new(100, 100, 0.0)).expect("one owner")
        });
        let ledger = FakeLedger::with(tokens(1_000), 0, 0.0);
        let model = budgeted(&inner, &ledger);
        let (one, other) = (request(600), request(600));
        let (first, second) = tokio::join!(model.respond(&one), model.respond(&other));
        first.expect("fits alone");
        exceeded(second);
        // Answered, the first counts what it used, not what it might have.
        model
            .respond(&request(600))
            .await
            .expect("200 spent + 600 fits");
    }

    #[tokio::test]
    async fn cached_replies_cost_the_run_nothing() {
        let inner = Arc::new(FakeModel {
            cached: true,
            ..Arc::into_inner(FakeModel::new(400, 400, 1.0)).expect("one owner")
        });
        let ledger = FakeLedger::with(tokens(1_000), 0, 0.0);
        let model = budgeted(&inner, &ledger);
        for _ in 0..3 {
            model.respond(&request(500)).await.expect("free");
        }
        model.settle().await;
        assert_eq!(ledger.spends(), vec![]);
    }

    #[tokio::test]
    async fn spending_read_with_the_runs_status_is_not_read_again() {
        let inner = FakeModel::new(1, 1, 0.0);
        // The step's start read a budget of 10 tokens: the exchange is refused unread.
        let ledger = FakeLedger::answering(vec![]);
        let known = RunSpending {
            budget: tokens(10),
            ..RunSpending::default()
        };
        let model = BudgetedModel::new(inner.clone(), ledger.clone(), "run-1", Some(Some(known)));
        exceeded(model.respond(&request(512)).await);
        // It read no record: no budget, nothing read either.
        let model = BudgetedModel::new(inner.clone(), ledger.clone(), "run-1", Some(None));
        model.respond(&request(512)).await.expect("no budget");
        assert_eq!((ledger.reads(), inner.calls()), (0, 1));
    }

    #[tokio::test]
    async fn a_run_without_a_record_has_no_budget_and_is_read_once() {
        // Started outside the Run API: nothing to wait for.
        let inner = FakeModel::new(1, 1, 0.0);
        let ledger = FakeLedger::answering(vec![Ok(None)]);
        let model = budgeted(&inner, &ledger);
        model.respond(&request(512)).await.expect("no budget");
        model.respond(&request(512)).await.expect("no budget");
        assert_eq!((ledger.reads(), inner.calls()), (1, 2));
    }

    #[tokio::test]
    async fn an_unreadable_budget_refuses_the_exchange_as_retryable() {
        let ledger = FakeLedger::answering(vec![
            Err(()),
            Ok(Some(RunSpending {
                budget: tokens(10_000),
                ..RunSpending::default()
            })),
        ]);
        let inner = FakeModel::new(1, 1, 0.0);
        let model = budgeted(&inner, &ledger);
        let error = model.respond(&request(10)).await.expect_err("unreadable");
        assert!(error.is_retryable(), "{error}");
        assert_eq!(inner.calls(), 0);
        // The next exchange reads again.
        model.respond(&request(10)).await.expect("read");
        assert_eq!(ledger.reads(), 2);
    }

    #[test]
    fn the_estimate_is_what_is_sent_and_the_most_that_may_come_back() {
        let prompt = Prompt::new("a".repeat(40), "b".repeat(80)).max_tokens(100);
        let mut request = ModelRequest::text(prompt);
        assert_eq!(estimate_tokens(&request), 10 + 20 + 100);
        request.turns.push(Turn::Correction {
            message: "c".repeat(400),
        });
        assert!(estimate_tokens(&request) > 130 + 100);
    }
}
