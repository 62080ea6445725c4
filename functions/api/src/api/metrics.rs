//! `/metrics`: how the caller's workflows, agents and approval gates did over a recent
//! window — completion and failure rates, execution times, agent success rates, approval
//! turnaround. Every figure comes from the tenant's own records, read in parallel: the runs
//! started in the window (the runs table's `by-tenant` index), the agents' attempts started
//! in it (the registry's health, [`super::agents`]), and the approval requests made in it.
//! The reads are bounded; `truncated` says when the window held more than was read.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::json;
use switchyard_state::now_ms;

use super::agents::{window_minutes, CacheFigures, Health};
use super::stats::nearest_rank;
use super::Api;
use crate::backend::{ApprovalOutcome, ApprovalStatus, Backend, RunOutcome, RunStatus};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::request;

/// The window when the request names none: the last hour.
pub const DEFAULT_WINDOW_MINUTES: u64 = 60;
/// The longest window: 30 days.
pub const MAX_WINDOW_MINUTES: u64 = 30 * 24 * 60;
/// Runs read, newest first; the figures say when the window held more.
pub const MAX_RUNS: usize = 5_000;
/// Approval requests read, newest first.
pub const MAX_APPROVALS: usize = 5_000;

#[derive(Debug, PartialEq, Serialize)]
pub struct Window {
    /// Epoch milliseconds.
    from_ms: u64,
    to_ms: u64,
    minutes: u64,
}

