//! Counts what one agent invocation spends on its model, and records each exchange for the
//! attempt's conversation trace.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use switchyard_sdk::{BoxFuture, Model, ModelError, ModelRequest, Reply};

use switchyard_state::trace::{AttemptTrace, ModelExchange};
use switchyard_state::StepUsage;

/// A model handle for one invocation: delegates, adds up tokens and cost (a cached reply's
/// count as saved, not spent), and keeps every exchange in order.
pub struct MeteredModel {
    inner: Arc<dyn Model>,
    meter: Mutex<Meter>,
}

#[derive(Default)]
struct Meter {
    usage: StepUsage,
    exchanges: Vec<ModelExchange>,
}

impl MeteredModel {
    pub fn new(inner: Arc<dyn Model>) -> Self {
        MeteredModel {
            inner,
            meter: Mutex::new(Meter::default()),
        }
    }

    /// What was spent (and saved) so far.
    pub fn usage(&self) -> StepUsage {
        self.meter
            .lock()
            .map(|m| m.usage.clone())
            .unwrap_or_default()
    }

    /// The exchanges so far, not yet redacted; none for an attempt that asked no model.
    pub fn trace(&self) -> Option<AttemptTrace> {
        let meter = self.meter.lock().ok()?;
        (!meter.exchanges.is_empty()).then(|| AttemptTrace {
            exchanges: meter.exchanges.clone(),
        })
    }

    fn record(&self, request: &ModelRequest, outcome: &Result<Reply, ModelError>, latency_ms: u64) {
        let Ok(mut meter) = self.meter.lock() else {
            return;
        };
        let usage = &mut meter.usage;
        // An exchange the budget refused was never sent: it is traced, not counted.
        if !matches!(outcome, Err(ModelError::BudgetExceeded(_))) {
            usage.model_calls += 1;
        }
        if let Ok(reply) = outcome {
            let tokens = u64::from(reply.tokens_in) + u64::from(reply.tokens_out);
            if reply.cached {
                usage.cache_hits += 1;
                usage.tokens_saved += tokens;
                usage.cost_saved_usd += reply.cost_usd;
            } else {
                usage.tokens_in += u64::from(reply.tokens_in);
                usage.tokens_out += u64::from(reply.tokens_out);
                usage.cost_usd += reply.cost_usd;
            }
            usage.model = Some(reply.model.clone());
        }
        let round = u32::try_from(meter.exchanges.len() + 1).unwrap_or(u32::MAX);
        let exchange =
            crate::trace::exchange(round, self.inner.name(), request, outcome, latency_ms);
        meter.exchanges.push(exchange);
    }
}

impl Model for MeteredModel {
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
            let started = Instant::now();
            let outcome = self.inner.respond(request).await;
            self.record(request, &outcome, started.elapsed().as_millis() as u64);
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use switchyard_sdk::{JsonShape, Prompt, Tool};

    use super::*;
    use crate::cache::tests::{block_on, CountingModel, MemoryCache};
    use crate::cache::CachedModel;

    #[derive(Debug, serde::Deserialize, JsonShape)]
    #[allow(dead_code)]
    struct Brief {
        title: String,
        words: u32,
    }

    #[derive(serde::Deserialize, JsonShape)]
    struct CountArgs {
        text: String,
    }

    /// One conversation with a tool, asked twice by two invocations sharing the cache.
    fn ask(provider: Arc<CountingModel>, cache: Arc<MemoryCache>) -> MeteredModel {
        let cached: Arc<dyn Model> = Arc::new(CachedModel::new(provider, cache, "tenant-a"));
        let metered = MeteredModel::new(cached);
        let model: &dyn Model = &metered;
        block_on(
            model
                .chat(Prompt::new("You write briefs.", "Quarterly report"))
                .tool(Tool::new(
                    "word_count",
                    "Counts words",
                    |args: CountArgs| async move {
                        Ok::<_, String>(args.text.split_whitespace().count())
                    },
                ))
                .cache(Duration::from_secs(600))
                .ask::<Brief>(),
        )
        .expect("an answer");
        metered
    }

    #[test]
    fn every_round_is_metered_and_traced_and_cached_rounds_are_saved_not_spent() {
        let provider = Arc::new(CountingModel::default());
        let cache = Arc::new(MemoryCache::default());
        let first = ask(provider.clone(), cache.clone());
        let usage = first.usage();
        // The tool round and the answer.
        assert_eq!((usage.model_calls, usage.cache_hits), (2, 0));
        assert!(usage.tokens_in > 0 && usage.tokens_out > 0);
        assert!((usage.cost_usd - 0.02).abs() < 1e-9);
        assert_eq!((usage.tokens_saved, usage.cost_saved_usd), (0, 0.0));
        let trace = first.trace().expect("a trace");
        let rounds: Vec<(u32, bool)> = trace
            .exchanges
            .iter()
            .map(|e| (e.round, e.cached))
            .collect();
        assert_eq!(rounds, [(1, false), (2, false)]);
        assert_eq!(trace.exchanges[0].request.tools, ["word_count"]);
        assert_eq!(
            trace.exchanges[0].request.output_schema.as_deref(),
            Some("Brief")
        );
        assert_eq!(trace.exchanges[0].request.cache_ttl_s, Some(600));
        let calls = &trace.exchanges[0]
            .reply
            .as_ref()
            .expect("a reply")
            .tool_calls;
        assert_eq!(calls[0].name, "word_count");
        assert!(trace.exchanges[1]
            .reply
            .as_ref()
            .and_then(|r| r.answer.as_ref())
            .is_some());

        let second = ask(provider.clone(), cache);
        assert_eq!(provider.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        let saved = second.usage();
        assert_eq!((saved.model_calls, saved.cache_hits), (2, 2));
        assert_eq!(
            (saved.tokens_in, saved.tokens_out, saved.cost_usd),
            (0, 0, 0.0)
        );
        assert_eq!(saved.tokens_saved, usage.tokens_in + usage.tokens_out);
        assert!((saved.cost_saved_usd - 0.02).abs() < 1e-9);
        let trace = second.trace().expect("a trace");
        assert!(trace.exchanges.iter().all(|e| e.cached));
    }

    #[test]
    fn a_failed_exchange_is_traced_with_its_error_and_counted() {
        struct Refusing;
        impl Model for Refusing {
            fn name(&self) -> &str {
                "openai:gpt-4o-mini"
            }
            fn respond<'a>(
                &'a self,
                _: &'a ModelRequest,
            ) -> BoxFuture<'a, Result<Reply, ModelError>> {
                Box::pin(async { Err(ModelError::Throttled) })
            }
        }
        let metered = MeteredModel::new(Arc::new(Refusing));
        let model: &dyn Model = &metered;
        let asked = block_on(model.complete(&Prompt::new("s", "u")));
        assert!(asked.is_err());
        let usage = metered.usage();
        assert_eq!(
            (usage.model_calls, usage.tokens_in, usage.model),
            (1, 0, None)
        );
        let trace = metered.trace().expect("a trace");
        let failed = &trace.exchanges[0];
        assert_eq!(failed.model, "openai:gpt-4o-mini");
        assert!(failed.reply.is_none());
        assert_eq!(
            failed.error.as_deref(),
            Some("model provider throttled the request (HTTP 429)")
        );
    }

    #[test]
    fn an_attempt_that_asks_no_model_has_no_trace() {
        let metered = MeteredModel::new(Arc::new(CountingModel::default()));
        assert!(metered.trace().is_none());
        assert_eq!(metered.usage(), StepUsage::default());
    }
}
