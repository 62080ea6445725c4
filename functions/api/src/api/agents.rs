//! `/agents`: the registry. What each agent is comes from the binary (its registration: name,
//! description, capabilities, JSON Schemas, the workflows that call it); how it has been doing
//! comes from the caller's own step records over a recent window.

use serde::Serialize;
use serde_json::{json, Value};
use switchyard_sdk::AgentRegistration;

use super::stats::nearest_rank;
use super::Api;
use crate::backend::{Backend, StepRecord, StepStatus};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::request;

/// The health window when the request names none: the last day.
pub const DEFAULT_WINDOW_MINUTES: u64 = 24 * 60;
/// The longest window: a week.
pub const MAX_WINDOW_MINUTES: u64 = 7 * 24 * 60;
/// Attempts read per agent; the figures say when the window held more.
pub const MAX_ATTEMPTS: usize = 1000;
/// Agents whose health is read at the same time.
const CONCURRENT_READS: usize = 16;

/// One agent as the registry shows it.
#[derive(Serialize)]
pub struct AgentView<'a> {
    name: &'a str,
    description: &'a str,
    capabilities: &'a [&'a str],
    /// The model it declares (`#[agent(model = "...")]`); `null` asks the deployment's
    /// primary model. A deployment may set another for its function.
    model: Option<&'a str>,
    /// The Lambda function it deploys as.
    function_name: String,
    input_type: String,
    output_type: String,
    input_schema: Value,
    output_schema: Value,
    /// Workflows with a step calling it, by name.
    workflows: &'a [&'static str],
    health: Health,
}

/// How an agent's attempts went, for one tenant, over the window.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Health {
    window_minutes: u64,
    attempts: usize,
    succeeded: usize,
    failed: usize,
    running: usize,
    /// Succeeded over finished attempts; `null` before any finished.
    success_rate: Option<f64>,
    latency_ms: Option<Latency>,
    tokens_in: u64,
    tokens_out: u64,
    cost_usd: f64,
    /// Model exchanges, and what the response cache answered and saved.
    #[serde(flatten)]
    cache: CacheFigures,
    /// Epoch milliseconds of the newest attempt's start.
    last_attempt_at: Option<u64>,
    last_error: Option<LastError>,
    /// More attempts started in the window than were read ([`MAX_ATTEMPTS`], newest first):
    /// the figures cover the newest.
    truncated: bool,
}

/// Model exchanges over some attempts, and what the response cache saved them.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct CacheFigures {
    /// Exchanges made, whether the provider or the cache answered.
    model_calls: u64,
    /// Exchanges the cache answered.
    cache_hits: u64,
    /// Tokens (in and out) and cost the cached exchanges did not spend.
    tokens_saved: u64,
    cost_saved_usd: f64,
}

impl CacheFigures {
    pub fn add(&mut self, attempt: &StepRecord) {
        self.model_calls += attempt.model_calls;
        self.cache_hits += attempt.cache_hits;
        self.tokens_saved += attempt.tokens_saved;
        // Sums of prices in floating point: keep what a bill shows.
        self.cost_saved_usd = ((self.cost_saved_usd + attempt.cost_saved_usd) * 1e9).round() / 1e9;
    }
}

