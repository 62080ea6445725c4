//! The endpoints: authentication, tenant isolation, and what each answers.

use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};
use switchyard_lambda::summarize;
use switchyard_sdk::WorkflowRegistration;
use switchyard_state::now_ms;

use crate::backend::{
    ApprovalRecord, ApprovalStatus, Backend, Execution, ExecutionStatus, RunRecord, RunStatus,
    StepRecord, StepStatus,
};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::reconcile::{effective, expire_open_approvals, reconcile};
use crate::request::{self, encode_cursor};
use crate::route::{route, Route};
use crate::{keys, logs, timeline, AwsBackend};

/// How much of a run's input its record keeps (as the run-tracker does).
const SUMMARY_CHARS: usize = 1_000;
/// Log lines are searched from a little before a run starts to a little after it ends:
/// function clocks and log ingestion are not exact.
const LOG_WINDOW_SLACK_MS: u64 = 60_000;

pub struct Api<B = AwsBackend> {
    backend: B,
    workflows: Vec<&'static WorkflowRegistration>,
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

/// A run as `GET /runs/{id}` shows it.
#[derive(Serialize)]
struct RunView<'a> {
    run_id: &'a str,
    tenant_id: &'a str,
    workflow: &'a str,
    status: RunStatus,
    current_step: Option<&'a str>,
    created_at: u64,
    updated_at: Option<u64>,
    finished_at: Option<u64>,
    input_summary: Option<&'a str>,
    totals: Totals,
    steps: &'a [StepRecord],
    approvals: &'a [ApprovalRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Failure<'a>>,
    execution_arn: Option<&'a str>,
    links: Links,
}

/// One line of `GET /runs`.
#[derive(Serialize)]
struct RunSummary<'a> {
    run_id: &'a str,
    workflow: &'a str,
    status: RunStatus,
    current_step: Option<&'a str>,
    created_at: u64,
    finished_at: Option<u64>,
    totals: Totals,
    links: Links,
}

#[derive(Serialize)]
struct Totals {
    tokens_in: u64,
    tokens_out: u64,
    cost_usd: f64,
    step_attempts: u64,
}

impl Totals {
    fn of(run: &RunRecord) -> Totals {
        Totals {
            tokens_in: run.tokens_in,
            tokens_out: run.tokens_out,
            cost_usd: run.cost_usd,
            step_attempts: run.step_attempts,
        }
    }
}

#[derive(Serialize)]
struct Failure<'a> {
    error: Option<&'a str>,
    cause: Option<&'a str>,
}

#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: String,
    timeline: String,
    logs: String,
}

impl Links {
    fn of(run_id: &str) -> Links {
        Links {
            this: format!("/runs/{run_id}"),
            timeline: format!("/runs/{run_id}/timeline"),
            logs: format!("/runs/{run_id}/logs"),
        }
    }
}

/// The step a running run is at: an agent attempt in flight, else a gate waiting for a
/// person, else the last step that finished.
fn current_step<'a>(
    run: &'a RunRecord,
    steps: &'a [StepRecord],
    approvals: &'a [ApprovalRecord],
) -> Option<&'a str> {
    if run.status != RunStatus::Running {
        return run.current_step.as_deref();
    }
    steps
        .iter()
        .filter(|s| s.status == StepStatus::Running)
        .max_by_key(|s| s.started_at)
        .map(|s| s.step.as_str())
        .or_else(|| {
            approvals
                .iter()
                .find(|a| a.status == ApprovalStatus::Pending)
                .map(|a| a.gate.as_str())
        })
        .or(run.current_step.as_deref())
}

