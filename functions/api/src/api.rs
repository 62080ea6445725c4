//! The API as one function: authentication, tenant isolation, and which endpoint answers.
//! The endpoints are in this module's files, one per resource.

mod agents;
mod approvals;
mod events;
#[cfg(test)]
mod fixtures;
mod graphs;
mod logs;
mod metrics;
mod runs;
mod stats;
mod timeline;
mod traces;
mod view;

use std::time::Instant;

use serde_json::json;
use switchyard_sdk::{AgentRegistration, WorkflowRegistration};

use crate::backend::Backend;
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::request;
use crate::route::{route, Route};
use crate::{keys, AwsBackend};

pub struct Api<B = AwsBackend> {
    backend: B,
    workflows: Vec<&'static WorkflowRegistration>,
    /// Workflows with approval gates: only their runs have approvals to read.
    gated: std::collections::BTreeSet<&'static str>,
    /// Workflows' declared budgets (`budget(...)`), which a start's own limits override.
    budgets: std::collections::BTreeMap<&'static str, switchyard_state::Budget>,
    /// The agents linked into the binary: the registry.
    agents: Vec<&'static AgentRegistration>,
    /// Agent name → the workflows calling it, sorted.
    agent_workflows: std::collections::BTreeMap<&'static str, Vec<&'static str>>,
    /// The agents a workflow calls: the deploy creates functions for these alone, so graphs
    /// may call these alone.
    deployed_agents: std::collections::BTreeSet<&'static str>,
}

impl Api<AwsBackend> {
    /// The deployed API: see [`AwsBackend::from_env`] for the variables it reads. The
    /// workflows it can start are those linked into the binary
    /// (call `switchyard_agents::link()`).
    pub fn from_env(
        config: &aws_config::SdkConfig,
    ) -> Result<Api<AwsBackend>, switchyard_lambda::ConfigError> {
        Ok(Api::new(AwsBackend::from_env(config)?))
    }
}

impl<B: Backend> Api<B> {
    pub fn new(backend: B) -> Api<B> {
        let workflows = switchyard_sdk::workflows();
        let agents = switchyard_sdk::agents();
        // One pass over the definitions: which have gates, which agents each calls.
        let mut gated = std::collections::BTreeSet::new();
        let mut budgets = std::collections::BTreeMap::new();
        let mut agent_workflows: std::collections::BTreeMap<_, Vec<_>> = Default::default();
        for workflow in &workflows {
            let definition = (workflow.definition)();
            if definition.approval_gates().next().is_some() {
                gated.insert(workflow.name);
            }
            if let Some(budget) = definition.budget {
                budgets.insert(workflow.name, budget);
            }
            for call in definition.agent_calls() {
                if let Some(agent) = agents.iter().find(|a| a.name == call.agent) {
                    let users = agent_workflows.entry(agent.name).or_default();
                    if !users.contains(&workflow.name) {
                        users.push(workflow.name);
                    }
                }
            }
        }
        let deployed_agents = agent_workflows.keys().copied().collect();
        Api {
            backend,
            workflows,
            gated,
            budgets,
            agents,
            agent_workflows,
            deployed_agents,
        }
    }

    /// Records the end of every run whose execution ended outside the state machine (see
    /// [`crate::reconcile`]).
    pub async fn sweep(&self) -> Result<crate::reconcile::SweepReport, ApiError> {
        crate::reconcile::sweep(&self.backend).await
    }

