//! The Switchyard compiler: validated workflow IR in, deployable artefacts out.
//!
//! `back/` holds one writer per target: Amazon States Language, Mermaid, the deployment
//! manifest. [`compile`] runs them all; `main.rs` only discovers workflows and does I/O.

pub mod back;

use std::collections::BTreeMap;

use switchyard_ir::{Estimate, Workflow, MAX_HISTORY_EVENTS};

/// Step Functions' limit on a state machine definition.
pub const MAX_DEFINITION_BYTES: usize = 1_048_576;

/// What the compiler knows about an agent besides the workflows' references to it.
#[derive(Clone, Debug)]
pub struct AgentInfo {
    pub name: String,
    pub description: String,
    pub input_type: String,
    pub output_type: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("workflow `{workflow}`: {message}")]
    Invalid { workflow: String, message: String },
    #[error("workflow `{workflow}` references agent `{agent}`, which is not registered")]
    UnknownAgent { workflow: String, agent: String },
    #[error("two workflows are named `{0}`")]
    DuplicateWorkflow(String),
    #[error("workflow `{workflow}`: the definition is {bytes} bytes; Step Functions accepts at most {MAX_DEFINITION_BYTES}")]
    DefinitionTooLarge { workflow: String, bytes: usize },
    #[error("workflow `{workflow}`: a run may take {events} history events; Step Functions stops a run at {MAX_HISTORY_EVENTS} (lower loop bounds or map max_items)")]
    HistoryBudget { workflow: String, events: u64 },
}

/// The files to write, by path relative to the output directory.
pub type Artefacts = BTreeMap<String, String>;

/// Validate every workflow and render every artefact. Collects all errors.
pub fn compile(
    workflows: &[Workflow],
    agents: &[AgentInfo],
) -> Result<Artefacts, Vec<CompileError>> {
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut compiled = Vec::new();
    for workflow in workflows {
        if !seen.insert(&workflow.name) {
            errors.push(CompileError::DuplicateWorkflow(workflow.name.clone()));
            continue;
        }
        if let Err(invalid) = switchyard_ir::validate(workflow) {
            errors.extend(invalid.into_iter().map(|e| CompileError::Invalid {
                workflow: workflow.name.clone(),
                message: describe(workflow, &e),
            }));
            continue;
        }
        for call in workflow.agent_calls() {
            if !agents.iter().any(|a| a.name == call.agent) {
                errors.push(CompileError::UnknownAgent {
                    workflow: workflow.name.clone(),
                    agent: call.agent.clone(),
                });
            }
        }
        let definition = back::asl::write(workflow);
        if definition.len() > MAX_DEFINITION_BYTES {
            errors.push(CompileError::DefinitionTooLarge {
                workflow: workflow.name.clone(),
                bytes: definition.len(),
            });
        }
        let estimate = switchyard_ir::estimate(workflow);
        if estimate.history_events > MAX_HISTORY_EVENTS {
            errors.push(CompileError::HistoryBudget {
                workflow: workflow.name.clone(),
                events: estimate.history_events,
            });
        }
        compiled.push(Compiled {
            workflow,
            definition,
            estimate,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut files = Artefacts::new();
    for c in &compiled {
        files.insert(back::asl::file_name(c.workflow), c.definition.clone());
        files.insert(
            back::mermaid::file_name(c.workflow),
            back::mermaid::write(c.workflow),
        );
    }
    files.insert(
        back::manifest::FILE_NAME.to_owned(),
        back::manifest::write(&compiled, agents),
    );
    let definitions: Vec<(String, String)> = compiled
        .iter()
        .map(|c| (c.workflow.name.clone(), c.definition.clone()))
        .collect();
    files.insert(
        back::cloudformation::FILE_NAME.to_owned(),
        back::cloudformation::write(&back::manifest::manifest(&compiled, agents), &definitions),
    );
    Ok(files)
}

/// One workflow that passed validation, with what the back ends derived from it.
pub struct Compiled<'a> {
    pub workflow: &'a Workflow,
    pub definition: String,
    pub estimate: Estimate,
}

fn describe(workflow: &Workflow, error: &switchyard_ir::ValidationError) -> String {
    match error.locus {
        switchyard_ir::Locus::Workflow => error.to_string(),
        switchyard_ir::Locus::Step(id) | switchyard_ir::Locus::Setting(id, _) => {
            format!("step `{}`: {error}", workflow.step(id).name)
        }
    }
}