impl<B: Backend> Api<B> {
    pub fn new(backend: B) -> Api<B> {
        Api {
            backend,
            workflows: switchyard_sdk::workflows(),
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
        tracing::info!(
            method = %request.method,
            route = name,
            status = response.status,
            tenant_id = tenant.as_deref().unwrap_or("-"),
            latency_ms = started.elapsed().as_millis() as u64,
            "api request"
        );
        response
    }

    async fn dispatch(
        &self,
        route: Route<'_>,
        request: &ApiRequest,
        tenant_slot: &mut Option<String>,
    ) -> Result<ApiResponse, ApiError> {
        if route.needs_key() {
            *tenant_slot = Some(self.authenticate(request).await?);
        }
        let tenant = tenant_slot.as_deref().unwrap_or_default();
        match route {
            Route::Health => self.health().await,
            Route::StartRun => {
                request::query(&request.query, &[])?;
                self.start_run(request, tenant).await
            }
            Route::ListRuns => self.list_runs(request, tenant).await,
            Route::GetRun(run_id) => {
                request::query(&request.query, &[])?;
                self.get_run(run_id, tenant).await
            }
            Route::CancelRun(run_id) => {
                request::query(&request.query, &[])?;
                self.cancel_run(run_id, tenant).await
            }
            Route::Timeline(run_id) => self.timeline(request, run_id, tenant).await,
            Route::Logs(run_id) => self.logs(request, run_id, tenant).await,
            Route::ListApprovals => self.list_approvals(request, tenant).await,
            Route::SubmitApproval => {
                request::query(&request.query, &[])?;
                self.submit_approval(request, tenant).await
            }
        }
    }

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

    /// The tenant's run; another tenant's is as absent as one that never existed.
    async fn owned_run(&self, run_id: &str, tenant: &str) -> Result<RunRecord, ApiError> {
        match self.backend.run(run_id).await? {
            Some(run) if run.tenant_id == tenant => Ok(run),
            _ => Err(ApiError::NotFound(format!("no run `{run_id}`"))),
        }
    }

    /// The run's execution as Step Functions sees it; none for a run no execution backs
    /// or that was cancelled (its execution is stopped, or about to be).
    async fn execution_of(&self, run: &RunRecord) -> Result<Option<Execution>, ApiError> {
        match &run.execution_arn {
            Some(arn) if run.status != RunStatus::Cancelled => {
                Ok(self.backend.execution(arn).await?)
            }
            _ => Ok(None),
        }
    }

    async fn start_run(&self, request: &ApiRequest, tenant: &str) -> Result<ApiResponse, ApiError> {
        let start = request::start_run(&request.body, tenant, &self.workflows)?;
        let run_id = uuid::Uuid::new_v4().to_string();
        let execution_input = start.execution_input(tenant).to_string();
        let arn = self
            .backend
            .start_execution(start.workflow, &run_id, &execution_input)
            .await?;
        let mut record = RunRecord::started(&run_id, tenant, start.workflow, now_ms());
        record.input_summary = Some(summarize(&start.input, SUMMARY_CHARS));
        record.execution_arn = Some(arn);
        // Recording now makes the run visible at once; if it fails, the state machine's
        // own start record follows within a second, so the run is not refused for it.
        if let Err(e) = self.backend.record_started(&record).await {
            tracing::warn!(run_id = %run_id, error = %e, "run started but not recorded yet");
        }
        tracing::info!(run_id = %run_id, tenant_id = tenant, workflow = start.workflow, "run started");
        let links = Links::of(&run_id);
        Ok(ApiResponse::json(
            202,
            &json!({
                "run_id": run_id,
                "tenant_id": tenant,
                "workflow": start.workflow,
                "status": RunStatus::Running,
                "links": links,
            }),
        )
        .with_header("location", &links.this))
    }

    async fn get_run(&self, run_id: &str, tenant: &str) -> Result<ApiResponse, ApiError> {
        let run = self.owned_run(run_id, tenant).await?;
        let execution = self.execution_of(&run).await?;
        let run = effective(run, execution.as_ref());
        let (steps, mut approvals) = futures::try_join!(
            self.backend.steps(run_id),
            self.backend.approvals_of_run(run_id)
        )?;
        // An ended run waits for nobody, whether or not its records know yet.
        if run.status.is_finished() {
            for approval in approvals.iter_mut().filter(|a| a.status.is_open()) {
                approval.status = ApprovalStatus::Expired;
            }
        }
        approvals = approvals.into_iter().map(ApprovalRecord::public).collect();
        let output = execution
            .as_ref()
            .filter(|e| e.status == ExecutionStatus::Succeeded)
            .and_then(|e| e.output.as_deref())
            .map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())));
        let failure = (run.status == RunStatus::Failed).then_some(Failure {
            error: run.failure_error.as_deref(),
            cause: run.failure_cause.as_deref(),
        });
        let view = RunView {
            run_id: &run.run_id,
            tenant_id: &run.tenant_id,
            workflow: &run.workflow,
            status: run.status,
            current_step: current_step(&run, &steps, &approvals),
            created_at: run.created_at,
            updated_at: run.updated_at,
            finished_at: run.finished_at,
            input_summary: run.input_summary.as_deref(),
            totals: Totals::of(&run),
            steps: &steps,
            approvals: &approvals,
            output,
            failure,
            execution_arn: run.execution_arn.as_deref(),
            links: Links::of(&run.run_id),
        };
        Ok(ApiResponse::json(200, &view))
    }

    async fn list_runs(&self, request: &ApiRequest, tenant: &str) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["status", "workflow", "limit", "cursor"])?;
        let filter = request::run_filter(&params)?;
        let page = request::page(&params)?;
        let runs = self.backend.runs(tenant, &filter, &page).await?;
        let summaries: Vec<RunSummary> = runs
            .items
            .iter()
            .map(|run| RunSummary {
                run_id: &run.run_id,
                workflow: &run.workflow,
                status: run.status,
                current_step: run.current_step.as_deref(),
                created_at: run.created_at,
                finished_at: run.finished_at,
                totals: Totals::of(run),
                links: Links::of(&run.run_id),
            })
            .collect();
        Ok(ApiResponse::json(
            200,
            &json!({ "runs": summaries, "next_cursor": runs.next.as_ref().map(encode_cursor) }),
        ))
    }

    async fn cancel_run(&self, run_id: &str, tenant: &str) -> Result<ApiResponse, ApiError> {
        let run = self.owned_run(run_id, tenant).await?;
        let execution = self.execution_of(&run).await?;
        // A cancel writes anyway: first record an end the record missed.
        let run = reconcile(&self.backend, run, execution.as_ref()).await?;
        let run = effective(run, execution.as_ref());
        if run.status != RunStatus::Running {
            return Err(ApiError::NotRunning {
                run_id: run.run_id,
                status: run.status,
            });
        }
        // Stop first: a record marked cancelled over a live execution would be a lie the
        // run-tracker could never correct.
        if let (Some(arn), Some(_)) = (&run.execution_arn, &execution) {
            self.backend.stop_execution(arn).await?;
        }
        if !self.backend.cancel_run(run_id).await? {
            // It ended by itself just before the stop.
            let status = self
                .backend
                .run(run_id)
                .await?
                .map(|r| r.status)
                .unwrap_or(RunStatus::Cancelled);
            return Err(ApiError::NotRunning {
                run_id: run_id.to_owned(),
                status,
            });
        }
        expire_open_approvals(&self.backend, run_id).await?;
        tracing::info!(run_id, tenant_id = tenant, "run cancelled");
        Ok(ApiResponse::json(
            200,
            &json!({
                "run_id": run_id,
                "workflow": run.workflow,
                "status": RunStatus::Cancelled,
                "links": Links::of(run_id),
            }),
        ))
    }

    async fn timeline(
        &self,
        request: &ApiRequest,
        run_id: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["limit", "cursor"])?;
        let page = request::event_page(&params)?;
        let run = self.owned_run(run_id, tenant).await?;
        let history = match &run.execution_arn {
            Some(arn) => self.backend.history(arn).await?,
            None => Vec::new(),
        };
        let steps = self.backend.steps(run_id).await?;
        let (events, next) = page.cut(timeline::merge(history, &steps));
        Ok(ApiResponse::json(
            200,
            &json!({
                "run_id": run_id,
                "status": run.status,
                "events": events,
                "next_cursor": next,
            }),
        ))
    }

    async fn logs(
        &self,
        request: &ApiRequest,
        run_id: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["level", "step", "limit", "cursor"])?;
        let page = request::event_page(&params)?;
        let level = request::log_level(&params)?;
        let step = params.get("step").filter(|s| !s.is_empty());
        let run = self.owned_run(run_id, tenant).await?;
        let from = run.created_at.saturating_sub(LOG_WINDOW_SLACK_MS);
        let to = run.finished_at.unwrap_or_else(now_ms) + LOG_WINDOW_SLACK_MS;
        let events = self.backend.log_events(run_id, from, to).await?;
        let lines = logs::run_lines(events, run_id, level.as_deref(), step.map(String::as_str));
        let (lines, next) = page.cut(lines);
        Ok(ApiResponse::json(
            200,
            &json!({ "run_id": run_id, "lines": lines, "next_cursor": next }),
        ))
    }

    async fn list_approvals(
        &self,
        request: &ApiRequest,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["status", "limit", "cursor"])?;
        let status = request::approval_status(&params)?;
        let page = request::page(&params)?;
        let approvals = self
            .backend
            .approvals_of_tenant(tenant, status, &page)
            .await?;
        Ok(ApiResponse::json(
            200,
            &json!({
                "approvals": approvals.items.into_iter().map(ApprovalRecord::public).collect::<Vec<_>>(),
                "next_cursor": approvals.next.as_ref().map(encode_cursor),
            }),
        ))
    }

    async fn submit_approval(
        &self,
        request: &ApiRequest,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let key_hash = keys::hash_key(request::api_key(request)?);
        let decision = request::decision(&request.body, request::key_identity(tenant, &key_hash))?;
        let approval = self.backend.decide(&decision, tenant).await?;
        Ok(ApiResponse::json(200, &approval.public()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::backend::{HistoryItem, LogEvent};
    use crate::memory::{MemoryBackend, KEY_A, KEY_B};

    fn api() -> Api<MemoryBackend> {
        switchyard_agents::link();
        Api::new(MemoryBackend::new())
    }

    fn call(api: &Api<MemoryBackend>, request: ApiRequest) -> (u16, Value) {
        let response = futures::executor::block_on(api.handle(request));
        assert_eq!(response.headers["content-type"], "application/json");
        (response.status, response.json_body())
    }

    fn as_a(method: &str, path: &str) -> ApiRequest {
        ApiRequest::new(method, path).with_header("Authorization", &format!("Bearer {KEY_A}"))
    }

    fn as_b(method: &str, path: &str) -> ApiRequest {
        ApiRequest::new(method, path).with_header("x-api-key", KEY_B)
    }

    fn start(api: &Api<MemoryBackend>, body: Value) -> String {
        let (status, answer) = call(api, as_a("POST", "/runs/start").with_body(body.to_string()));
        assert_eq!(status, 202, "{answer}");
        answer["run_id"].as_str().expect("a run id").to_owned()
    }

    fn gate_run(api: &Api<MemoryBackend>) -> String {
        start(
            api,
            json!({ "workflow": "gate-test", "input": { "topic": "t" } }),
        )
    }

    fn arn(api: &Api<MemoryBackend>, run_id: &str) -> String {
        api.backend.state().runs[run_id]
            .execution_arn
            .clone()
            .expect("an execution")
    }

    fn pending(run_id: &str, tenant: &str) -> ApprovalRecord {
        ApprovalRecord {
            request_id: format!("req-{run_id}"),
            run_id: run_id.into(),
            tenant_id: tenant.into(),
            gate: "ask".into(),
            status: ApprovalStatus::Pending,
            created_at: 1,
            links: BTreeMap::from([("approve".into(), "https://cb/approve".into())]),
            ..ApprovalRecord::default()
        }
    }

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
    fn a_start_runs_the_execution_as_the_keys_tenant() {
        let api = api();
        let (status, body) = call(
            &api,
            as_a("POST", "/runs/start").with_body(
                json!({ "brand_id": "acme", "selected_month": "2024-11", "tenant_id": "tenant-a", "auto_approve": false })
                    .to_string(),
            ),
        );
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["workflow"], "campaign-creation");
        assert_eq!(body["status"], "running");
        let run_id = body["run_id"].as_str().expect("run id");
        assert_eq!(body["links"]["self"], format!("/runs/{run_id}"));
        let state = api.backend.state();
        let (workflow, name, input) = &state.started[0];
        assert_eq!(
            (workflow.as_str(), name.as_str()),
            ("campaign-creation", run_id)
        );
        assert_eq!(
            serde_json::from_str::<Value>(input).expect("json"),
            json!({ "input": { "brand_id": "acme", "selected_month": "2024-11" }, "tenant_id": "tenant-a", "auto_approve": false })
        );
        let record = &state.runs[run_id];
        assert_eq!(
            (record.tenant_id.as_str(), record.status.as_str()),
            ("tenant-a", "running")
        );
    }

    #[test]
    fn start_refusals_are_400_403_and_404() {
        let api = api();
        let (status, body) = call(
            &api,
            as_a("POST", "/runs/start").with_body(
                json!({ "brand_id": "acme", "selected_month": "2024-11", "tenant_id": "tenant-b" })
                    .to_string(),
            ),
        );
        assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
        let (status, body) = call(
            &api,
            as_a("POST", "/runs/start").with_body(
                json!({ "workflow": "self-test", "input": { "fail_times": "two", "numbers": [] } })
                    .to_string(),
            ),
        );
        assert_eq!(
            (status, body["error"].as_str(), body["field"].as_str()),
            (400, Some("invalid_input"), Some("input.fail_times"))
        );
        api.backend.state().deployed.clear();
        let (status, body) = call(
            &api,
            as_a("POST", "/runs/start").with_body(
                json!({ "workflow": "gate-test", "input": { "topic": "t" } }).to_string(),
            ),
        );
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("workflow_not_deployed"))
        );
        assert!(api.backend.state().started.is_empty());
    }

    #[test]
    fn a_run_shows_steps_totals_and_pending_approvals_to_its_tenant_only() {
        let api = api();
        let run_id = gate_run(&api);
        {
            let mut state = api.backend.state();
            state.approvals.push(pending(&run_id, "tenant-a"));
            let run = state.runs.get_mut(&run_id).expect("recorded");
            run.tokens_in = 10;
            run.cost_usd = 0.5;
            state.steps.push((
                run_id.clone(),
                StepRecord {
                    step: "ask".into(),
                    status: StepStatus::Succeeded,
                    latency_ms: Some(12),
                    model: Some("embedded".into()),
                    ..StepRecord::default()
                },
            ));
        }
        let (status, body) = call(&api, as_a("GET", &format!("/runs/{run_id}")));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "running");
        assert_eq!(body["current_step"], "ask");
        assert_eq!(body["totals"]["tokens_in"], 10);
        assert_eq!(body["totals"]["cost_usd"], 0.5);
        assert_eq!(body["steps"][0]["latency_ms"], 12);
        assert_eq!(body["steps"][0]["model"], "embedded");
        assert_eq!(
            body["approvals"][0]["links"]["approve"],
            "https://cb/approve"
        );
        assert!(body.get("output").is_none());
        for path in [
            format!("/runs/{run_id}"),
            format!("/runs/{run_id}/timeline"),
            format!("/runs/{run_id}/logs"),
        ] {
            let (status, other) = call(&api, as_b("GET", &path));
            assert_eq!(status, 404, "{path}");
            let (_, missing) = call(&api, as_b("GET", "/runs/never-existed"));
            assert_eq!(
                other["message"].as_str().map(|m| m.replace(&run_id, "ID")),
                missing["message"]
                    .as_str()
                    .map(|m| m.replace("never-existed", "ID"))
            );
        }
        assert_eq!(
            call(&api, as_b("DELETE", &format!("/runs/{run_id}"))).0,
            404
        );
        assert_eq!(api.backend.state().runs[&run_id].status, RunStatus::Running);
    }

    #[test]
    fn a_finished_run_shows_its_output_or_failure() {
        let api = api();
        let run_id = gate_run(&api);
        let arn = arn(&api, &run_id);
        {
            let mut state = api.backend.state();
            state.runs.get_mut(&run_id).expect("run").status = RunStatus::Succeeded;
            let execution = state.executions.get_mut(&arn).expect("execution");
            execution.status = ExecutionStatus::Succeeded;
            execution.output = Some(r#"{"path":"approved"}"#.into());
        }
        let (_, body) = call(&api, as_a("GET", &format!("/runs/{run_id}")));
        assert_eq!(body["output"], json!({ "path": "approved" }));
        let failed = gate_run(&api);
        {
            let mut state = api.backend.state();
            let run = state.runs.get_mut(&failed).expect("run");
            run.status = RunStatus::Failed;
            run.failure_error = Some("Agent.Permanent".into());
            run.failure_cause = Some("no".into());
            // The record says failed once the execution has ended too.
            let arn = run.execution_arn.clone().expect("arn");
            state.executions.get_mut(&arn).expect("execution").status = ExecutionStatus::Failed;
        }
        let (_, body) = call(&api, as_a("GET", &format!("/runs/{failed}")));
        assert_eq!(
            body["failure"],
            json!({ "error": "Agent.Permanent", "cause": "no" })
        );
    }

    #[test]
    fn a_run_stopped_or_timed_out_outside_shows_its_end_and_a_read_writes_nothing() {
        let api = api();
        let aborted = gate_run(&api);
        let timed_out = gate_run(&api);
        {
            let mut state = api.backend.state();
            state.approvals.push(pending(&aborted, "tenant-a"));
            state.approvals.push(pending(&timed_out, "tenant-a"));
            let arn = state.runs[&aborted].execution_arn.clone().expect("arn");
            state.executions.get_mut(&arn).expect("execution").status = ExecutionStatus::Aborted;
            let arn = state.runs[&timed_out].execution_arn.clone().expect("arn");
            state.executions.get_mut(&arn).expect("execution").status = ExecutionStatus::TimedOut;
        }
        let (_, body) = call(&api, as_a("GET", &format!("/runs/{aborted}")));
        assert_eq!(body["status"], "cancelled");
        assert_eq!(body["approvals"][0]["status"], "expired");
        assert!(body["approvals"][0].get("links").is_none());
        let (_, body) = call(&api, as_a("GET", &format!("/runs/{timed_out}")));
        assert_eq!(body["status"], "failed");
        assert_eq!(body["failure"]["error"], "States.Timeout");
        assert_eq!(body["approvals"][0]["status"], "expired");
        // Reads never write: the records are as they were.
        let state = api.backend.state();
        for run in [&aborted, &timed_out] {
            assert_eq!(state.runs[run].status, RunStatus::Running);
        }
        assert!(state
            .approvals
            .iter()
            .all(|a| a.status == ApprovalStatus::Pending));
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
    fn cancelling_expires_a_decision_that_never_reached_the_run() {
        let api = api();
        let run_id = gate_run(&api);
        api.backend.state().approvals.push(ApprovalRecord {
            status: ApprovalStatus::Deciding,
            decision: Some("approve".into()),
            decided_by: Some("ada".into()),
            ..pending(&run_id, "tenant-a")
        });
        let (status, _) = call(&api, as_a("DELETE", &format!("/runs/{run_id}")));
        assert_eq!(status, 200);
        assert_eq!(
            api.backend.state().approvals[0].status,
            ApprovalStatus::Expired
        );
    }

    #[test]
    fn cancelling_stops_the_execution_once() {
        let api = api();
        let run_id = gate_run(&api);
        api.backend
            .state()
            .approvals
            .push(pending(&run_id, "tenant-a"));
        let execution = arn(&api, &run_id);
        let (status, body) = call(&api, as_a("DELETE", &format!("/runs/{run_id}")));
        assert_eq!((status, body["status"].as_str()), (200, Some("cancelled")));
        {
            let state = api.backend.state();
            assert_eq!(state.stopped, [execution]);
            assert_eq!(state.runs[&run_id].status, RunStatus::Cancelled);
            assert_eq!(state.approvals[0].status, ApprovalStatus::Expired);
        }
        let (status, body) = call(&api, as_a("DELETE", &format!("/runs/{run_id}")));
        assert_eq!(
            (status, body["error"].as_str(), body["status"].as_str()),
            (409, Some("not_running"), Some("cancelled"))
        );
    }

    #[test]
    fn listing_is_per_tenant_newest_first_filtered_and_paged() {
        let api = api();
        {
            let mut state = api.backend.state();
            for (i, (tenant, workflow, status)) in [
                ("tenant-a", "gate-test", "running"),
                ("tenant-a", "self-test", "succeeded"),
                ("tenant-b", "gate-test", "running"),
                ("tenant-a", "gate-test", "failed"),
                ("tenant-a", "gate-test", "running"),
            ]
            .into_iter()
            .enumerate()
            {
                let run_id = format!("run-{i}");
                state.runs.insert(
                    run_id.clone(),
                    RunRecord {
                        run_id,
                        tenant_id: tenant.into(),
                        workflow: workflow.into(),
                        status: status.parse().expect("a run status"),
                        created_at: 1_000 + i as u64,
                        ..RunRecord::default()
                    },
                );
            }
        }
        let ids = |body: &Value| -> Vec<String> {
            body["runs"]
                .as_array()
                .expect("runs")
                .iter()
                .map(|r| r["run_id"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let (_, body) = call(&api, as_a("GET", "/runs"));
        assert_eq!(ids(&body), ["run-4", "run-3", "run-1", "run-0"]);
        assert!(body["next_cursor"].is_null());
        let (_, body) = call(
            &api,
            as_a("GET", "/runs").with_query("workflow=gate-test&status=running"),
        );
        assert_eq!(ids(&body), ["run-4", "run-0"]);
        let (_, first) = call(&api, as_a("GET", "/runs").with_query("limit=2"));
        assert_eq!(ids(&first), ["run-4", "run-3"]);
        let cursor = first["next_cursor"].as_str().expect("more");
        let (_, second) = call(
            &api,
            as_a("GET", "/runs").with_query(&format!("limit=2&cursor={cursor}")),
        );
        assert_eq!(ids(&second), ["run-1", "run-0"]);
        assert!(second["next_cursor"].is_null());
        let (_, b) = call(&api, as_b("GET", "/runs"));
        assert_eq!(ids(&b), ["run-2"]);
    }

    #[test]
    fn the_timeline_merges_history_and_attempts() {
        let api = api();
        let run_id = gate_run(&api);
        let arn = arn(&api, &run_id);
        {
            let mut state = api.backend.state();
            state.history.insert(
                arn,
                vec![
                    HistoryItem {
                        id: 1,
                        at: 10,
                        kind: "ExecutionStarted".into(),
                        ..HistoryItem::default()
                    },
                    HistoryItem {
                        id: 2,
                        at: 30,
                        kind: "TaskStateExited".into(),
                        state: Some("approved".into()),
                        ..HistoryItem::default()
                    },
                ],
            );
            state.steps.push((
                run_id.clone(),
                StepRecord {
                    step: "approved".into(),
                    status: StepStatus::Succeeded,
                    started_at: 20,
                    finished_at: Some(25),
                    ..StepRecord::default()
                },
            ));
        }
        let (status, body) = call(&api, as_a("GET", &format!("/runs/{run_id}/timeline")));
        assert_eq!(status, 200);
        let kinds: Vec<&str> = body["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["type"].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "ExecutionStarted",
                "AgentAttemptStarted",
                "AgentAttemptSucceeded",
                "TaskStateExited"
            ]
        );
    }

    #[test]
    fn logs_are_the_runs_lines_filtered() {
        let api = api();
        let run_id = gate_run(&api);
        let now = now_ms();
        api.backend.state().logs = vec![
            LogEvent { function: "switchyard-on-approved".into(), at: now, message: json!({ "level": "INFO", "run_id": run_id, "step": "approved", "message": "agent started" }).to_string() },
            LogEvent { function: "switchyard-on-approved".into(), at: now, message: json!({ "level": "ERROR", "run_id": run_id, "step": "approved", "message": "agent failed" }).to_string() },
        ];
        let (status, body) = call(
            &api,
            as_a("GET", &format!("/runs/{run_id}/logs")).with_query("level=warn&step=approved"),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["lines"].as_array().map(Vec::len), Some(1));
        assert_eq!(body["lines"][0]["message"], "agent failed");
        let (status, body) = call(
            &api,
            as_a("GET", &format!("/runs/{run_id}/logs")).with_query("level=chatty"),
        );
        assert_eq!((status, body["field"].as_str()), (400, Some("level")));
    }

    #[test]
    fn approvals_are_listed_and_decided_per_tenant() {
        let api = api();
        {
            let mut state = api.backend.state();
            state.approvals.push(pending("run-a", "tenant-a"));
            state.approvals.push(pending("run-b", "tenant-b"));
        }
        let (_, body) = call(&api, as_a("GET", "/approvals").with_query("status=pending"));
        let listed: Vec<&str> = body["approvals"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|a| a["request_id"].as_str())
            .collect();
        assert_eq!(listed, ["req-run-a"]);
        // The task token that resumes the run never leaves the store.
        assert!(body["approvals"][0].get("task_token").is_none());
        let submit = |who: ApiRequest, id: &str| {
            call(
                &api,
                who.with_body(json!({ "request_id": id, "decision": "approve" }).to_string()),
            )
        };
        let (status, body) = submit(as_a("POST", "/approvals/submit"), "req-run-b");
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
        let (status, body) = submit(as_a("POST", "/approvals/submit"), "req-run-a");
        let identity = request::key_identity("tenant-a", &keys::hash_key(KEY_A));
        assert_eq!(
            (status, body["status"].as_str(), body["decided_by"].as_str()),
            (200, Some("approved"), Some(identity.as_str()))
        );
        let (status, body) = submit(as_a("POST", "/approvals/submit"), "req-run-a");
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("already_decided"))
        );
        let (status, body) = call(
            &api,
            as_a("POST", "/approvals/submit").with_body("{\"request_id\": \"x\"}"),
        );
        assert_eq!((status, body["field"].as_str()), (400, Some("decision")));
    }

    #[test]
    fn a_failing_platform_is_503_never_a_panic() {
        let api = api();
        api.backend.state().unavailable = true;
        let (status, body) = call(&api, as_a("GET", "/runs"));
        assert_eq!((status, body["error"].as_str()), (503, Some("unavailable")));
    }
}