/// One workflow's runs started in the window, as they stand now.
#[derive(Debug, PartialEq, Serialize)]
pub struct WorkflowFigures {
    workflow: String,
    runs_started: usize,
    /// How many are in each status, every status named (`succeeded`, `failed`, ...).
    #[serde(flatten)]
    by_status: BTreeMap<&'static str, usize>,
    /// Runs that left `running` (however they ended).
    ended: usize,
    /// Succeeded over ended; `null` before any ended.
    completion_rate: Option<f64>,
    /// Failed over ended.
    failure_rate: Option<f64>,
    /// Failed runs by the error they failed with.
    failures_by_error: BTreeMap<String, usize>,
    /// From start to end, over ended runs.
    execution_ms: Option<ExecutionTime>,
    /// What the ended runs used (a run's totals are recorded at its end).
    tokens_in: u64,
    tokens_out: u64,
    cost_usd: f64,
    /// Model exchanges of its attempts that started in the window, and what the response
    /// cache answered and saved.
    #[serde(flatten)]
    cache: CacheFigures,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct ExecutionTime {
    mean: u64,
    p95: u64,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct Turnaround {
    p50: u64,
    p95: u64,
}

impl WorkflowFigures {
    pub fn of(workflow: &str, runs: &[&RunOutcome]) -> WorkflowFigures {
        let mut counts: HashMap<RunStatus, usize> = HashMap::new();
        let mut failures_by_error = BTreeMap::new();
        let mut durations = Vec::new();
        let (mut tokens_in, mut tokens_out, mut cost_usd) = (0, 0, 0.0);
        for run in runs {
            *counts.entry(run.status).or_default() += 1;
            if run.status == RunStatus::Failed {
                let error = run.failure_error.as_deref().unwrap_or("unknown");
                *failures_by_error.entry(error.to_owned()).or_default() += 1;
            }
            durations.extend(run.duration_ms());
            tokens_in += run.tokens_in;
            tokens_out += run.tokens_out;
            cost_usd += run.cost_usd;
        }
        let count = |status: RunStatus| counts.get(&status).copied().unwrap_or_default();
        let ended: usize = RunStatus::ALL
            .iter()
            .filter(|s| s.is_finished())
            .map(|&s| count(s))
            .sum();
        let rate = |n: usize| (ended > 0).then(|| n as f64 / ended as f64);
        durations.sort_unstable();
        WorkflowFigures {
            workflow: workflow.to_owned(),
            runs_started: runs.len(),
            by_status: RunStatus::ALL
                .iter()
                .map(|&s| (s.as_str(), count(s)))
                .collect(),
            ended,
            completion_rate: rate(count(RunStatus::Succeeded)),
            failure_rate: rate(count(RunStatus::Failed)),
            failures_by_error,
            execution_ms: (!durations.is_empty()).then(|| ExecutionTime {
                mean: (durations.iter().sum::<u64>() as f64 / durations.len() as f64).round()
                    as u64,
                p95: nearest_rank(&durations, 95),
            }),
            tokens_in,
            tokens_out,
            // Sums of prices in floating point: keep what a bill shows.
            cost_usd: (cost_usd * 1e9).round() / 1e9,
            cache: CacheFigures::default(),
        }
    }
}

/// Approval requests made in the window, as they stand now.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct ApprovalFigures {
    requested: usize,
    /// Decided and delivered to the run: `approved` and `rejected`.
    decided: usize,
    approved: usize,
    rejected: usize,
    expired: usize,
    /// Still open: waiting for a decision, or decided but the run not resumed yet.
    pending: usize,
    /// From request to decision, over decided requests (recorded in whole seconds).
    turnaround_ms: Option<Turnaround>,
}

impl ApprovalFigures {
    pub fn of(requests: &[&ApprovalOutcome]) -> ApprovalFigures {
        let mut figures = ApprovalFigures {
            requested: requests.len(),
            ..ApprovalFigures::default()
        };
        for request in requests {
            match request.status {
                ApprovalStatus::Pending | ApprovalStatus::Deciding => figures.pending += 1,
                ApprovalStatus::Approved => figures.approved += 1,
                ApprovalStatus::Rejected => figures.rejected += 1,
                ApprovalStatus::Expired => figures.expired += 1,
            }
        }
        figures.decided = figures.approved + figures.rejected;
        let mut turnarounds: Vec<u64> = requests.iter().filter_map(|r| r.turnaround_ms()).collect();
        turnarounds.sort_unstable();
        figures.turnaround_ms = (!turnarounds.is_empty()).then(|| Turnaround {
            p50: nearest_rank(&turnarounds, 50),
            p95: nearest_rank(&turnarounds, 95),
        });
        figures
    }
}

/// One gate: a workflow's approval step.
#[derive(Debug, PartialEq, Serialize)]
pub struct GateFigures {
    workflow: String,
    gate: String,
    #[serde(flatten)]
    figures: ApprovalFigures,
}

/// One agent's attempts in the window, as the registry's health counts them.
#[derive(Debug, PartialEq, Serialize)]
pub struct AgentFigures {
    agent: &'static str,
    #[serde(flatten)]
    health: Health,
}

impl<B: Backend> Api<B> {
    pub(super) async fn metrics(
        &self,
        request: &ApiRequest,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["window_minutes", "workflow"])?;
        let minutes = window_minutes(&params, DEFAULT_WINDOW_MINUTES, MAX_WINDOW_MINUTES)?;
        let workflow = params
            .get("workflow")
            .filter(|w| !w.is_empty())
            .map(String::as_str);
        if let Some(workflow) = workflow {
            self.check_workflow(tenant, workflow).await?;
        }
        let to_ms = now_ms();
        let from_ms = to_ms.saturating_sub(minutes * 60_000);
        let agents = self.agents_to_measure(workflow);
        let (runs, approvals, attempts) = futures::join!(
            self.backend
                .run_outcomes(tenant, from_ms, workflow, MAX_RUNS),
            self.backend
                .approval_outcomes(tenant, from_ms, workflow, MAX_APPROVALS),
            self.attempts_of(tenant, &agents, from_ms),
        );
        let ((runs, runs_truncated), (approvals, approvals_truncated)) = (runs?, approvals?);

        let mut by_workflow: BTreeMap<&str, Vec<&RunOutcome>> = BTreeMap::new();
        if let Some(workflow) = workflow {
            // The workflow asked about is shown, runs or none.
            by_workflow.entry(workflow).or_default();
        }
        for run in &runs {
            by_workflow.entry(&run.workflow).or_default().push(run);
        }
        let mut workflows: Vec<WorkflowFigures> = by_workflow
            .iter()
            .map(|(name, runs)| WorkflowFigures::of(name, runs))
            .collect();

