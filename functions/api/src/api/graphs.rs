//! `POST /graphs/run` and the AI Orchestra alias `POST /run-graph`: a graph sent as JSON is
//! checked and lowered (`request::graph`), its state machine created once per distinct graph,
//! and the run started and recorded like any other, so every runs endpoint shows it.

use serde_json::json;

use super::Api;
use crate::backend::{Backend, GraphRecord, RunStatus};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::request;
use crate::request::graph::GraphRun;
use crate::views::Links;

/// Distinct graphs one tenant may run (each is a state machine; an account holds 10,000).
pub const MAX_GRAPHS_PER_TENANT: usize = 50;

/// Which request shape to answer in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum GraphForm {
    Switchyard,
    Orchestra,
}

impl<B: Backend> Api<B> {
    pub(super) async fn run_graph(
        &self,
        request: &ApiRequest,
        tenant: &str,
        form: GraphForm,
    ) -> Result<ApiResponse, ApiError> {
        let parse = match form {
            GraphForm::Switchyard => request::graph::graph_run,
            GraphForm::Orchestra => request::graph::orchestra_run,
        };
        let run: GraphRun = parse(&request.body, tenant, &self.agents, &self.deployed_agents)?;
        let name = run.workflow.name.as_str();
        // A graph the tenant ran before is free to run again; a new one counts.
        let known = self.backend.graph_known(tenant, name).await?;
        if !known
            && self
                .backend
                .graph_count(tenant, MAX_GRAPHS_PER_TENANT)
                .await?
                >= MAX_GRAPHS_PER_TENANT
        {
            return Err(ApiError::GraphQuota {
                limit: MAX_GRAPHS_PER_TENANT,
            });
        }
        // A graph the tenant ran before has its state machine: no Step Functions call.
        let created = !known
            && self
                .backend
                .ensure_graph_machine(name, &run.definition, &run.agents, tenant)
                .await?;
        if !known {
            let record = GraphRecord {
                tenant_id: tenant.to_owned(),
                workflow: name.to_owned(),
                created_at: switchyard_state::now_ms(),
                nodes: run.node_ids.clone(),
                agents: run.agents.iter().map(|a| (*a).to_owned()).collect(),
                description: run.workflow.comment.clone(),
                // What its run pages draw. The IR is plain data and always serialises.
                definition: serde_json::to_string(&run.workflow).ok(),
            };
            self.backend.record_graph(&record).await?;
        }
        let input = run.execution_input(tenant).to_json();
        let run_id = match self
            .launch(name, &input, &run.input, tenant, run.budget)
            .await
        {
            // Recorded, but its state machine is gone (a deployment made anew): build it again.
            Err(ApiError::NotDeployed(_)) if known => {
                self.backend
                    .ensure_graph_machine(name, &run.definition, &run.agents, tenant)
                    .await?;
                self.launch(name, &input, &run.input, tenant, run.budget)
                    .await?
            }
            launched => launched?,
        };
        tracing::info!(run_id = %run_id, tenant_id = tenant, workflow = name, created, "graph run started");
        let links = Links::of(&run_id);
        let stages: Vec<Vec<&str>> = run
            .workflow
            .steps
            .iter()
            .map(|step| match &step.kind {
                switchyard_sdk::ir::StepKind::Parallel { branches, .. } => {
                    branches.iter().map(|b| b.name.as_str()).collect()
                }
                _ => vec![step.name.as_str()],
            })
            .collect();
        let state_machine = format!("{}{name}", switchyard_sdk::ir::RESOURCE_PREFIX);
        let body = match form {
            GraphForm::Switchyard => json!({
                "run_id": run_id,
                "tenant_id": tenant,
                "workflow": name,
                "workflow_type": run.workflow_type,
                "status": RunStatus::Running,
                "state_machine": state_machine,
                "state_machine_created": created,
                "stages": stages,
                "links": links,
            }),
            GraphForm::Orchestra => json!({
                "execution_id": run_id,
                "workflow_id": name,
                "workflow_type": run.workflow_type,
                "status": RunStatus::Running,
                "agents": run.node_ids,
                "stages": stages,
                "links": links,
            }),
        };
        Ok(ApiResponse::json(202, &body).with_header("location", &links.this))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::api::fixtures::*;

    fn dev_team() -> Value {
        json!({
            "graph": { "nodes": [
                { "id": "plan", "agent": "tech_lead" },
                { "id": "frontend", "agent": "frontend_dev", "depends_on": ["plan"] },
                { "id": "backend", "agent": "backend_dev", "depends_on": ["plan"] },
                { "id": "qa", "agent": "qa_engineer", "depends_on": ["frontend", "backend"] },
            ]},
            "input": { "feature": "Dark mode", "repository": "acme/web" },
        })
    }

    #[test]
    fn a_graph_is_built_once_and_its_runs_are_runs() {
        let api = api();
        let post = || {
            call(
                &api,
                as_a("POST", "/graphs/run").with_body(dev_team().to_string()),
            )
        };
        let (status, first) = post();
        assert_eq!(status, 202, "{first}");
        assert_eq!(first["state_machine_created"], true);
        assert_eq!(
            first["stages"],
            json!([["plan"], ["frontend", "backend"], ["qa"]])
        );
        let (_, second) = post();
        assert_eq!(second["state_machine_created"], false);
        assert_eq!(first["workflow"], second["workflow"]);
        {
            let state = api.backend.state();
            assert_eq!(state.graph_machines.len(), 1);
            let definition = state.graph_machines.values().next().expect("one");
            assert!(
                !definition.contains("${"),
                "placeholders filled: {definition}"
            );
            assert!(definition.contains("arn:function:switchyard-frontend-dev"));
        }
        // The run is a run: read, listed, owned by its tenant.
        let run_id = first["run_id"].as_str().expect("an id");
        let (status, run) = call(&api, as_a("GET", &format!("/runs/{run_id}")));
        assert_eq!((status, &run["workflow"]), (200, &first["workflow"]));
        let workflow = first["workflow"].as_str().expect("a name");
        let (_, listed) = call(
            &api,
            as_a("GET", "/runs").with_query(&format!("workflow={workflow}")),
        );
        assert_eq!(listed["runs"].as_array().map(Vec::len), Some(2), "{listed}");
        assert_eq!(call(&api, as_b("GET", &format!("/runs/{run_id}"))).0, 404);
    }

    #[test]
    fn a_tenant_runs_a_bounded_number_of_distinct_graphs_and_its_known_ones_freely() {
        let api = api();
        let graph = |timeout: usize| {
            let mut body = dev_team();
            body["graph"]["nodes"][0]["timeout_seconds"] = json!(10 + timeout);
            body
        };
        let post = |body: Value, as_tenant: fn(&str, &str) -> crate::http::ApiRequest| {
            call(
                &api,
                as_tenant("POST", "/graphs/run").with_body(body.to_string()),
            )
        };
        for i in 0..super::MAX_GRAPHS_PER_TENANT {
            assert_eq!(post(graph(i), as_a).0, 202, "graph {i}");
        }
        let (status, body) = post(graph(super::MAX_GRAPHS_PER_TENANT), as_a);
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("quota_exceeded")),
            "{body}"
        );
        // Nothing was built for the refused graph; a known one still runs, and the other
        // tenant has its own allowance.
        assert_eq!(
            api.backend.state().graph_machines.len(),
            super::MAX_GRAPHS_PER_TENANT
        );
        assert_eq!(post(graph(0), as_a).0, 202);
        assert_eq!(post(graph(super::MAX_GRAPHS_PER_TENANT), as_b).0, 202);
    }

    #[test]
    fn a_bad_graph_is_400_with_a_pointer_and_nothing_is_created() {
        let api = api();
        let mut bad = dev_team();
        bad["graph"]["nodes"][0]["depends_on"] = json!(["qa"]);
        let (status, body) = call(&api, as_a("POST", "/graphs/run").with_body(bad.to_string()));
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_graph")),
            "{body}"
        );
        assert!(
            body["field"]
                .as_str()
                .is_some_and(|f| f.starts_with("/graph/nodes/")),
            "{body}"
        );
        let state = api.backend.state();
        assert!(state.graph_machines.is_empty() && state.started.is_empty());
    }

    #[test]
    fn a_node_named_like_a_platform_state_is_400_naming_it() {
        let api = api();
        for reserved in switchyard_sdk::ir::PLATFORM_STATES {
            let mut graph = dev_team();
            graph["graph"]["nodes"][3]["id"] = json!(reserved);
            let (status, body) = call(
                &api,
                as_a("POST", "/graphs/run").with_body(graph.to_string()),
            );
            assert_eq!(
                (status, body["error"].as_str(), body["field"].as_str()),
                (400, Some("invalid_graph"), Some("/graph/nodes/3")),
                "{reserved}: {body}"
            );
            assert!(
                body["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(reserved)),
                "{body}"
            );
        }
        assert!(api.backend.state().started.is_empty());
    }

    #[test]
    fn the_orchestra_form_answers_in_its_shape() {
        let api = api();
        let body = json!({
            "workflow_type": "graph",
            "agents": [
                { "agent_id": "lead", "agent_role": "tech_lead" },
                { "agent_id": "frontend", "agent_role": "frontend", "depends_on": ["lead"] },
                { "agent_id": "backend", "agent_role": "backend", "depends_on": ["lead"] },
                { "agent_id": "qa", "agent_role": "testing", "depends_on": ["frontend", "backend"] },
            ],
            "input": { "feature": "Dark mode", "repository": "acme/web" },
        });
        let (status, answer) = call(&api, as_a("POST", "/run-graph").with_body(body.to_string()));
        assert_eq!(status, 202, "{answer}");
        assert!(answer["execution_id"].is_string() && answer["workflow_id"].is_string());
        assert_eq!(
            answer["agents"],
            json!(["lead", "frontend", "backend", "qa"])
        );
    }
}