    /// Answers one request. Never fails: errors are JSON answers with their status.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let started_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut tenant = None;
        let (name, result) = match route(&request.method, &request.path) {
            Ok(route) => (
                route.name(),
                self.dispatch(route, &request, &mut tenant).await,
            ),
            Err(e) => ("none", Err(e)),
        };
        let response = result.unwrap_or_else(|error| {
            if error.status() >= 500 {
                tracing::error!(route = name, error = %error, "request failed");
            }
            error.response()
        });
        let elapsed = started.elapsed();
        tracing::info!(
            method = %request.method,
            route = name,
            status = response.status,
            tenant_id = tenant.as_deref().unwrap_or("-"),
            latency_ms = elapsed.as_millis() as u64,
            "api request"
        );
        // The handler's own time, apart from whatever carried the request here (a browser's
        // developer tools and the benchmark read it), and when it began in Unix milliseconds
        // (the benchmark pairs it with a direct read made at that moment).
        let millis = elapsed.as_secs_f64() * 1000.0;
        let began = started_at.as_secs_f64() * 1000.0;
        response.with_header(
            "server-timing",
            &format!("app;dur={millis:.1}, start;desc={began:.1}"),
        )
    }

    async fn dispatch(
        &self,
        route: Route<'_>,
        request: &ApiRequest,
        tenant_slot: &mut Option<String>,
    ) -> Result<ApiResponse, ApiError> {
        // A status read, the hot path, reads the key beside the run's own reads (one round
        // trip): see `get_run`.
        let key_beside_reads = matches!(route, Route::GetRun(_));
        if route.needs_key() && !key_beside_reads {
            *tenant_slot = Some(self.authenticate(request).await?);
        }
        let tenant = tenant_slot.clone().unwrap_or_default();
        let tenant = tenant.as_str();
        match route {
            Route::Health => self.health().await,
            Route::StartRun => {
                request::query(&request.query, &[])?;
                self.start_run(request, tenant).await
            }
            Route::ListRuns => self.list_runs(request, tenant).await,
            Route::GetRun(run_id) => {
                request::api_key(request)?;
                request::query(&request.query, &[])?;
                self.get_run(run_id, request, tenant_slot).await
            }
            Route::CancelRun(run_id) => {
                request::query(&request.query, &[])?;
                self.cancel_run(run_id, tenant).await
            }
            Route::PauseRun(run_id) => {
                request::query(&request.query, &[])?;
                self.pause_run(run_id, tenant).await
            }
            Route::ResumeRun(run_id) => {
                request::query(&request.query, &[])?;
                self.resume_run(run_id, tenant).await
            }
            Route::RunEvents(run_id) => self.run_events(request, run_id, tenant).await,
            Route::Timeline(run_id) => self.timeline(request, run_id, tenant).await,
            Route::Logs(run_id) => self.logs(request, run_id, tenant).await,
            Route::ListApprovals => self.list_approvals(request, tenant).await,
            Route::SubmitApproval => {
                request::query(&request.query, &[])?;
                self.submit_approval(request, tenant).await
            }
            Route::ListAgents => self.list_agents(request, tenant).await,
            Route::RunGraph => {
                request::query(&request.query, &[])?;
                self.run_graph(request, tenant, graphs::GraphForm::Switchyard)
                    .await
            }
            Route::RunGraphOrchestra => {
                request::query(&request.query, &[])?;
                self.run_graph(request, tenant, graphs::GraphForm::Orchestra)
                    .await
            }
            Route::GetAgent(name) => self.get_agent(request, name, tenant).await,
            Route::Metrics => self.metrics(request, tenant).await,
            Route::CreateViewLink(run_id) => self.create_view_link(request, run_id, tenant).await,
            Route::RunPage(run_id) => Ok(self.run_page(request, run_id).await),
            Route::RunPageState(run_id) => self.run_page_state(request, run_id).await,
            Route::StepTrace(run_id, step) => self.step_trace(request, run_id, step, tenant).await,
        }
    }

    /// The key's tenant, read on every request: a revoked key is refused from the moment it
    /// is revoked.
    async fn authenticate(&self, request: &ApiRequest) -> Result<String, ApiError> {
        let key = request::api_key(request)?;
        self.backend
            .tenant_of_key(&keys::hash_key(key))
            .await?
            .ok_or(ApiError::Unauthorized("unknown API key"))
    }

    /// Unauthenticated, so it reads nothing: no cost to flood, nothing about any tenant.
    async fn health(&self) -> Result<ApiResponse, ApiError> {
        Ok(ApiResponse::json(200, &json!({ "status": "ok" })))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::fixtures::*;
    use super::*;
    use crate::backend::{ApprovalStatus, ExecutionStatus, RunStatus};

    #[test]
    fn health_needs_no_key_and_reads_nothing() {
        let api = api();
        gate_run(&api);
        // No count of anyone's runs, and no backend read: it answers with the backend down.
        api.backend.state().unavailable = true;
        let (status, body) = call(&api, ApiRequest::new("GET", "/health"));
        assert_eq!((status, body), (200, json!({ "status": "ok" })));
    }

    #[test]
    fn every_answer_carries_the_handlers_own_time_and_when_it_began() {
        let api = api();
        for request in [as_a("GET", "/runs"), ApiRequest::new("GET", "/nowhere")] {
            let before = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs_f64()
                * 1000.0;
            let response = futures::executor::block_on(api.handle(request));
            let timing = &response.headers["server-timing"];
            let (app, start) = timing.split_once(", ").expect("two metrics");
            let millis = app
                .strip_prefix("app;dur=")
                .and_then(|d| d.parse::<f64>().ok());
            assert!(millis.is_some_and(|m| m >= 0.0), "{timing}");
            let began = start
                .strip_prefix("start;desc=")
                .and_then(|d| d.parse::<f64>().ok())
                .expect("a start time");
            assert!(
                (before - 0.1..before + 1_000.0).contains(&began),
                "{timing}"
            );
        }
    }

    #[test]
    fn a_key_removed_after_use_is_refused_at_once_on_every_route() {
        let api = api();
        let run_id = gate_run(&api);
        let status_read = || as_a("GET", &format!("/runs/{run_id}"));
        assert_eq!(call(&api, status_read()).0, 200);
        api.backend.state().keys.clear();
        for request in [status_read(), as_a("GET", "/runs")] {
            let (status, body) = call(&api, request);
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("unauthorized")),
                "{body}"
            );
        }
    }

    #[test]
    fn every_other_endpoint_needs_a_known_key() {
        let api = api();
        for (method, path) in [
            ("GET", "/runs"),
            ("POST", "/runs/start"),
            ("GET", "/runs/r1"),
            ("DELETE", "/runs/r1"),
            ("GET", "/runs/r1/timeline"),
            ("GET", "/runs/r1/logs"),
            ("GET", "/approvals"),
            ("POST", "/approvals/submit"),
            ("GET", "/agents"),
            ("GET", "/agents/copywriter"),
            ("POST", "/graphs/run"),
            ("POST", "/run-graph"),
            ("GET", "/metrics"),
            ("POST", "/runs/r1/view"),
            ("GET", "/runs/r1/steps/draft/trace"),
        ] {
            let (status, body) = call(&api, ApiRequest::new(method, path));
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("unauthorized")),
                "{method} {path}"
            );
            let unknown = ApiRequest::new(method, path).with_header("x-api-key", "sy_nobody");
            let (status, body) = call(&api, unknown);
            assert_eq!(
                (status, body["message"].as_str()),
                (401, Some("unknown API key"))
            );
        }
    }

    #[test]
    fn unknown_routes_wrong_methods_and_bad_json_are_4xx() {
        let api = api();
        assert_eq!(call(&api, as_a("GET", "/nowhere")).0, 404);
        assert_eq!(call(&api, as_a("PATCH", "/runs/r1")).0, 405);
        let (status, body) = call(
            &api,
            as_a("POST", "/runs/start").with_body("{\"workflow\": "),
        );
        assert_eq!(
            (status, body["error"].as_str(), body["field"].as_str()),
            (400, Some("malformed_json"), Some("body"))
        );
        let (status, body) = call(&api, as_a("GET", "/runs/r1").with_query("verbose=1"));
        assert_eq!((status, body["field"].as_str()), (400, Some("verbose")));
    }

    #[test]
    fn the_sweep_records_ends_that_happened_outside_and_leaves_live_runs() {
        let api = api();
        let (aborted, timed_out, live) = (gate_run(&api), gate_run(&api), gate_run(&api));
        {
            let mut state = api.backend.state();
            state.approvals.push(pending(&aborted, "tenant-a"));
            for (run, status) in [
                (&aborted, ExecutionStatus::Aborted),
                (&timed_out, ExecutionStatus::TimedOut),
            ] {
                let arn = state.runs[run].execution_arn.clone().expect("arn");
                state.executions.get_mut(&arn).expect("execution").status = status;
            }
        }
        let report = futures::executor::block_on(api.sweep()).expect("a sweep");
        assert_eq!(report.checked, 3);
        let mut reconciled = report.reconciled.clone();
        reconciled.sort();
        let mut expected = vec![aborted.clone(), timed_out.clone()];
        expected.sort();
        assert_eq!(reconciled, expected);
        let state = api.backend.state();
        assert_eq!(state.runs[&aborted].status, RunStatus::Cancelled);
        assert_eq!(state.runs[&timed_out].status, RunStatus::Failed);
        assert_eq!(state.runs[&live].status, RunStatus::Running);
        assert_eq!(state.approvals[0].status, ApprovalStatus::Expired);
    }

    #[test]
    fn a_failing_platform_is_503_never_a_panic() {
        let api = api();
        api.backend.state().unavailable = true;
        let (status, body) = call(&api, as_a("GET", "/runs"));
        assert_eq!((status, body["error"].as_str()), (503, Some("unavailable")));
    }
}
