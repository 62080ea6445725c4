//! `/runs`: start a run, read one, list them, pause, resume or cancel one.

use serde_json::json;
use switchyard_lambda::summarize;
use switchyard_state::{now_ms, Budget};

use super::Api;
use crate::backend::{
    ApprovalRecord, ApprovalStatus, Backend, Execution, ParkedRecord, RunRecord, RunStatus,
};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::reconcile::{effective, expire_open_approvals, reconcile};
use crate::request::{self, encode_cursor};
use crate::views::{Links, RunSummary, RunView};

/// How much of a run's input its record keeps (as the run-tracker does).
const SUMMARY_CHARS: usize = 1_000;

impl<B: Backend> Api<B> {
    /// The tenant's run; another tenant's is as absent as one that never existed.
    pub(super) async fn owned_run(
        &self,
        run_id: &str,
        tenant: &str,
    ) -> Result<RunRecord, ApiError> {
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

    pub(super) async fn start_run(
        &self,
        request: &ApiRequest,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let start = request::start_run(&request.body, tenant, &self.workflows)?;
        let execution_input = start.execution_input(tenant).to_json();
        let budget = self.budget_of(start.workflow, start.budget);
        let run_id = self
            .launch(
                start.workflow,
                &execution_input,
                &start.input,
                tenant,
                budget,
            )
            .await?;
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

    /// A run's approval requests as clients see them (a workflow without gates costs no
    /// read): an ended run waits for nobody, whether or not its requests' records know yet,
    /// and only pending requests show their links.
    pub(super) async fn shown_approvals(
        &self,
        run: &RunRecord,
    ) -> Result<Vec<ApprovalRecord>, ApiError> {
        if !self.gated.contains(run.workflow.as_str()) {
            return Ok(Vec::new());
        }
        let mut approvals = self.backend.approvals_of_run(&run.run_id).await?;
        if run.status.is_finished() {
            for approval in approvals.iter_mut().filter(|a| a.status.is_open()) {
                approval.status = ApprovalStatus::Expired;
            }
        }
        Ok(approvals.into_iter().map(ApprovalRecord::public).collect())
    }

    /// The steps waiting at their boundary; only a paused run has any, so a running one
    /// costs no read.
    pub(super) async fn parked(
        &self,
        run: &RunRecord,
    ) -> Result<Option<Vec<ParkedRecord>>, ApiError> {
        if run.status != RunStatus::Paused {
            return Ok(None);
        }
        Ok(Some(self.backend.parked_steps(&run.run_id).await?))
    }

    /// A run's budget: its workflow's declared one, with each limit `given` at its start
    /// replacing the declared one.
    pub(super) fn budget_of(&self, workflow: &str, given: Option<Budget>) -> Option<Budget> {
        match (self.budgets.get(workflow), given) {
            (Some(declared), Some(given)) => Some(declared.overridden_by(given)),
            (declared, given) => given.or(declared.copied()),
        }
    }

    /// Records the run (with its `budget`) and starts `workflow`'s execution; its id. The
    /// record comes first, with the ARN its execution will have: every agent's first read
    /// finds it (its budget, whether it is paused), the start call's own write is done
    /// before the execution's first state, and nothing is left to write once it runs. If
    /// the start then fails, the record is removed and the caller is told nothing runs.
    /// (Status-change events report only ends: this write is the run's start record.)
    pub(super) async fn launch(
        &self,
        workflow: &str,
        execution_input: &str,
        input: &serde_json::Value,
        tenant: &str,
        budget: Option<Budget>,
    ) -> Result<String, ApiError> {
        let run_id = uuid::Uuid::new_v4().to_string();
        let mut record = RunRecord::started(&run_id, tenant, workflow, now_ms());
        record.input_summary = Some(summarize(input, SUMMARY_CHARS));
        record.budget = budget;
        record.execution_arn = Some(self.backend.execution_arn(workflow, &run_id));
        self.backend.record_started(&record).await?;
        match self
            .backend
            .start_execution(workflow, &run_id, execution_input)
            .await
        {
            Ok(arn) if record.execution_arn.as_deref() == Some(arn.as_str()) => Ok(run_id),
            Ok(arn) => {
                // Not the name Step Functions gives executions: keep the one it gave. The run
                // runs and is recorded either way, so the caller gets its id.
                tracing::warn!(run_id = %run_id, expected = ?record.execution_arn, execution_arn = %arn, "execution ARN is not the expected one");
                record.execution_arn = Some(arn);
                if let Err(e) = self.backend.record_started(&record).await {
                    tracing::error!(run_id = %run_id, error = %e, "could not record the execution's ARN");
                }
                Ok(run_id)
            }
            Err(e) => {
                if let Err(discard) = self.backend.discard_run(&run_id).await {
                    tracing::error!(run_id = %run_id, error = %discard, "could not remove the record of a run that did not start");
                }
                Err(e.into())
            }
        }
    }

    /// A run from its records alone: the caller's key and the run's item (one `BatchGetItem`)
    /// beside its attempts (one `Query`), two reads at once (then its approvals, for a
    /// workflow with gates, and its parked steps, for a paused run). Nothing read
    /// is answered before the key is known and is the run's tenant's: a bad key is a 401
    /// whatever the run. Step Functions is not asked: the run's start is the start call's
    /// write and its end reaches the record from the execution's status-change event.
    pub(super) async fn get_run(
        &self,
        run_id: &str,
        request: &ApiRequest,
        tenant_slot: &mut Option<String>,
    ) -> Result<ApiResponse, ApiError> {
        let key_hash = crate::keys::hash_key(request::api_key(request)?);
        let (run_and_tenant, steps) = futures::join!(
            self.backend.run_and_tenant_of_key(run_id, &key_hash),
            self.backend.steps(run_id)
        );
        let (run, tenant) = run_and_tenant?;
        let tenant = tenant.ok_or(ApiError::Unauthorized("unknown API key"))?;
        *tenant_slot = Some(tenant.clone());
        let run = match run {
            Some(run) if run.tenant_id == tenant => run,
            _ => return Err(ApiError::NotFound(format!("no run `{run_id}`"))),
        };
        let steps = steps?;
        let (approvals, parked) =
            futures::try_join!(self.shown_approvals(&run), self.parked(&run))?;
        let view = RunView::new(&run, &steps, &approvals, parked.as_deref());
        Ok(ApiResponse::json(200, &view))
    }

    pub(super) async fn list_runs(
        &self,
        request: &ApiRequest,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["status", "workflow", "limit", "cursor"])?;
        let filter = request::run_filter(&params)?;
        let page = request::page(&params)?;
        let runs = self.backend.runs(tenant, &filter, &page).await?;
        let summaries: Vec<RunSummary> = runs.items.iter().map(RunSummary::of).collect();
        Ok(ApiResponse::json(
            200,
            &json!({ "runs": summaries, "next_cursor": runs.next.as_ref().map(encode_cursor) }),
        ))
    }

    pub(super) async fn cancel_run(
        &self,
        run_id: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let run = self.owned_run(run_id, tenant).await?;
        let execution = self.execution_of(&run).await?;
        // A cancel writes anyway: first record an end the record missed.
        let run = reconcile(&self.backend, run, execution.as_ref()).await?;
        let run = effective(run, execution.as_ref());
        if !run.status.is_active() {
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
        // A stopped execution that waits (a gate, a parked step) stops now, not when its
        // wait would end; then nobody can decide its gates.
        let ended_waits = self.backend.end_waits(run_id).await?;
        expire_open_approvals(&self.backend, run_id).await?;
        tracing::info!(run_id, tenant_id = tenant, ended_waits, "run cancelled");
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

    /// Pauses a running run: from now on no agent starts (each step that reaches its
    /// boundary parks there); steps already running finish. Pausing a paused run changes
    /// nothing.
    pub(super) async fn pause_run(
        &self,
        run_id: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let (run, changed) = self.toggle(run_id, tenant, RunStatus::Paused).await?;
        if changed {
            tracing::info!(run_id, tenant_id = tenant, "run paused");
        }
        Ok(ApiResponse::json(
            200,
            &json!({
                "run_id": run_id,
                "workflow": run.workflow,
                "status": RunStatus::Paused,
                "links": Links::of(run_id),
            }),
        ))
    }

    /// Resumes a paused run: its parked steps go on where they stopped (nothing re-runs).
    /// Resuming a running run changes nothing but sends on any step an earlier resume could
    /// not.
    pub(super) async fn resume_run(
        &self,
        run_id: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let (run, changed) = self.toggle(run_id, tenant, RunStatus::Running).await?;
        // Recorded as running first, then the parked steps are taken: a step that parks
        // meanwhile sees the run running and goes on by itself. A running run's resume takes
        // them too: what an earlier resume could not send was put back for this one.
        let released = self.backend.release_parked(run_id).await?;
        if changed {
            tracing::info!(run_id, tenant_id = tenant, released, "run resumed");
        }
        Ok(ApiResponse::json(
            200,
            &json!({
                "run_id": run_id,
                "workflow": run.workflow,
                "status": RunStatus::Running,
                "released_steps": released,
                "links": Links::of(run_id),
            }),
        ))
    }

    /// Moves the tenant's active run to `to` (`paused` or `running`); `Ok((run, false))` if it
    /// was there already. An ended run, or one that ends meanwhile, is refused.
    async fn toggle(
        &self,
        run_id: &str,
        tenant: &str,
        to: RunStatus,
    ) -> Result<(RunRecord, bool), ApiError> {
        let run = self.owned_run(run_id, tenant).await?;
        if !run.status.is_active() {
            return Err(not_active(run));
        }
        if run.status == to {
            return Ok((run, false));
        }
        let changed = match to {
            RunStatus::Paused => self.backend.pause_run(run_id).await?,
            _ => self.backend.resume_run(run_id).await?,
        };
        if !changed {
            // It ended (or another call moved it) between the read and the write.
            let now = self.owned_run(run_id, tenant).await?;
            if !now.status.is_active() {
                return Err(not_active(now));
            }
        }
        Ok((run, changed))
    }
}

/// The refusal for a run that has ended.
fn not_active(run: RunRecord) -> ApiError {
    ApiError::NotRunning {
        run_id: run.run_id,
        status: run.status,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::api::fixtures::*;
    use crate::backend::{
        ApprovalRecord, ApprovalStatus, ExecutionStatus, ParkedRecord, RunRecord, RunStatus,
        StepRecord, StepStatus,
    };

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
            json!({
                "data": { "brand_id": "acme", "selected_month": "2024-11" },
                "meta": { "tenant_id": "tenant-a" },
                "auto_approve": false,
            })
        );
        let record = &state.runs[run_id];
        assert_eq!(
            (record.tenant_id.as_str(), record.status.as_str()),
            ("tenant-a", "running")
        );
    }

    #[test]
    fn a_run_keeps_its_workflows_budget_with_the_limits_its_start_gives_over_it() {
        let api = api();
        let self_test = json!({ "fail_times": 0, "numbers": [1] });
        let cases = [
            // self-test declares `budget(tokens = 100_000, usd = 1.0)`.
            (
                json!({ "workflow": "self-test", "input": self_test }),
                Some(json!({ "tokens": 100_000, "usd": 1.0 })),
            ),
            (
                json!({ "workflow": "self-test", "input": self_test, "budget": { "tokens": 50 } }),
                Some(json!({ "tokens": 50, "usd": 1.0 })),
            ),
            // gate-test declares none.
            (
                json!({ "workflow": "gate-test", "input": { "topic": "t" }, "budget": { "usd": 0.25 } }),
                Some(json!({ "usd": 0.25 })),
            ),
            (
                json!({ "workflow": "gate-test", "input": { "topic": "t" } }),
                None,
            ),
        ];
        for (body, expected) in cases {
            let run_id = start(&api, body.clone());
            let (status, view) = call(&api, as_a("GET", &format!("/runs/{run_id}")));
            assert_eq!(status, 200, "{view}");
            assert_eq!(view.get("budget"), expected.as_ref(), "{body}");
            // What it spent shows beside a budget, and only there.
            let spent = expected
                .as_ref()
                .map(|_| json!({ "tokens": 0, "usd": 0.0 }));
            assert_eq!(view.get("spent"), spent.as_ref(), "{body}");
        }
        // What agents add as they end shows in the view.
        let run_id = start(
            &api,
            json!({ "workflow": "gate-test", "input": { "topic": "t" }, "budget": { "tokens": 900 } }),
        );
        {
            let mut state = api.backend.state();
            let record = state.runs.get_mut(&run_id).expect("recorded");
            record.spent_tokens = 420;
            record.spent_usd = 0.03;
        }
        let (_, view) = call(&api, as_a("GET", &format!("/runs/{run_id}")));
        assert_eq!(view["spent"], json!({ "tokens": 420, "usd": 0.03 }));
        // A bad budget is refused before anything starts.
        let (status, body) = call(
            &api,
            as_a("POST", "/runs/start").with_body(
                json!({ "workflow": "self-test", "input": self_test, "budget": { "usd": -2 } })
                    .to_string(),
            ),
        );
        assert_eq!(
            (status, body["error"].as_str(), body["field"].as_str()),
            (400, Some("bad_request"), Some("budget.usd")),
            "{body}"
        );
    }

    #[test]
    fn a_run_is_recorded_before_it_starts_and_leaves_no_record_if_it_cannot() {
        let api = api();
        let body = json!({ "workflow": "gate-test", "input": { "topic": "t" }, "budget": { "tokens": 900 } });
        let run_id = start(&api, body.clone());
        {
            let state = api.backend.state();
            let record = &state.runs[&run_id];
            // Recorded first, with the ARN its execution then got.
            assert_eq!(
                record.execution_arn.as_deref(),
                Some(format!("arn:execution:gate-test:{run_id}").as_str())
            );
            assert_eq!(record.status.as_str(), "running");
        }
        api.backend.state().deployed.retain(|w| w != "gate-test");
        let (status, answer) = call(
            &api,
            as_a("POST", "/runs/start").with_body(body.to_string()),
        );
        assert_eq!(status, 404, "{answer}");
        let state = api.backend.state();
        let unstarted: Vec<_> = state.runs.values().filter(|r| r.run_id != run_id).collect();
        assert!(unstarted.is_empty(), "{unstarted:?}");
        assert_eq!(state.started.len(), 1, "{:?}", state.started);
    }

    #[test]
    fn a_run_that_cannot_be_recorded_is_not_started() {
        let api = api();
        api.backend.state().records_unavailable = true;
        let (status, body) = call(
            &api,
            as_a("POST", "/runs/start").with_body(
                json!({ "workflow": "gate-test", "input": { "topic": "t" } }).to_string(),
            ),
        );
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("unavailable")),
            "{body}"
        );
        let state = api.backend.state();
        assert!(state.started.is_empty(), "{:?}", state.started);
        assert!(state.stopped.is_empty(), "{:?}", state.stopped);
        assert!(state.runs.is_empty());
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
            for (tokens, cost) in [(4, 0.25), (6, 0.25)] {
                state.steps.push((
                    run_id.clone(),
                    StepRecord {
                        step: "draft".into(),
                        status: StepStatus::Succeeded,
                        latency_ms: Some(12),
                        model: Some("embedded".into()),
                        tokens_in: tokens,
                        cost_usd: cost,
                        model_calls: 3,
                        cache_hits: 1,
                        tokens_saved: 40,
                        cost_saved_usd: 0.125,
                        ..StepRecord::default()
                    },
                ));
            }
        }
        let (status, body) = call(&api, as_a("GET", &format!("/runs/{run_id}")));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "running");
        // No attempt in flight: the run is at its pending gate.
        assert_eq!(body["current_step"], "ask");
        assert_eq!(body["current_steps"], json!(["ask"]));
        // Totals are the sum of the attempts' records.
        assert_eq!(body["totals"]["tokens_in"], 10);
        assert_eq!(body["totals"]["cost_usd"], 0.5);
        assert_eq!(body["totals"]["step_attempts"], 2);
        assert_eq!(body["steps"][0]["latency_ms"], 12);
        assert_eq!(body["steps"][0]["model"], "embedded");
        // What each attempt asked the model, and what the response cache saved it.
        assert_eq!(
            (
                &body["steps"][0]["model_calls"],
                &body["steps"][0]["cache_hits"],
                &body["steps"][0]["tokens_saved"],
                &body["steps"][0]["cost_saved_usd"]
            ),
            (&json!(3), &json!(1), &json!(40), &json!(0.125))
        );
        assert_eq!(
            body["approvals"][0]["links"]["approve"],
            "https://cb/approve"
        );
        // The gate's declared summary, as the approval-request function stored it.
        assert_eq!(
            body["approvals"][0]["summary_fields"],
            json!([{ "label": "Total", "value": "12.5" }])
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
            let run = state.runs.get_mut(&run_id).expect("run");
            run.status = RunStatus::Succeeded;
            run.output = Some(r#"{"path":"approved"}"#.into());
            state.executions.get_mut(&arn).expect("execution").status = ExecutionStatus::Succeeded;
        }
        let (_, body) = call(&api, as_a("GET", &format!("/runs/{run_id}")));
        assert_eq!(body["output"], json!({ "path": "approved" }));
        // The output came from the run's record: Step Functions was not asked.
        assert!(api.backend.state().described.is_empty());
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
    fn a_read_asks_the_records_alone_and_writes_nothing() {
        let api = api();
        let aborted = gate_run(&api);
        let ended = gate_run(&api);
        {
            let mut state = api.backend.state();
            state.approvals.push(pending(&aborted, "tenant-a"));
            state.approvals.push(pending(&ended, "tenant-a"));
            // The execution was stopped, and its status-change event is still on its way.
            let arn = state.runs[&aborted].execution_arn.clone().expect("arn");
            state.executions.get_mut(&arn).expect("execution").status = ExecutionStatus::Aborted;
            // This one's end is recorded; its approval's record does not know yet.
            state.runs.get_mut(&ended).expect("run").status = RunStatus::Failed;
        }
        let (_, body) = call(&api, as_a("GET", &format!("/runs/{aborted}")));
        assert_eq!(body["status"], "running");
        let (_, body) = call(&api, as_a("GET", &format!("/runs/{ended}")));
        assert_eq!(body["status"], "failed");
        // An ended run waits for nobody.
        assert_eq!(body["approvals"][0]["status"], "expired");
        assert!(body["approvals"][0].get("links").is_none());
        let state = api.backend.state();
        assert!(state.described.is_empty(), "{:?}", state.described);
        assert_eq!(state.runs[&aborted].status, RunStatus::Running);
        assert!(state
            .approvals
            .iter()
            .all(|a| a.status == ApprovalStatus::Pending));
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
    fn pause_then_resume_lets_the_parked_steps_go_on_once() {
        let api = api();
        let run_id = gate_run(&api);
        let path = |verb: &str| format!("/runs/{run_id}/{verb}");
        // Another tenant can neither pause nor resume it.
        let (status, _) = call(&api, as_b("POST", &path("pause")));
        assert_eq!(status, 404);
        let (status, body) = call(&api, as_a("POST", &path("pause")));
        assert_eq!((status, body["status"].as_str()), (200, Some("paused")));
        // Pausing again changes nothing.
        let (status, _) = call(&api, as_a("POST", &path("pause")));
        assert_eq!(status, 200);
        assert_eq!(api.backend.state().runs[&run_id].paused_at.len(), 1);
        // A step reached its boundary and parked; the view shows it, and the status.
        api.backend.state().parked.push(ParkedRecord {
            run_id: run_id.clone(),
            park_key: ParkedRecord::key_of("square_one", Some(2)),
            step: "square_one".into(),
            item: Some(2),
            tenant_id: "tenant-a".into(),
            parked_at: 7,
        });
        let (_, view) = call(&api, as_a("GET", &format!("/runs/{run_id}")));
        assert_eq!(view["status"], "paused");
        assert_eq!(
            view["parked"],
            json!([{ "step": "square_one", "item": 2, "parked_at": 7 }])
        );
        let (_, listed) = call(&api, as_a("GET", "/runs").with_query("status=paused"));
        assert_eq!(listed["runs"][0]["run_id"], json!(run_id));
        let (status, body) = call(&api, as_a("POST", &path("resume")));
        assert_eq!(
            (
                status,
                body["status"].as_str(),
                body["released_steps"].as_u64()
            ),
            (200, Some("running"), Some(1))
        );
        {
            let state = api.backend.state();
            assert_eq!(state.released, ["square_one#00002"]);
            assert!(state.parked.is_empty());
            assert_eq!(state.runs[&run_id].resumed_at.len(), 1);
        }
        // Resuming a running run changes nothing and releases nothing more.
        let (status, body) = call(&api, as_a("POST", &path("resume")));
        assert_eq!((status, body["released_steps"].as_u64()), (200, Some(0)));
        let (_, view) = call(&api, as_a("GET", &format!("/runs/{run_id}")));
        assert!(view.get("parked").is_none(), "{view}");
    }

    #[test]
    fn a_paused_run_can_be_cancelled_and_its_waits_are_ended() {
        let api = api();
        let run_id = gate_run(&api);
        api.backend
            .state()
            .approvals
            .push(pending(&run_id, "tenant-a"));
        let (status, _) = call(&api, as_a("POST", &format!("/runs/{run_id}/pause")));
        assert_eq!(status, 200);
        let (status, body) = call(&api, as_a("POST", &format!("/runs/{run_id}/cancel")));
        assert_eq!((status, body["status"].as_str()), (200, Some("cancelled")));
        {
            let state = api.backend.state();
            assert_eq!(state.waits_ended, std::slice::from_ref(&run_id));
            assert_eq!(state.runs[&run_id].status, RunStatus::Cancelled);
            assert_eq!(state.approvals[0].status, ApprovalStatus::Expired);
        }
        // An ended run can be neither paused nor resumed.
        for verb in ["pause", "resume"] {
            let (status, body) = call(&api, as_a("POST", &format!("/runs/{run_id}/{verb}")));
            assert_eq!(
                (status, body["error"].as_str(), body["status"].as_str()),
                (409, Some("not_running"), Some("cancelled")),
                "{verb}"
            );
        }
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
}