        let mut agent_figures = Vec::new();
        for (&agent, (attempts, truncated)) in agents.iter().zip(attempts?) {
            let attempts: Vec<_> = attempts
                .into_iter()
                .filter(|a| workflow.is_none_or(|w| a.workflow.as_deref() == Some(w)))
                .collect();
            for attempt in &attempts {
                let of_workflow = workflows
                    .iter_mut()
                    .find(|w| attempt.workflow.as_deref() == Some(w.workflow.as_str()));
                if let Some(figures) = of_workflow {
                    figures.cache.add(attempt);
                }
            }
            if !attempts.is_empty() {
                agent_figures.push(AgentFigures {
                    agent,
                    health: Health::of(&attempts, minutes, truncated),
                });
            }
        }

        let mut by_gate: BTreeMap<(&str, &str), Vec<&ApprovalOutcome>> = BTreeMap::new();
        for approval in &approvals {
            by_gate
                .entry((&approval.workflow, &approval.gate))
                .or_default()
                .push(approval);
        }
        let gates: Vec<GateFigures> = by_gate
            .into_iter()
            .map(|((workflow, gate), requests)| GateFigures {
                workflow: workflow.to_owned(),
                gate: gate.to_owned(),
                figures: ApprovalFigures::of(&requests),
            })
            .collect();
        let all: Vec<&ApprovalOutcome> = approvals.iter().collect();

        Ok(ApiResponse::json(
            200,
            &json!({
                "window": Window { from_ms, to_ms, minutes },
                "workflows": workflows,
                "agents": agent_figures,
                "approvals": { "overall": ApprovalFigures::of(&all), "gates": gates },
                "truncated": { "runs": runs_truncated, "approvals": approvals_truncated },
            }),
        ))
    }

    /// A workflow the caller can have runs of: one linked into the binary, or a graph it ran.
    async fn check_workflow(&self, tenant: &str, workflow: &str) -> Result<(), ApiError> {
        if self.workflows.iter().any(|w| w.name == workflow) {
            return Ok(());
        }
        // Only a name a graph can have reaches the graphs table.
        let graph_like =
            workflow.starts_with(request::graph::GRAPH_PREFIX) && crate::route::is_run_id(workflow);
        if graph_like && self.backend.graph_known(tenant, workflow).await? {
            return Ok(());
        }
        let hint = switchyard_sdk::ir::closest(workflow, self.workflows.iter().map(|w| w.name))
            .map(|near| format!("; did you mean `{near}`?"))
            .unwrap_or_default();
        let shown: String = workflow.chars().take(80).collect();
        Err(ApiError::bad_field(
            "workflow",
            format!("no workflow named `{shown}`{hint}"),
        ))
    }