#[derive(Debug, PartialEq, Serialize)]
pub struct Latency {
    p50: u64,
    p95: u64,
    max: u64,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct LastError {
    error: String,
    message: Option<String>,
    run_id: String,
    step: String,
    at: u64,
}

impl Health {
    /// The figures of `attempts` (newest first, as read).
    pub fn of(attempts: &[StepRecord], window_minutes: u64, truncated: bool) -> Health {
        let mut health = Health {
            window_minutes,
            attempts: attempts.len(),
            truncated,
            ..Health::default()
        };
        let mut latencies = Vec::new();
        for attempt in attempts {
            match attempt.status {
                StepStatus::Running => health.running += 1,
                StepStatus::Succeeded => health.succeeded += 1,
                StepStatus::Failed => health.failed += 1,
            }
            if attempt.status != StepStatus::Running {
                latencies.extend(attempt.latency_ms);
            }
            health.tokens_in += attempt.tokens_in;
            health.tokens_out += attempt.tokens_out;
            health.cost_usd += attempt.cost_usd;
            health.cache.add(attempt);
            health.last_attempt_at = health.last_attempt_at.max(Some(attempt.started_at));
        }
        let finished = health.succeeded + health.failed;
        health.success_rate = (finished > 0).then(|| health.succeeded as f64 / finished as f64);
        latencies.sort_unstable();
        health.latency_ms = latencies.last().map(|&max| Latency {
            p50: nearest_rank(&latencies, 50),
            p95: nearest_rank(&latencies, 95),
            max,
        });
        health.last_error = attempts
            .iter()
            .filter(|a| a.status == StepStatus::Failed)
            .max_by_key(|a| a.finished_at.unwrap_or(a.started_at))
            .map(|a| LastError {
                error: a.error_name.clone().unwrap_or_else(|| "unknown".into()),
                message: a.error_message.clone(),
                run_id: a.run_id.clone(),
                step: a.step.clone(),
                at: a.finished_at.unwrap_or(a.started_at),
            });
        health
    }
}

impl<B: Backend> Api<B> {
    pub(super) async fn list_agents(
        &self,
        request: &ApiRequest,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(
            &request.query,
            &["capability", "workflow", "window_minutes"],
        )?;
        let window = window_minutes(&params, DEFAULT_WINDOW_MINUTES, MAX_WINDOW_MINUTES)?;
        let capability = params.get("capability").filter(|c| !c.is_empty());
        let workflow = params.get("workflow").filter(|w| !w.is_empty());
        if let Some(workflow) = workflow {
            if !self.workflows.iter().any(|w| w.name == workflow) {
                return Err(ApiError::bad_field(
                    "workflow",
                    format!("no workflow named `{workflow}`"),
                ));
            }
        }
        let chosen: Vec<&'static AgentRegistration> = self
            .agents
            .iter()
            .copied()
            .filter(|a| capability.is_none_or(|c| a.capabilities.contains(&c.as_str())))
            .filter(|a| workflow.is_none_or(|w| self.workflows_of(a.name).contains(&w.as_str())))
            .collect();
        let names: Vec<&str> = chosen.iter().map(|a| a.name).collect();
        let attempts = self.attempts_of(tenant, &names, since_ms(window)).await?;
        let views: Vec<AgentView<'_>> = chosen
            .iter()
            .zip(attempts)
            .map(|(agent, (attempts, truncated))| {
                self.agent_view(agent, Health::of(&attempts, window, truncated))
            })
            .collect();
        Ok(ApiResponse::json(
            200,
            &json!({ "agents": views, "window_minutes": window }),
        ))
    }

    pub(super) async fn get_agent(
        &self,
        request: &ApiRequest,
        name: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["window_minutes"])?;
        let window = window_minutes(&params, DEFAULT_WINDOW_MINUTES, MAX_WINDOW_MINUTES)?;
        let Some(agent) = self.agents.iter().find(|a| a.name == name) else {
            let hint = switchyard_sdk::ir::closest(name, self.agents.iter().map(|a| a.name))
                .map(|near| format!("; did you mean `{near}`?"))
                .unwrap_or_default();
            return Err(ApiError::NotFound(format!("no agent named `{name}`{hint}")));
        };
        let (attempts, truncated) = self
            .attempts_of(tenant, &[agent.name], since_ms(window))
            .await?
            .pop()
            .unwrap_or_default();
        let health = Health::of(&attempts, window, truncated);
        Ok(ApiResponse::json(200, &self.agent_view(agent, health)))
    }

    /// Each agent's attempts started at or after `since`: the tenant's, newest first, at most
    /// [`MAX_ATTEMPTS`] of them and whether there were more; [`CONCURRENT_READS`] agents at
    /// a time.
    pub(super) async fn attempts_of(
        &self,
        tenant: &str,
        agents: &[&str],
        since: u64,
    ) -> Result<Vec<(Vec<StepRecord>, bool)>, ApiError> {
        let mut read = Vec::with_capacity(agents.len());
        for batch in agents.chunks(CONCURRENT_READS) {
            let results = futures::future::join_all(
                batch
                    .iter()
                    .map(|agent| self.backend.agent_steps(tenant, agent, since, MAX_ATTEMPTS)),
            )
            .await;
            for result in results {
                read.push(result?);
            }
        }
        Ok(read)
    }

