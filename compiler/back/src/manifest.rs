//! The deployment manifest: every Lambda function and state machine the deploy step creates,
//! with the substitutions that connect them, and each workflow's static per-run estimate.

use std::collections::BTreeMap;

use serde::Serialize;
use switchyard_ir::{Budget, Estimate, StepKind};
use switchyard_state::schema::PlatformFunction as Platform;

use super::{
    agent_model_parameter, agent_substitution, function_name, state_machine_name,
    APPROVAL_REQUEST_SUBSTITUTION, RUN_TRACKER_SUBSTITUTION,
};
use crate::asl::DEFAULT_AGENT_TIMEOUT_SECONDS;
use crate::{AgentInfo, Compiled};

pub const FILE_NAME: &str = "manifest.json";
/// Lambda gets this much longer than the task, so Step Functions' `States.Timeout` (which
/// retry policies match) fires first.
pub const FUNCTION_TIMEOUT_MARGIN_SECONDS: u32 = 5;

#[derive(Serialize)]
pub struct Manifest<'a> {
    pub version: u32,
    pub agents: Vec<AgentFunction<'a>>,
    pub platform_functions: Vec<PlatformFunction>,
    pub state_machines: Vec<StateMachine<'a>>,
}

#[derive(Serialize)]
pub struct AgentFunction<'a> {
    pub agent: &'a str,
    pub function_name: String,
    pub substitution: String,
    pub description: &'a str,
    pub capabilities: &'a [String],
    /// `#[agent(model = "...")]`; `None` asks the deployment's primary model.
    pub model: Option<&'a str>,
    /// The template parameter that sets its function's `AGENT_MODEL`, over `model`.
    pub model_parameter: String,
    /// The variable `infra/deploy` fills that parameter from.
    pub model_variable: String,
    pub input_type: &'a str,
    pub output_type: &'a str,
    pub input_schema: &'a serde_json::Value,
    pub output_schema: &'a serde_json::Value,
    pub timeout_seconds: u32,
    pub workflows: Vec<&'a str>,
}

#[derive(Serialize)]
pub struct PlatformFunction {
    #[serde(skip)]
    pub function: switchyard_state::schema::PlatformFunction,
    /// Its `SWITCHYARD_FUNCTION` value.
    pub role: &'static str,
    pub function_name: String,
    pub substitution: Option<&'static str>,
}

#[derive(Serialize)]
pub struct StateMachine<'a> {
    pub workflow: &'a str,
    pub name: String,
    pub comment: Option<&'a str>,
    pub input_type: &'a str,
    pub definition: String,
    pub diagram: String,
    pub substitutions: Vec<String>,
    pub approval_gates: Vec<&'a str>,
    /// Each run's spending limit unless its start gives another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<&'a Budget>,
    pub estimate: &'a Estimate,
}

pub fn write(compiled: &[Compiled<'_>], agents: &[AgentInfo]) -> String {
    let mut text = serde_json::to_string_pretty(&manifest(compiled, agents))
        .expect("the manifest always serialises");
    text.push('\n');
    text
}

pub fn manifest<'a>(compiled: &'a [Compiled<'a>], agents: &'a [AgentInfo]) -> Manifest<'a> {
    // Agent name → (longest task timeout, workflows using it).
    let mut used: BTreeMap<&str, (u32, Vec<&str>)> = BTreeMap::new();
    for c in compiled {
        for call in c.workflow.agent_calls() {
            let entry = used.entry(&call.agent).or_default();
            entry.0 = entry.0.max(
                call.timeout_seconds
                    .unwrap_or(DEFAULT_AGENT_TIMEOUT_SECONDS),
            );
            if !entry.1.contains(&c.workflow.name.as_str()) {
                entry.1.push(&c.workflow.name);
            }
        }
    }
    let agents = used
        .into_iter()
        .filter_map(|(agent, (timeout, workflows))| {
            let info = agents.iter().find(|a| a.name == agent)?;
            Some(AgentFunction {
                agent,
                function_name: function_name(agent),
                substitution: agent_substitution(agent),
                description: &info.description,
                capabilities: &info.capabilities,
                model: info.model.as_deref(),
                model_parameter: agent_model_parameter(agent),
                model_variable: switchyard_ir::model_override_variable(agent),
                input_type: &info.input_type,
                output_type: &info.output_type,
                input_schema: &info.input_schema,
                output_schema: &info.output_schema,
                timeout_seconds: (timeout + FUNCTION_TIMEOUT_MARGIN_SECONDS).min(900),
                workflows,
            })
        })
        .collect();
    let state_machines = compiled
        .iter()
        .map(|c| {
            let wf = c.workflow;
            let mut substitutions: Vec<String> = wf
                .agent_calls()
                .map(|call| agent_substitution(&call.agent))
                .collect();
            if !substitutions.is_empty() {
                // Paused steps wait with the run-tracker.
                substitutions.push(RUN_TRACKER_SUBSTITUTION.to_owned());
            }
            if wf.approval_gates().next().is_some() {
                // A gate asks for approval, and its timeout path tells the run-tracker.
                substitutions.push(APPROVAL_REQUEST_SUBSTITUTION.to_owned());
                substitutions.push(RUN_TRACKER_SUBSTITUTION.to_owned());
            }
            substitutions.sort();
            substitutions.dedup();
            StateMachine {
                workflow: &wf.name,
                name: state_machine_name(&wf.name),
                comment: wf.comment.as_deref(),
                input_type: &wf.input_type,
                definition: super::asl::file_name(wf),
                diagram: super::mermaid::file_name(wf),
                substitutions,
                approval_gates: wf
                    .steps
                    .iter()
                    .filter(|s| matches!(s.kind, StepKind::Approval(_)))
                    .map(|s| s.name.as_str())
                    .collect(),
                budget: wf.budget.as_ref(),
                estimate: &c.estimate,
            }
        })
        .collect();
    Manifest {
        version: 1,
        agents,
        platform_functions: Platform::ALL
            .into_iter()
            .map(|function| PlatformFunction {
                function,
                role: function.as_str(),
                function_name: function_name(function.as_str()),
                // The state machines call these two.
                substitution: match function {
                    Platform::ApprovalRequest => Some(APPROVAL_REQUEST_SUBSTITUTION),
                    Platform::RunTracker => Some(RUN_TRACKER_SUBSTITUTION),
                    Platform::ApprovalCallback | Platform::Api => None,
                },
            })
            .collect(),
        state_machines,
    }
}