    /// The agents whose attempts count: a declared workflow's own, else every deployed one
    /// (a graph calls deployed agents only).
    fn agents_to_measure(&self, workflow: Option<&str>) -> Vec<&'static str> {
        match workflow {
            Some(workflow) if self.workflows.iter().any(|w| w.name == workflow) => self
                .deployed_agents
                .iter()
                .copied()
                .filter(|agent| self.workflows_of(agent).contains(&workflow))
                .collect(),
            _ => self.deployed_agents.iter().copied().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::api::fixtures::*;
    use crate::backend::{ApprovalRecord, RunRecord, StepRecord, StepStatus};
    use crate::memory::MemoryBackend;

    const MINUTE: u64 = 60_000;

    /// A run of `workflow` started `ago` ms before now, `status` after `took` ms.
    fn run(
        id: &str,
        tenant: &str,
        workflow: &str,
        status: RunStatus,
        ago: u64,
        took: u64,
    ) -> RunRecord {
        let created_at = now_ms() - ago;
        let mut run = RunRecord::started(id, tenant, workflow, created_at);
        run.status = status;
        if status.is_finished() {
            run.finished_at = Some(created_at + took);
            run.tokens_in = 100;
            run.tokens_out = 10;
            run.cost_usd = 0.125;
        }
        run
    }

    fn failed(mut run: RunRecord, error: &str) -> RunRecord {
        run.failure_error = Some(error.into());
        run
    }

    fn attempt(
        run: &str,
        tenant: &str,
        workflow: &str,
        agent: &str,
        status: StepStatus,
        latency: u64,
    ) -> StepRecord {
        let now = now_ms();
        StepRecord {
            run_id: run.into(),
            step_key: format!("{agent}#{latency}"),
            step: agent.into(),
            attempt: 0,
            agent: Some(agent.into()),
            tenant_id: tenant.into(),
            workflow: Some(workflow.into()),
            status,
            started_at: now - latency,
            finished_at: Some(now),
            latency_ms: Some(latency),
            tokens_in: 7,
            tokens_out: 3,
            cost_usd: 0.5,
            model_calls: 2,
            cache_hits: 1,
            tokens_saved: 4,
            cost_saved_usd: 0.125,
            error_name: (status == StepStatus::Failed).then(|| "Agent.Retryable".into()),
            ..StepRecord::default()
        }
    }

    /// A request made `ago_secs` seconds ago, decided `took_secs` after (if it was).
    fn request(
        id: &str,
        tenant: &str,
        gate: &str,
        status: ApprovalStatus,
        ago_secs: u64,
        took_secs: Option<u64>,
    ) -> ApprovalRecord {
        let created_at = now_ms() / 1000 - ago_secs;
        ApprovalRecord {
            request_id: id.into(),
            run_id: format!("run-of-{id}"),
            tenant_id: tenant.into(),
            workflow: "gate-test".into(),
            gate: gate.into(),
            status,
            created_at,
            expires_at: created_at + 3600,
            decided_at: took_secs.map(|t| created_at + t),
            ..ApprovalRecord::default()
        }
    }

    /// Tenant a's runs, attempts and requests with known outcomes and times, and tenant b's
    /// look-alikes that must not count.
    fn seeded() -> Api<MemoryBackend> {
        let api = api();
        {
            let mut state = api.backend.state();
            let runs = [
                run(
                    "s1",
                    "tenant-a",
                    "self-test",
                    RunStatus::Succeeded,
                    10 * MINUTE,
                    1_000,
                ),
                run(
                    "s2",
                    "tenant-a",
                    "self-test",
                    RunStatus::Succeeded,
                    9 * MINUTE,
                    3_000,
                ),
                failed(
                    run(
                        "f1",
                        "tenant-a",
                        "self-test",
                        RunStatus::Failed,
                        8 * MINUTE,
                        2_000,
                    ),
                    "Agent.Retryable",
                ),
                failed(
                    run(
                        "f2",
                        "tenant-a",
                        "self-test",
                        RunStatus::Failed,
                        7 * MINUTE,
                        4_000,
                    ),
                    "Switchyard.TooManyItems",
                ),
                failed(
                    run(
                        "f3",
                        "tenant-a",
                        "self-test",
                        RunStatus::Failed,
                        6 * MINUTE,
                        10_000,
                    ),
                    "Agent.Retryable",
                ),
                run(
                    "c1",
                    "tenant-a",
                    "self-test",
                    RunStatus::Cancelled,
                    5 * MINUTE,
                    500,
                ),
                run("r1", "tenant-a", "self-test", RunStatus::Running, MINUTE, 0),
                run(
                    "g1",
                    "tenant-a",
                    "gate-test",
                    RunStatus::Succeeded,
                    4 * MINUTE,
                    8_000,
                ),
                // Before the default hour: only a longer window sees it.
                run(
                    "old",
                    "tenant-a",
                    "self-test",
                    RunStatus::Succeeded,
                    2 * 60 * MINUTE,
                    1,
                ),
                // Tenant b's.
                failed(
                    run("b1", "tenant-b", "self-test", RunStatus::Failed, MINUTE, 1),
                    "Agent.Permanent",
                ),
            ];
            for run in runs {
                state.runs.insert(run.run_id.clone(), run);
            }
            let steps = [
                attempt(
                    "f1",
                    "tenant-a",
                    "self-test",
                    "flaky",
                    StepStatus::Failed,
                    10,
                ),
                attempt(
                    "f1",
                    "tenant-a",
                    "self-test",
                    "flaky",
                    StepStatus::Failed,
                    20,
                ),
                attempt(
                    "s1",
                    "tenant-a",
                    "self-test",
                    "flaky",
                    StepStatus::Succeeded,
                    30,
                ),
                attempt(
                    "s1",
                    "tenant-a",
                    "self-test",
                    "flaky",
                    StepStatus::Succeeded,
                    40,
                ),
                attempt(
                    "s1",
                    "tenant-a",
                    "self-test",
                    "square",
                    StepStatus::Succeeded,
                    5,
                ),
                attempt(
                    "g1",
                    "tenant-a",
                    "gate-test",
                    "on_approved",
                    StepStatus::Succeeded,
                    9,
                ),
                attempt(
                    "b1",
                    "tenant-b",
                    "self-test",
                    "flaky",
                    StepStatus::Failed,
                    50,
                ),
            ];
            for step in steps {
                state.steps.push((step.run_id.clone(), step));
            }
            state.approvals = vec![
                request(
                    "q1",
                    "tenant-a",
                    "ask",
                    ApprovalStatus::Approved,
                    600,
                    Some(10),
                ),
                request(
                    "q2",
                    "tenant-a",
                    "ask",
                    ApprovalStatus::Rejected,
                    500,
                    Some(30),
                ),
                request(
                    "q3",
                    "tenant-a",
                    "ask",
                    ApprovalStatus::Approved,
                    400,
                    Some(50),
                ),
                request("q4", "tenant-a", "ask", ApprovalStatus::Expired, 300, None),
                request("q5", "tenant-a", "ask", ApprovalStatus::Pending, 200, None),
                request(
                    "q6",
                    "tenant-a",
                    "sign_off",
                    ApprovalStatus::Deciding,
                    100,
                    Some(20),
                ),
                request(
                    "qb",
                    "tenant-b",
                    "ask",
                    ApprovalStatus::Approved,
                    100,
                    Some(1),
                ),
            ];
        }
        api
    }

    fn workflow<'a>(metrics: &'a Value, name: &str) -> &'a Value {
        metrics["workflows"]
            .as_array()
            .and_then(|w| w.iter().find(|w| w["workflow"] == name))
            .unwrap_or_else(|| panic!("{name} is not in {metrics}"))
    }

    fn agent<'a>(metrics: &'a Value, name: &str) -> &'a Value {
        metrics["agents"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["agent"] == name))
            .unwrap_or_else(|| panic!("{name} is not in {metrics}"))
    }

    #[test]
    fn workflows_count_outcomes_rates_errors_and_times_of_the_window() {
        let api = seeded();
        let (status, metrics) = call(&api, as_a("GET", "/metrics"));
        assert_eq!(status, 200, "{metrics}");
        assert_eq!(metrics["window"]["minutes"], 60);
        let window = &metrics["window"];
        assert_eq!(
            window["to_ms"].as_u64().unwrap_or_default()
                - window["from_ms"].as_u64().unwrap_or_default(),
            60 * MINUTE
        );
        assert_eq!(
            workflow(&metrics, "self-test"),
            &json!({
                "workflow": "self-test",
                "runs_started": 7,
                "running": 1,
                "paused": 0,
                "succeeded": 2,
                "failed": 3,
                "cancelled": 1,
                "ended": 6,
                "completion_rate": 2.0 / 6.0,
                "failure_rate": 0.5,
                "failures_by_error": { "Agent.Retryable": 2, "Switchyard.TooManyItems": 1 },
                // 1000, 3000, 2000, 4000, 10000, 500: mean 3417 (rounded), p95 the largest.
                "execution_ms": { "mean": 3417, "p95": 10_000 },
                "tokens_in": 600,
                "tokens_out": 60,
                "cost_usd": 0.75,
                // Its five attempts in the window: two exchanges each, one from the cache.
                "model_calls": 10,
                "cache_hits": 5,
                "tokens_saved": 20,
                "cost_saved_usd": 0.625,
            })
        );
        let gate = workflow(&metrics, "gate-test");
        assert_eq!(
            (
                &gate["runs_started"],
                &gate["completion_rate"],
                &gate["execution_ms"]
            ),
            (
                &json!(1),
                &json!(1.0),
                &json!({ "mean": 8000, "p95": 8000 })
            )
        );
        assert_eq!(metrics["workflows"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            metrics["truncated"],
            json!({ "runs": false, "approvals": false })
        );

        // A day's window reaches the older run.
        let (_, day) = call(
            &api,
            as_a("GET", "/metrics").with_query("window_minutes=1440"),
        );
        assert_eq!(workflow(&day, "self-test")["runs_started"], 8);
    }

    #[test]
    fn agents_are_the_registrys_health_of_the_window() {
        let api = seeded();
        let (_, metrics) = call(&api, as_a("GET", "/metrics"));
        let flaky = agent(&metrics, "flaky");
        assert_eq!(
            (
                &flaky["attempts"],
                &flaky["succeeded"],
                &flaky["failed"],
                &flaky["success_rate"]
            ),
            (&json!(4), &json!(2), &json!(2), &json!(0.5))
        );
        assert_eq!(
            flaky["latency_ms"],
            json!({ "p50": 20, "p95": 40, "max": 40 })
        );
        assert_eq!(
            (
                &flaky["tokens_in"],
                &flaky["tokens_out"],
                &flaky["cost_usd"]
            ),
            (&json!(28), &json!(12), &json!(2.0))
        );
        assert_eq!(
            (
                &flaky["model_calls"],
                &flaky["cache_hits"],
                &flaky["tokens_saved"],
                &flaky["cost_saved_usd"]
            ),
            (&json!(8), &json!(4), &json!(16), &json!(0.5))
        );
        assert_eq!(agent(&metrics, "square")["attempts"], 1);
        assert_eq!(agent(&metrics, "on_approved")["attempts"], 1);
        // Agents without attempts in the window are left out.
        assert_eq!(metrics["agents"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn approvals_count_each_outcome_and_the_turnaround_overall_and_per_gate() {
        let api = seeded();
        let (_, metrics) = call(&api, as_a("GET", "/metrics"));
        let approvals = &metrics["approvals"];
        assert_eq!(
            approvals["overall"],
            json!({
                "requested": 6,
                "decided": 3,
                "approved": 2,
                "rejected": 1,
                "expired": 1,
                "pending": 2,
                // 10 s, 30 s, 50 s: a decision still being delivered does not count yet.
                "turnaround_ms": { "p50": 30_000, "p95": 50_000 },
            })
        );
        assert_eq!(
            approvals["gates"],
            json!([
                {
                    "workflow": "gate-test", "gate": "ask",
                    "requested": 5, "decided": 3, "approved": 2, "rejected": 1,
                    "expired": 1, "pending": 1,
                    "turnaround_ms": { "p50": 30_000, "p95": 50_000 },
                },
                {
                    "workflow": "gate-test", "gate": "sign_off",
                    "requested": 1, "decided": 0, "approved": 0, "rejected": 0,
                    "expired": 0, "pending": 1, "turnaround_ms": null,
                },
            ])
        );
    }

    #[test]
    fn a_workflow_narrows_runs_agents_and_approvals_to_it() {
        let api = seeded();
        let (status, metrics) = call(
            &api,
            as_a("GET", "/metrics").with_query("workflow=gate-test"),
        );
        assert_eq!(status, 200, "{metrics}");
        let names: Vec<&str> = metrics["workflows"]
            .as_array()
            .map(|w| w.iter().filter_map(|w| w["workflow"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["gate-test"]);
        let gate = workflow(&metrics, "gate-test");
        assert_eq!(
            (
                &gate["model_calls"],
                &gate["cache_hits"],
                &gate["tokens_saved"]
            ),
            (&json!(2), &json!(1), &json!(4))
        );
        let agents: Vec<&str> = metrics["agents"]
            .as_array()
            .map(|a| a.iter().filter_map(|a| a["agent"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(agents, ["on_approved"]);
        assert_eq!(metrics["approvals"]["overall"]["requested"], 6);

        // A declared workflow without runs in the window still shows, with nothing ended.
        let (_, quiet) = call(
            &api,
            as_a("GET", "/metrics").with_query("workflow=dev-team"),
        );
        let dev = workflow(&quiet, "dev-team");
        assert_eq!(
            (
                &dev["runs_started"],
                &dev["completion_rate"],
                &dev["execution_ms"]
            ),
            (&json!(0), &Value::Null, &Value::Null)
        );
        assert_eq!(quiet["approvals"]["overall"]["requested"], 0);
    }

    #[test]
    fn another_tenant_sees_only_its_own() {
        let api = seeded();
        let (status, metrics) = call(&api, as_b("GET", "/metrics"));
        assert_eq!(status, 200, "{metrics}");
        assert_eq!(metrics["workflows"].as_array().map(Vec::len), Some(1));
        let own = workflow(&metrics, "self-test");
        assert_eq!(
            (&own["runs_started"], &own["failures_by_error"]),
            (&json!(1), &json!({ "Agent.Permanent": 1 }))
        );
        assert_eq!(agent(&metrics, "flaky")["attempts"], 1);
        assert_eq!(metrics["agents"].as_array().map(Vec::len), Some(1));
        assert_eq!(metrics["approvals"]["overall"]["requested"], 1);
    }

    #[test]
    fn graphs_the_tenant_ran_can_be_asked_about() {
        let api = seeded();
        let graph = "graph-0123456789abcdef";
        {
            let mut state = api.backend.state();
            let run = run("gr1", "tenant-a", graph, RunStatus::Succeeded, MINUTE, 10);
            state.runs.insert(run.run_id.clone(), run);
            state.graphs.insert(
                ("tenant-a".into(), graph.into()),
                crate::backend::GraphRecord {
                    tenant_id: "tenant-a".into(),
                    workflow: graph.into(),
                    ..Default::default()
                },
            );
        }
        let (status, metrics) = call(
            &api,
            as_a("GET", "/metrics").with_query(&format!("workflow={graph}")),
        );
        assert_eq!(status, 200, "{metrics}");
        assert_eq!(workflow(&metrics, graph)["succeeded"], 1);
        // Another tenant never ran it: as unknown as any other name.
        let (status, body) = call(
            &api,
            as_b("GET", "/metrics").with_query(&format!("workflow={graph}")),
        );
        assert_eq!((status, body["field"].as_str()), (400, Some("workflow")));
    }

    #[test]
    fn bad_parameters_are_400_naming_their_field() {
        let api = seeded();
        for (query, field) in [
            ("window_minutes=0", "window_minutes"),
            ("window_minutes=43201", "window_minutes"),
            ("window_minutes=an-hour", "window_minutes"),
            ("window_minutes=1&window_minutes=2", "window_minutes"),
            ("workflow=self-tset", "workflow"),
            ("workflow=graph-nope", "workflow"),
            ("limit=5", "limit"),
        ] {
            let (status, body) = call(&api, as_a("GET", "/metrics").with_query(query));
            assert_eq!(
                (status, body["field"].as_str()),
                (400, Some(field)),
                "{query}: {body}"
            );
        }
        let (_, body) = call(
            &api,
            as_a("GET", "/metrics").with_query("workflow=self-tset"),
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("did you mean `self-test`")),
            "{body}"
        );
        let (status, _) = call(
            &api,
            as_a("GET", "/metrics").with_query("window_minutes=43200"),
        );
        assert_eq!(status, 200);
    }

    #[test]
    fn reads_are_bounded_and_say_so() {
        let api = seeded();
        {
            let mut state = api.backend.state();
            for i in 0..MAX_RUNS {
                let run = run(
                    &format!("bulk-{i}"),
                    "tenant-a",
                    "dev-team",
                    RunStatus::Running,
                    MINUTE,
                    0,
                );
                state.runs.insert(run.run_id.clone(), run);
            }
        }
        let (_, metrics) = call(&api, as_a("GET", "/metrics"));
        assert_eq!(metrics["truncated"]["runs"], true);
        let read: u64 = metrics["workflows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w["runs_started"].as_u64())
            .sum();
        assert_eq!(read, MAX_RUNS as u64);
    }
}