    pub(super) fn workflows_of(&self, agent: &str) -> &[&'static str] {
        self.agent_workflows
            .get(agent)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn agent_view<'a>(&'a self, agent: &'a AgentRegistration, health: Health) -> AgentView<'a> {
        AgentView {
            name: agent.name,
            description: agent.description,
            capabilities: agent.capabilities,
            model: agent.model,
            function_name: switchyard_sdk::ir::function_name(agent.name),
            input_type: (agent.input_type)(),
            output_type: (agent.output_type)(),
            input_schema: (agent.input_schema)(),
            output_schema: (agent.output_schema)(),
            workflows: self.workflows_of(agent.name),
            health,
        }
    }
}

/// The `window_minutes` parameter: `default` when absent, from 1 to `max`.
pub(super) fn window_minutes(
    params: &std::collections::BTreeMap<String, String>,
    default: u64,
    max: u64,
) -> Result<u64, ApiError> {
    match params.get("window_minutes").filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_field(
                    "window_minutes",
                    format!("expected a number of minutes from 1 to {max}"),
                )
            }),
    }
}

fn since_ms(window_minutes: u64) -> u64 {
    switchyard_state::now_ms().saturating_sub(window_minutes * 60_000)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::api::fixtures::*;

    fn attempt(
        run: &str,
        tenant: &str,
        agent: &str,
        status: StepStatus,
        latency: u64,
    ) -> StepRecord {
        let now = switchyard_state::now_ms();
        StepRecord {
            run_id: run.into(),
            step_key: format!("{agent}#{latency}"),
            step: agent.into(),
            attempt: 1,
            agent: Some(agent.into()),
            tenant_id: tenant.into(),
            status,
            started_at: now - latency,
            finished_at: (status != StepStatus::Running).then_some(now),
            latency_ms: (status != StepStatus::Running).then_some(latency),
            tokens_in: 10,
            tokens_out: 5,
            cost_usd: 0.25,
            error_name: (status == StepStatus::Failed).then(|| "Agent.Permanent".into()),
            error_message: (status == StepStatus::Failed).then(|| "no stock".into()),
            ..StepRecord::default()
        }
    }

    fn record(api: &Api<crate::memory::MemoryBackend>, steps: Vec<StepRecord>) {
        let mut state = api.backend.state();
        for step in steps {
            state.steps.push((step.run_id.clone(), step));
        }
    }

    fn agent<'a>(list: &'a Value, name: &str) -> &'a Value {
        list["agents"]
            .as_array()
            .and_then(|agents| agents.iter().find(|a| a["name"] == name))
            .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
    }

    #[test]
    fn every_linked_agent_is_listed_with_its_schemas_capabilities_and_workflows() {
        let api = api();
        let (status, list) = call(&api, as_a("GET", "/agents"));
        assert_eq!(status, 200, "{list}");
        let listed = list["agents"].as_array().map(Vec::len).unwrap_or_default();
        assert_eq!(listed, switchyard_sdk::agents().len());
        let copywriter = agent(&list, "copywriter");
        assert_eq!(copywriter["function_name"], "switchyard-copywriter");
        assert_eq!(copywriter["workflows"], json!(["campaign-creation"]));
        assert!(copywriter["capabilities"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("copywriting"))));
        assert_eq!(
            copywriter["output_schema"]["$schema"],
            switchyard_sdk::schema::DIALECT
        );
        assert_eq!(copywriter["output_schema"]["type"], "object");
        assert_eq!(copywriter["health"]["attempts"], 0);
        // Declaring no model, it asks the deployment's.
        assert_eq!(copywriter.get("model"), Some(&Value::Null));
        assert_eq!(copywriter["health"]["success_rate"], Value::Null);
    }

    #[test]
    fn health_counts_the_callers_attempts_in_the_window_only() {
        let api = api();
        let mut steps: Vec<StepRecord> = (1..=19)
            .map(|i| {
                attempt(
                    "r1",
                    "tenant-a",
                    "copywriter",
                    StepStatus::Succeeded,
                    i * 10,
                )
            })
            .collect();
        steps.push(attempt(
            "r2",
            "tenant-a",
            "copywriter",
            StepStatus::Failed,
            500,
        ));
        steps.push(attempt(
            "r3",
            "tenant-a",
            "copywriter",
            StepStatus::Running,
            1,
        ));
        // Another tenant's attempt and one from two days ago do not count.
        steps.push(attempt(
            "r4",
            "tenant-b",
            "copywriter",
            StepStatus::Failed,
            5,
        ));
        let mut old = attempt("r5", "tenant-a", "copywriter", StepStatus::Failed, 5);
        old.started_at -= 2 * 24 * 3_600_000;
        steps.push(old);
        record(&api, steps);

        let (status, view) = call(&api, as_a("GET", "/agents/copywriter"));
        assert_eq!(status, 200, "{view}");
        let health = &view["health"];
        assert_eq!(
            (
                &health["attempts"],
                &health["succeeded"],
                &health["failed"],
                &health["running"]
            ),
            (&json!(21), &json!(19), &json!(1), &json!(1))
        );
        assert_eq!(health["success_rate"], json!(0.95));
        assert_eq!(
            health["latency_ms"],
            json!({ "p50": 100, "p95": 190, "max": 500 })
        );
        assert_eq!(
            (&health["tokens_in"], &health["cost_usd"]),
            (&json!(210), &json!(5.25))
        );
        assert_eq!(health["last_error"]["error"], "Agent.Permanent");
        assert_eq!(health["last_error"]["run_id"], "r2");
        assert_eq!(health["truncated"], false);

        // The other tenant sees only its own attempt.
        let (_, theirs) = call(&api, as_b("GET", "/agents/copywriter"));
        assert_eq!(theirs["health"]["attempts"], 1);
        assert_eq!(theirs["health"]["success_rate"], json!(0.0));

        // A week's window reaches the old attempt.
        let (_, week) = call(
            &api,
            as_a("GET", "/agents/copywriter").with_query("window_minutes=10080"),
        );
        assert_eq!(week["health"]["attempts"], 22);
    }

    #[test]
    fn filters_narrow_the_list_and_bad_parameters_name_their_field() {
        let api = api();
        let (_, list) = call(
            &api,
            as_a("GET", "/agents").with_query("capability=copywriting"),
        );
        let names: Vec<&str> = list["agents"]
            .as_array()
            .map(|a| a.iter().filter_map(|a| a["name"].as_str()).collect())
            .unwrap_or_default();
        assert!(names.contains(&"copywriter") && names.contains(&"subject_line_writer"));
        assert!(!names.contains(&"analyst"), "{names:?}");

        let (_, list) = call(&api, as_a("GET", "/agents").with_query("workflow=dev-team"));
        let names: Vec<&str> = list["agents"]
            .as_array()
            .map(|a| a.iter().filter_map(|a| a["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            names,
            [
                "backend_dev",
                "debugger",
                "frontend_dev",
                "qa_engineer",
                "tech_lead"
            ]
        );

        for (query, field) in [
            ("window_minutes=0", "window_minutes"),
            ("window_minutes=99999", "window_minutes"),
            ("workflow=nope", "workflow"),
            ("colour=red", "colour"),
        ] {
            let (status, body) = call(&api, as_a("GET", "/agents").with_query(query));
            assert_eq!(
                (status, body["field"].as_str()),
                (400, Some(field)),
                "{query}"
            );
        }
        let (status, body) = call(&api, as_a("GET", "/agents/copywritr"));
        assert_eq!(status, 404);
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("did you mean `copywriter`")),
            "{body}"
        );
    }

    #[test]
    fn no_attempts_no_latency() {
        assert_eq!(Health::of(&[], 5, false).latency_ms, None);
    }
}
