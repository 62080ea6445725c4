//! `POST /graphs/run` and its AI Orchestra alias `POST /run-graph`: a graph of registered
//! agents, sent as JSON, lowered to the same IR `workflow!` builds, checked by the same
//! validation and rendered by the same Amazon States Language back end.
//!
//! A graph is a list of nodes, each naming an agent (or a capability that exactly one agent
//! offers) and the nodes it depends on. `sequential` and `parallel` are shorthands: the list
//! order, or every node on the run input at once. A node starts when all its dependencies
//! have finished and reads their outputs: one dependency's output as it is, several as a JSON
//! list in `depends_on` order (a tuple or a `Vec` in the agent's Rust signature). The graph
//! runs in stages, every node of a stage at once; a node must depend on the whole stage
//! before it, so no output is dropped and no node waits for one it does not read.
//!
//! Every refusal is a 400 whose `field` is a JSON pointer into the body
//! (`/graph/nodes/2/depends_on/0`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use switchyard_sdk::flow::{self, Carried};
use switchyard_sdk::ir::{
    AgentCall, Branch, Locus, StageError, Step, StepId, StepKind, Target, Workflow,
};
use switchyard_sdk::AgentRegistration;
use switchyard_state::{Budget, ExecutionInput};

use super::body::{decode, json_object};
use super::budget::BudgetBody;
use super::start::MAX_EXECUTION_INPUT;
use crate::error::ApiError;

/// Prefix of every workflow (and, after `switchyard-`, state machine) built from a graph.
pub const GRAPH_PREFIX: &str = switchyard_sdk::ir::GRAPH_WORKFLOW_PREFIX;
/// Nodes one graph may hold.
pub const MAX_NODES: usize = 100;

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowType {
    /// Nodes in list order, each on the previous one's output.
    Sequential,
    /// Every node on the run input at once; the output is the list of their outputs.
    Parallel,
    /// Nodes with `depends_on`.
    #[default]
    Graph,
}

/// `{graph: {workflow_type?, description?, nodes}, input, auto_approve?, tenant_id?, budget?}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GraphBody {
    graph: GraphSpec,
    input: Option<Value>,
    tenant_id: Option<String>,
    auto_approve: Option<bool>,
    budget: Option<BudgetBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GraphSpec {
    #[serde(default)]
    workflow_type: WorkflowType,
    description: Option<String>,
    nodes: Vec<NodeSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeSpec {
    id: String,
    agent: Option<String>,
    capability: Option<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    timeout_seconds: Option<u32>,
}

/// The AI Orchestra service's `POST /run-graph` body: agents with `agent_id`, `agent_role`
/// (an agent's name or a capability) and `depends_on`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrchestraBody {
    #[serde(default)]
    workflow_type: WorkflowType,
    agents: Vec<OrchestraAgent>,
    input: Option<Value>,
    /// The service's free-text task, when no structured input is given: becomes `{"task"}`.
    task: Option<String>,
    tenant_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrchestraAgent {
    agent_id: String,
    agent_role: String,
    #[serde(default)]
    depends_on: Vec<String>,
}

/// How a node names its agent.
enum Names {
    Agent(String),
    Capability(String),
    /// The alias's `agent_role`: an agent's name, else a capability.
    Role(String),
}

struct Node {
    id: String,
    names: Option<Names>,
    depends_on: Vec<String>,
    timeout_seconds: Option<u32>,
}

/// A checked graph, ready to deploy and start.
#[derive(Debug)]
pub struct GraphRun {
    pub workflow_type: WorkflowType,
    /// The IR, named `graph-<hash of the graph>`: the same graph has the same name.
    pub workflow: Workflow,
    /// The definition with `${Agent…Arn}` placeholders, as the deploy substitutes them.
    pub definition: String,
    /// The agents the definition calls.
    pub agents: Vec<&'static str>,
    pub input: Value,
    pub auto_approve: Option<bool>,
    /// The run's spending limit, if the request gives one (a graph declares none).
    pub budget: Option<Budget>,
    /// The node ids in the order they were given.
    pub node_ids: Vec<String>,
}

impl GraphRun {
    pub fn execution_input(&self, tenant: &str) -> ExecutionInput {
        let mut input = ExecutionInput::new(tenant, self.input.clone());
        input.auto_approve = self.auto_approve;
        input
    }
}

fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::InvalidGraph {
        pointer: pointer.into(),
        message: message.into(),
    }
}

