//! `/runs/{id}/steps/{step}/trace`: every model exchange of a step, attempt by attempt (and
//! map item by map item): the request, the reply or the error, tokens, cost, latency and
//! whether the tenant's response cache answered. Traces were redacted before they were
//! stored; offloaded ones are read back from the payload bucket.

use serde::Serialize;
use serde_json::json;
use switchyard_state::trace::ModelExchange;

use super::Api;
use crate::backend::{Backend, StepStatus, StepTraceRecord};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::request;

/// Where an attempt's exchanges came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum TraceSource {
    /// On the step record.
    Inline,
    /// In the payload bucket.
    Offloaded,
    /// The attempt asked no model (or is still running).
    None,
    /// It asked the model, but its trace could not be stored or read back.
    Unavailable,
}

/// One attempt of the step with its exchanges.
#[derive(Debug, Serialize)]
struct AttemptTraceView {
    step_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<u64>,
    attempt: u64,
    status: StepStatus,
    started_at: u64,
    finished_at: Option<u64>,
    model_calls: u64,
    cache_hits: u64,
    tokens_saved: u64,
    cost_saved_usd: f64,
    trace: TraceSource,
    exchanges: Vec<ModelExchange>,
}

/// Whether `step` can name a step: attempts are keyed `<step>#…`, and names are short.
fn is_step_name(step: &str) -> bool {
    (1..=128).contains(&step.len()) && !step.contains('#') && !step.chars().any(char::is_control)
}

impl<B: Backend> Api<B> {
    pub(super) async fn step_trace(
        &self,
        request: &ApiRequest,
        run_id: &str,
        step: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        request::query(&request.query, &[])?;
        let run = self.owned_run(run_id, tenant).await?;
        let records = if is_step_name(step) {
            self.backend.step_traces(run_id, step).await?
        } else {
            Vec::new()
        };
        // The run is the tenant's; its items are too, but nothing else is shown.
        let records: Vec<StepTraceRecord> = records
            .into_iter()
            .filter(|r| r.tenant_id == tenant)
            .collect();
        if records.is_empty() {
            let shown: String = step.chars().take(128).collect();
            return Err(ApiError::NotFound(format!(
                "run `{run_id}` has no step `{shown}` (no attempt of it was recorded)"
            )));
        }
        let attempts =
            futures::future::join_all(records.into_iter().map(|r| self.attempt_trace(r))).await;
        Ok(ApiResponse::json(
            200,
            &json!({
                "run_id": run_id,
                "workflow": run.workflow,
                "step": step,
                "attempts": attempts,
            }),
        ))
    }