/// serde's path (`graph.nodes[2].agent`) as a JSON pointer (`/graph/nodes/2/agent`).
fn pointer_of(path: &str) -> String {
    let mut pointer = String::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, indexes) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            pointer.push('/');
            pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            pointer.push('/');
            pointer.push_str(index.trim_end_matches(']'));
        }
    }
    if pointer.is_empty() {
        "/".into()
    } else {
        pointer
    }
}

fn decode_graph<T: serde::de::DeserializeOwned>(object: Map<String, Value>) -> Result<T, ApiError> {
    decode(object).map_err(|error| match error {
        ApiError::BadField { field, message } if field == "body" => invalid("/", message),
        ApiError::BadField { field, message } => invalid(pointer_of(&field), message),
        other => other,
    })
}

/// `POST /graphs/run`.
pub fn graph_run(
    body: &[u8],
    tenant: &str,
    agents: &[&'static AgentRegistration],
    deployed: &BTreeSet<&'static str>,
) -> Result<GraphRun, ApiError> {
    let body: GraphBody = decode_graph(json_object(body)?)?;
    if body.tenant_id.is_some_and(|claimed| claimed != tenant) {
        return Err(ApiError::TenantMismatch);
    }
    let input = body
        .input
        .ok_or_else(|| invalid("/input", "required: the run input"))?;
    let budget = body
        .budget
        .map(|budget| budget.check("budget"))
        .transpose()
        .map_err(|(field, message)| invalid(pointer_of(&field), message))?;
    let nodes = body
        .graph
        .nodes
        .into_iter()
        .map(|n| Node {
            names: match (n.agent, n.capability) {
                (Some(agent), None) => Some(Names::Agent(agent)),
                (None, Some(capability)) => Some(Names::Capability(capability)),
                _ => None,
            },
            id: n.id,
            depends_on: n.depends_on,
            timeout_seconds: n.timeout_seconds,
        })
        .collect();
    let paths = Paths {
        nodes: "/graph/nodes",
        id: "id",
        names: "agent",
        depends_on: "depends_on",
        input: "/input",
    };
    let mut run = lower(
        tenant,
        body.graph.workflow_type,
        body.graph.description,
        nodes,
        input,
        body.auto_approve,
        agents,
        deployed,
        &paths,
    )?;
    run.budget = budget;
    Ok(run)
}

/// `POST /run-graph`, the AI Orchestra request.
pub fn orchestra_run(
    body: &[u8],
    tenant: &str,
    agents: &[&'static AgentRegistration],
    deployed: &BTreeSet<&'static str>,
) -> Result<GraphRun, ApiError> {
    let body: OrchestraBody = decode_graph(json_object(body)?)?;
    if body.tenant_id.is_some_and(|claimed| claimed != tenant) {
        return Err(ApiError::TenantMismatch);
    }
    let input = match (body.input, body.task) {
        (Some(input), None) => input,
        (None, Some(task)) => serde_json::json!({ "task": task }),
        (None, None) => return Err(invalid("/input", "required: the run input (or `task`)")),
        (Some(_), Some(_)) => {
            return Err(invalid("/task", "give `input` or `task`, not both"));
        }
    };
    let nodes = body
        .agents
        .into_iter()
        .map(|a| Node {
            id: a.agent_id,
            names: Some(Names::Role(a.agent_role)),
            depends_on: a.depends_on,
            timeout_seconds: None,
        })
        .collect();
    let paths = Paths {
        nodes: "/agents",
        id: "agent_id",
        names: "agent_role",
        depends_on: "depends_on",
        input: "/input",
    };
    lower(
        tenant,
        body.workflow_type,
        None,
        nodes,
        input,
        None,
        agents,
        deployed,
        &paths,
    )
}

/// Where the body's parts are, for pointers.
struct Paths {
    nodes: &'static str,
    id: &'static str,
    names: &'static str,
    depends_on: &'static str,
    input: &'static str,
}

impl Paths {
    fn node(&self, i: usize) -> String {
        format!("{}/{i}", self.nodes)
    }

    fn field(&self, i: usize, field: &str) -> String {
        format!("{}/{i}/{field}", self.nodes)
    }
}

/// A stage's parallel step; node ids may not take these names.
fn stage_name(stage: usize) -> String {
    format!("stage-{}", stage + 1)
}

#[allow(clippy::too_many_arguments)]
fn lower(
    tenant: &str,
    workflow_type: WorkflowType,
    description: Option<String>,
    mut nodes: Vec<Node>,
    input: Value,
    auto_approve: Option<bool>,
    agents: &[&'static AgentRegistration],
    deployed: &BTreeSet<&'static str>,
    paths: &Paths,
) -> Result<GraphRun, ApiError> {
    if nodes.is_empty() {
        return Err(invalid(paths.nodes, "a graph needs at least one node"));
    }
    if nodes.len() > MAX_NODES {
        return Err(invalid(
            paths.nodes,
            format!(
                "a graph holds at most {MAX_NODES} nodes; this one has {}",
                nodes.len()
            ),
        ));
    }
    // Ids: present, unique, not a stage's name.
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, node) in nodes.iter().enumerate() {
        if node.id.is_empty() {
            return Err(invalid(paths.field(i, paths.id), "required: the node's id"));
        }
        let reserved = node
            .id
            .strip_prefix("stage-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if reserved {
            return Err(invalid(
                paths.field(i, paths.id),
                format!(
                    "`{}` is the name of a stage's parallel step; pick another id",
                    node.id
                ),
            ));
        }
        if let Some(first) = index.insert(node.id.clone(), i) {
            return Err(invalid(
                paths.field(i, paths.id),
                format!(
                    "two nodes are named `{}` (the other is {})",
                    node.id,
                    paths.node(first)
                ),
            ));
        }
    }
    // Agents, by name or by the one agent offering a capability.
    let mut resolved = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let here = paths.field(i, paths.names);
        let agent = match &node.names {
            None => {
                return Err(invalid(
                    paths.node(i),
                    "name exactly one of `agent` (an agent's name) or `capability`",
                ))
            }
            Some(Names::Agent(name)) => by_name(name, agents, deployed)
                .ok_or_else(|| unknown_agent(&here, name, agents, deployed))?,
            Some(Names::Capability(capability)) => by_capability(capability, agents, deployed)
                .map_err(|m| invalid(paths.field(i, "capability"), m))?,
            Some(Names::Role(role)) => match by_name(role, agents, deployed) {
                Some(agent) => agent,
                None => by_capability(role, agents, deployed)
                    .map_err(|_| unknown_agent(&here, role, agents, deployed))?,
            },
        };
        resolved.push(agent);
    }
    // The shorthands' dependencies.
    if workflow_type != WorkflowType::Graph {
        if let Some(i) = nodes.iter().position(|n| !n.depends_on.is_empty()) {
            return Err(invalid(
                paths.field(i, paths.depends_on),
                format!(
                    "a `{}` graph's order is given by its type; `depends_on` belongs to `graph`",
                    serde_json::to_value(workflow_type)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            ));
        }
        if workflow_type == WorkflowType::Sequential {
            for i in 1..nodes.len() {
                let previous = nodes[i - 1].id.clone();
                nodes[i].depends_on = vec![previous];
            }
        }
    }
    // Dependencies: known, not the node itself, not repeated.
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let mut mine = Vec::new();
        for (j, dep) in node.depends_on.iter().enumerate() {
            let here = format!("{}/{j}", paths.field(i, paths.depends_on));
            let Some(&d) = index.get(dep.as_str()) else {
                let hint = switchyard_sdk::ir::closest(dep, nodes.iter().map(|n| n.id.as_str()))
                    .map(|near| format!("; did you mean `{near}`?"))
                    .unwrap_or_default();
                return Err(invalid(
                    here,
                    format!(
                        "`{}` depends on `{dep}`, which is not a node of this graph{hint}",
                        node.id
                    ),
                ));
            };
            if d == i {
                return Err(invalid(here, format!("`{}` depends on itself", node.id)));
            }
            if mine.contains(&d) {
                return Err(invalid(here, format!("`{}` lists `{dep}` twice", node.id)));
            }
            mine.push(d);
        }
        deps.push(mine);
    }
    let names = |set: &[usize]| {
        set.iter()
            .map(|&n| format!("`{}`", nodes[n].id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let stages = switchyard_sdk::ir::stages(&deps).map_err(|errors| match &errors[0] {
        StageError::Cycle(cycle) => invalid(
            paths.field(cycle[0], paths.depends_on),
            format!(
                "the graph has a cycle: {} (each depends on the next)",
                cycle.iter().map(|&i| nodes[i].id.as_str()).collect::<Vec<_>>().join(" → ")
            ),
        ),
        StageError::Partial { node, stage } => invalid(
            paths.field(*node, paths.depends_on),
            format!(
                "`{}` depends on {} but runs after the stage {}: a node must depend on every node of the stage before it (a graph runs in stages; a node reading only part of a stage, or a stage output nobody reads, is not supported yet)",
                nodes[*node].id,
                names(&deps[*node]),
                names(stage)
            ),
        ),
        StageError::Order { node, first } => invalid(
            paths.field(*node, paths.depends_on),
            format!(
                "`{}` lists its dependencies in another order than `{}` does; both read the same list, in one order: {}",
                nodes[*node].id,
                nodes[*first].id,
                names(&deps[*first])
            ),
        ),
    })?;
    let stages_count = stages.len();
    // Types: the run input fits every first-stage agent; every edge carries what its
    // target reads.
    for &i in &stages[0] {
        (resolved[i].check_input)(input.clone()).map_err(|e| {
            let field = if e.field == "input" {
                paths.input.to_owned()
            } else {
                format!("{}{}", paths.input, pointer_of(&e.field))
            };
            invalid(
                field,
                format!(
                    "the input does not fit `{}` (node `{}`): {}",
                    (resolved[i].input_type)(),
                    nodes[i].id,
                    e.message
                ),
            )
        })?;
    }
    for s in 1..stages_count {
        let before = &stages[s - 1];
        let outputs: Vec<&'static switchyard_sdk::shape::Shape> = before
            .iter()
            .map(|&n| (resolved[n].output_shape)())
            .collect();
        let carried_type = if before.len() == 1 {
            (resolved[before[0]].output_type)()
        } else {
            format!(
                "({})",
                before
                    .iter()
                    .map(|&n| (resolved[n].output_type)())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        for &i in &stages[s] {
            let carried = if before.len() == 1 {
                Carried::One(outputs[0])
            } else {
                Carried::Outputs(&outputs)
            };
            flow::check(carried, (resolved[i].input_shape)()).map_err(|e| {
                invalid(
                    paths.node(i),
                    format!(
                        "the data `{carried_type}` cannot flow into a step that takes `{}` (node `{}`): {e}",
                        (resolved[i].input_type)(),
                        nodes[i].id
                    ),
                )
            })?;
        }
    }
    // The IR: one step per stage.
    let call = |i: usize| AgentCall {
        agent: resolved[i].name.to_owned(),
        input_type: (resolved[i].input_type)(),
        output_type: (resolved[i].output_type)(),
        retry: Vec::new(),
        timeout_seconds: nodes[i].timeout_seconds,
    };
    let mut steps = Vec::with_capacity(stages_count);
    for (s, stage) in stages.iter().enumerate() {
        let next = if s + 1 < stages_count {
            Target::Step(StepId(s as u32 + 1))
        } else {
            Target::End
        };
        let step = match stage.as_slice() {
            [single] => Step {
                name: nodes[*single].id.clone(),
                kind: StepKind::Task {
                    call: call(*single),
                    catch: None,
                    next,
                },
                when: None,
            },
            several => Step {
                name: stage_name(s),
                kind: StepKind::Parallel {
                    branches: several
                        .iter()
                        .map(|&i| Branch {
                            name: nodes[i].id.clone(),
                            call: call(i),
                        })
                        .collect(),
                    next,
                },
                when: None,
            },
        };
        steps.push(step);
    }
    let input_type = match stages[0].as_slice() {
        [single] => (resolved[*single].input_type)(),
        _ => "serde_json::Value".to_owned(),
    };
    let mut workflow = Workflow {
        name: String::new(),
        comment: description,
        input_type,
        start: StepId(0),
        steps,
        budget: None,
    };
    workflow.name = content_name(&workflow);
    let (definition, _) = switchyard_back::check(&workflow).map_err(|errors| {
        let error = &errors[0];
        let pointer = match error.locus {
            Locus::Step(id) | Locus::Setting(id, _) => {
                let step = &workflow.step(id).name;
                nodes
                    .iter()
                    .position(|n| &n.id == step)
                    .map(|i| paths.node(i))
                    .unwrap_or_else(|| paths.nodes.to_owned())
            }
            Locus::Workflow => paths.nodes.to_owned(),
        };
        invalid(pointer, error.to_string())
    })?;
    let mut used: Vec<&'static str> = resolved.iter().map(|a| a.name).collect();
    used.sort_unstable();
    used.dedup();
    let run = GraphRun {
        workflow_type,
        workflow,
        definition,
        agents: used,
        input,
        auto_approve,
        budget: None,
        node_ids: nodes.into_iter().map(|n| n.id).collect(),
    };
    if run.execution_input(tenant).to_json().len() > MAX_EXECUTION_INPUT {
        return Err(ApiError::TooLarge {
            field: "input",
            limit: MAX_EXECUTION_INPUT,
        });
    }
    Ok(run)
}

fn by_name(
    name: &str,
    agents: &[&'static AgentRegistration],
    deployed: &BTreeSet<&'static str>,
) -> Option<&'static AgentRegistration> {
    agents
        .iter()
        .copied()
        .find(|a| a.name == name && deployed.contains(a.name))
}

fn by_capability(
    capability: &str,
    agents: &[&'static AgentRegistration],
    deployed: &BTreeSet<&'static str>,
) -> Result<&'static AgentRegistration, String> {
    let offering: Vec<&'static AgentRegistration> = agents
        .iter()
        .copied()
        .filter(|a| deployed.contains(a.name) && a.capabilities.contains(&capability))
        .collect();
    match offering.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no deployed agent offers the capability `{capability}`"
        )),
        several => Err(format!(
            "the capability `{capability}` is offered by {} agents ({}); name one with `agent`",
            several.len(),
            several
                .iter()
                .map(|a| format!("`{}`", a.name))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn unknown_agent(
    pointer: &str,
    name: &str,
    agents: &[&'static AgentRegistration],
    deployed: &BTreeSet<&'static str>,
) -> ApiError {
    let known = agents
        .iter()
        .filter(|a| deployed.contains(a.name))
        .map(|a| a.name);
    let hint = switchyard_sdk::ir::closest(name, known)
        .map(|near| format!("; did you mean `{near}`?"))
        .unwrap_or_default();
    invalid(
        pointer,
        format!("no deployed agent named `{name}`{hint} (GET /agents lists them)"),
    )
}

/// `definition` with each agent's `${Agent…Arn}` placeholder replaced by its function's ARN
/// (`function_arn_prefix` + the function name), as the deploy's substitutions do.
pub fn with_functions(definition: &str, agents: &[&str], function_arn_prefix: &str) -> String {
    // Paused steps wait with the run-tracker.
    let mut filled = definition.replace(
        &format!("${{{}}}", switchyard_back::RUN_TRACKER_SUBSTITUTION),
        &format!(
            "{function_arn_prefix}{}{}",
            switchyard_sdk::ir::RESOURCE_PREFIX,
            switchyard_state::schema::PlatformFunction::RunTracker.as_str()
        ),
    );
    for agent in agents {
        filled = filled.replace(
            &format!("${{{}}}", switchyard_back::agent_substitution(agent)),
            &format!(
                "{function_arn_prefix}{}",
                switchyard_sdk::ir::function_name(agent)
            ),
        );
    }
    filled
}

/// `graph-<first 16 hex digits of the SHA-256 of the graph's IR>`: one name per distinct
/// graph, so a graph posted again reuses its state machine.
fn content_name(workflow: &Workflow) -> String {
    let text = serde_json::to_string(workflow).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    format!("{GRAPH_PREFIX}{}", &hex::encode(digest)[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn setup() -> (Vec<&'static AgentRegistration>, BTreeSet<&'static str>) {
        switchyard_agents::link();
        let agents = switchyard_sdk::agents();
        let deployed = agents.iter().map(|a| a.name).collect();
        (agents, deployed)
    }

    fn run(body: Value) -> Result<GraphRun, ApiError> {
        let (agents, deployed) = setup();
        graph_run(body.to_string().as_bytes(), "t", &agents, &deployed)
    }

    fn refusal(body: Value) -> (String, String) {
        match run(body) {
            Err(ApiError::InvalidGraph { pointer, message }) => (pointer, message),
            Err(other) => panic!("not a graph refusal: {other}"),
            Ok(run) => panic!("accepted: {:?}", run.workflow),
        }
    }

    fn feature() -> Value {
        json!({ "feature": "Dark mode", "repository": "acme/web" })
    }

    fn dev_team() -> Value {
        json!({
            "graph": { "nodes": [
                { "id": "plan", "agent": "tech_lead" },
                { "id": "frontend", "agent": "frontend_dev", "depends_on": ["plan"] },
                { "id": "backend", "capability": "backend", "depends_on": ["plan"] },
                { "id": "qa", "agent": "qa_engineer", "depends_on": ["frontend", "backend"] },
            ]},
            "input": feature(),
        })
    }

    #[test]
    fn the_dev_team_dag_lowers_to_stages_with_a_parallel_step() {
        let run = run(dev_team()).expect("a valid graph");
        let names: Vec<&str> = run.workflow.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["plan", "stage-2", "qa"]);
        assert!(run.workflow.name.starts_with(GRAPH_PREFIX));
        assert!(
            run.definition.contains("${AgentFrontendDevArn}"),
            "{}",
            run.definition
        );
        // The same graph is the same state machine; another one is not.
        assert_eq!(
            super::tests::run(dev_team()).expect("again").workflow.name,
            run.workflow.name
        );
        let mut other = dev_team();
        other["graph"]["nodes"][3]["timeout_seconds"] = json!(60);
        assert_ne!(
            super::tests::run(other).expect("other").workflow.name,
            run.workflow.name
        );
    }

    #[test]
    fn every_kind_of_mistake_is_refused_at_its_node() {
        let mut unknown = dev_team();
        unknown["graph"]["nodes"][1]["agent"] = json!("frontend_devv");
        let (pointer, message) = refusal(unknown);
        assert_eq!(pointer, "/graph/nodes/1/agent");
        assert!(message.contains("did you mean `frontend_dev`"), "{message}");

        let mut missing = dev_team();
        missing["graph"]["nodes"][3]["depends_on"] = json!(["frontend", "backnd"]);
        let (pointer, message) = refusal(missing);
        assert_eq!(pointer, "/graph/nodes/3/depends_on/1");
        assert!(message.contains("did you mean `backend`"), "{message}");

        let mut cycle = dev_team();
        cycle["graph"]["nodes"][0]["depends_on"] = json!(["qa"]);
        let (_, message) = refusal(cycle);
        assert!(message.contains("cycle"), "{message}");

        let mut partial = dev_team();
        partial["graph"]["nodes"][3]["depends_on"] = json!(["frontend"]);
        let (pointer, message) = refusal(partial);
        assert_eq!(pointer, "/graph/nodes/3/depends_on");
        assert!(
            message.contains("every node of the stage before it"),
            "{message}"
        );

        let wrong_type = json!({
            "graph": { "workflow_type": "sequential", "nodes": [
                { "id": "plan", "agent": "tech_lead" },
                { "id": "qa", "agent": "qa_engineer" },
            ]},
            "input": feature(),
        });
        let (pointer, message) = refusal(wrong_type);
        assert_eq!(pointer, "/graph/nodes/1");
        assert!(message.starts_with("the data `switchyard_agents::dev_team::FeaturePlan` cannot flow into a step that takes `(switchyard_agents::dev_team::Change, switchyard_agents::dev_team::Change)`"), "{message}");

        let ambiguous = json!({ "graph": { "nodes": [{ "id": "w", "capability": "copywriting" }] }, "input": {} });
        let (pointer, message) = refusal(ambiguous);
        assert_eq!(pointer, "/graph/nodes/0/capability");
        assert!(message.contains("offered by 3 agents"), "{message}");

        let (pointer, message) = refusal(
            json!({ "graph": { "nodes": [{ "id": "p", "agent": "tech_lead" }] }, "input": { "feature": 3, "repository": "r" } }),
        );
        assert_eq!(pointer, "/input/feature");
        assert!(message.contains("does not fit"), "{message}");

        let (pointer, _) = refusal(
            json!({ "graph": { "nodes": [{ "id": "p", "agent": "tech_lead", "colour": 1 }] }, "input": {} }),
        );
        assert_eq!(pointer, "/graph/nodes/0/colour");

        let too_long = json!({ "graph": { "nodes": [{ "id": "x".repeat(90), "agent": "tech_lead" }] }, "input": feature() });
        let (pointer, message) = refusal(too_long);
        assert_eq!(pointer, "/graph/nodes/0");
        assert!(message.contains("80"), "{message}");

        let (pointer, _) = refusal(json!({ "graph": { "nodes": [] }, "input": {} }));
        assert_eq!(pointer, "/graph/nodes");
        let (pointer, _) = refusal(
            json!({ "graph": { "workflow_type": "parallel", "nodes": [{ "id": "a", "agent": "tech_lead", "depends_on": ["b"] }, { "id": "b", "agent": "tech_lead" }] }, "input": feature() }),
        );
        assert_eq!(pointer, "/graph/nodes/0/depends_on");
    }

    #[test]
    fn a_graph_run_may_have_a_budget_which_is_not_part_of_its_graph() {
        let mut budgeted = dev_team();
        budgeted["budget"] = json!({ "tokens": 5000, "usd": 0.5 });
        let run = run(budgeted).expect("valid");
        assert_eq!(
            run.budget,
            Some(Budget {
                tokens: Some(5000),
                usd: Some(0.5)
            })
        );
        assert_eq!(run.workflow.budget, None);
        assert_eq!(
            super::tests::run(dev_team()).expect("valid").workflow.name,
            run.workflow.name
        );
        for (budget, pointer) in [
            (json!({ "usd": -1 }), "/budget/usd"),
            (json!({ "tokens": 0 }), "/budget/tokens"),
            (json!({ "token": 5 }), "/budget/token"),
            (json!({}), "/budget"),
        ] {
            let mut body = dev_team();
            body["budget"] = budget.clone();
            assert_eq!(refusal(body).0, pointer, "{budget}");
        }
    }

    #[test]
    fn the_orchestra_alias_takes_roles_and_a_task() {
        let (agents, deployed) = setup();
        let body = json!({
            "workflow_type": "sequential",
            "agents": [
                { "agent_id": "lead", "agent_role": "planning" },
                { "agent_id": "front", "agent_role": "frontend_dev" },
            ],
            "input": feature(),
        });
        let run =
            orchestra_run(body.to_string().as_bytes(), "t", &agents, &deployed).expect("valid");
        assert_eq!(run.agents, ["frontend_dev", "tech_lead"]);
        let body = json!({ "agents": [{ "agent_id": "x", "agent_role": "nobody" }], "task": "t" });
        match orchestra_run(body.to_string().as_bytes(), "t", &agents, &deployed) {
            Err(ApiError::InvalidGraph { pointer, .. }) => {
                assert_eq!(pointer, "/agents/0/agent_role")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn serde_paths_become_pointers() {
        assert_eq!(pointer_of("graph.nodes[2].agent"), "/graph/nodes/2/agent");
        assert_eq!(pointer_of("input"), "/input");
        assert_eq!(pointer_of("."), "/");
    }
}