    /// One attempt's exchanges, from its record or the payload bucket. A trace that cannot
    /// be read is shown as unavailable (and logged), not as a failed request: the other
    /// attempts still show.
    async fn attempt_trace(&self, record: StepTraceRecord) -> AttemptTraceView {
        let (source, exchanges) = match (&record.trace, &record.trace_object) {
            (Some(text), _) => {
                match serde_json::from_str::<switchyard_state::trace::AttemptTrace>(text) {
                    Ok(trace) => (TraceSource::Inline, trace.exchanges),
                    Err(e) => {
                        tracing::warn!(run_id = %record.run_id, step_key = %record.step_key, error = %e, "a stored trace does not read");
                        (TraceSource::Unavailable, Vec::new())
                    }
                }
            }
            (None, Some(object)) => match self.backend.trace_object(&record.run_id, object).await {
                Ok(trace) => (TraceSource::Offloaded, trace.exchanges),
                Err(e) => {
                    tracing::warn!(run_id = %record.run_id, step_key = %record.step_key, error = %e, "an offloaded trace could not be read");
                    (TraceSource::Unavailable, Vec::new())
                }
            },
            (None, None) if record.model_calls > 0 => (TraceSource::Unavailable, Vec::new()),
            (None, None) => (TraceSource::None, Vec::new()),
        };
        AttemptTraceView {
            step_key: record.step_key,
            item: record.item,
            attempt: record.attempt,
            status: record.status,
            started_at: record.started_at,
            finished_at: record.finished_at,
            model_calls: record.model_calls,
            cache_hits: record.cache_hits,
            tokens_saved: record.tokens_saved,
            cost_saved_usd: record.cost_saved_usd,
            trace: source,
            exchanges,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use switchyard_state::trace::{
        AttemptTrace, ExchangeReply, ExchangeRequest, ModelExchange, TraceObject,
    };

    use crate::api::fixtures::*;
    use crate::backend::{StepStatus, StepTraceRecord};

    fn exchange(round: u32, cached: bool) -> ModelExchange {
        ModelExchange {
            round,
            model: "embedded:deterministic-v1".into(),
            request: ExchangeRequest {
                system: "You write briefs.".into(),
                user: "Quarterly report".into(),
                output_schema: Some("Brief".into()),
                ..ExchangeRequest::default()
            },
            reply: Some(ExchangeReply {
                answer: Some(json!({ "title": "Q3" })),
                ..ExchangeReply::default()
            }),
            tokens_in: 40,
            tokens_out: 8,
            latency_ms: 3,
            cached,
            ..ModelExchange::default()
        }
    }

    fn attempt(run_id: &str, tenant: &str, step: &str, attempt: u64) -> StepTraceRecord {
        StepTraceRecord {
            run_id: run_id.into(),
            step_key: format!("{step}#{attempt:02}"),
            step: step.into(),
            attempt,
            tenant_id: tenant.into(),
            status: StepStatus::Succeeded,
            started_at: 10 + attempt,
            finished_at: Some(20 + attempt),
            ..StepTraceRecord::default()
        }
    }

    fn inline(trace: &AttemptTrace) -> Option<String> {
        serde_json::to_string(trace).ok()
    }

    #[test]
    fn a_steps_attempts_show_their_exchanges_inline_or_offloaded() {
        let api = api();
        let run_id = gate_run(&api);
        let object = TraceObject {
            key: TraceObject::key_for(&run_id, "draft#01", "x"),
            bytes: 1,
            sha256: "ab".repeat(32),
        };
        {
            let mut state = api.backend.state();
            state.step_traces.push(StepTraceRecord {
                model_calls: 2,
                trace: inline(&AttemptTrace {
                    exchanges: vec![exchange(1, false), exchange(2, false)],
                }),
                ..attempt(&run_id, "tenant-a", "draft", 0)
            });
            state.step_traces.push(StepTraceRecord {
                model_calls: 1,
                cache_hits: 1,
                tokens_saved: 48,
                cost_saved_usd: 0.25,
                trace_object: Some(object.clone()),
                ..attempt(&run_id, "tenant-a", "draft", 1)
            });
            state.trace_objects.insert(
                object.key.clone(),
                AttemptTrace {
                    exchanges: vec![exchange(1, true)],
                },
            );
            // Another step of the same run is not this step's.
            state
                .step_traces
                .push(attempt(&run_id, "tenant-a", "draft_more", 0));
        }
        let (status, body) = call(
            &api,
            as_a("GET", &format!("/runs/{run_id}/steps/draft/trace")),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["step"].as_str(), body["workflow"].as_str()),
            (Some("draft"), Some("gate-test"))
        );
        let attempts = body["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 2);
        assert_eq!(
            (
                &attempts[0]["trace"],
                &attempts[0]["model_calls"],
                &attempts[0]["cache_hits"]
            ),
            (&json!("inline"), &json!(2), &json!(0))
        );
        let rounds: Vec<&Value> = attempts[0]["exchanges"]
            .as_array()
            .expect("exchanges")
            .iter()
            .map(|e| &e["round"])
            .collect();
        assert_eq!(rounds, [&json!(1), &json!(2)]);
        assert_eq!(
            attempts[0]["exchanges"][0]["request"]["user"],
            "Quarterly report"
        );
        assert_eq!(
            attempts[0]["exchanges"][0]["reply"]["answer"],
            json!({ "title": "Q3" })
        );
        assert_eq!(
            (
                &attempts[1]["trace"],
                &attempts[1]["tokens_saved"],
                &attempts[1]["cost_saved_usd"]
            ),
            (&json!("offloaded"), &json!(48), &json!(0.25))
        );
        assert_eq!(attempts[1]["exchanges"][0]["cached"], true);
    }

    #[test]
    fn another_tenant_and_unknown_steps_are_404_naming_what_is_missing() {
        let api = api();
        let run_id = gate_run(&api);
        api.backend
            .state()
            .step_traces
            .push(attempt(&run_id, "tenant-a", "draft", 0));
        let path = format!("/runs/{run_id}/steps/draft/trace");
        let (status, body) = call(&api, as_b("GET", &path));
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
        assert_eq!(body["message"], format!("no run `{run_id}`"));
        let (status, body) = call(
            &api,
            as_a("GET", &format!("/runs/{run_id}/steps/nope/trace")),
        );
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("no step `nope`")),
            "{body}"
        );
        // A name no step can have is not looked up.
        let (status, _) = call(
            &api,
            as_a("GET", &format!("/runs/{run_id}/steps/a%23b/trace")),
        );
        assert_eq!(status, 404);
        let (status, _) = call(&api, as_a("GET", "/runs/never-existed/steps/draft/trace"));
        assert_eq!(status, 404);
        let (status, body) = call(&api, as_a("GET", &path).with_query("verbose=1"));
        assert_eq!((status, body["field"].as_str()), (400, Some("verbose")));
    }

    #[test]
    fn a_code_only_attempt_has_no_trace_and_a_lost_one_is_unavailable() {
        let api = api();
        let run_id = gate_run(&api);
        let missing = TraceObject {
            key: TraceObject::key_for(&run_id, "draft#02", "gone"),
            bytes: 1,
            sha256: "ab".repeat(32),
        };
        {
            let mut state = api.backend.state();
            state
                .step_traces
                .push(attempt(&run_id, "tenant-a", "draft", 0));
            state.step_traces.push(StepTraceRecord {
                model_calls: 3,
                ..attempt(&run_id, "tenant-a", "draft", 1)
            });
            state.step_traces.push(StepTraceRecord {
                model_calls: 1,
                trace_object: Some(missing),
                ..attempt(&run_id, "tenant-a", "draft", 2)
            });
        }
        let (status, body) = call(
            &api,
            as_a("GET", &format!("/runs/{run_id}/steps/draft/trace")),
        );
        assert_eq!(status, 200, "{body}");
        let sources: Vec<&Value> = body["attempts"]
            .as_array()
            .expect("attempts")
            .iter()
            .map(|a| &a["trace"])
            .collect();
        assert_eq!(
            sources,
            [&json!("none"), &json!("unavailable"), &json!("unavailable")]
        );
    }
}
