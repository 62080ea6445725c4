//! Switchyard's back ends and the checks on whole definitions: validated workflow IR in,
//! deployable artefacts out.
//!
//! One writer per target — Amazon States Language (`asl`), Mermaid, the deployment manifest,
//! CloudFormation — each deterministic: same IR, same bytes. [`check`] runs every check on one
//! workflow (the IR's validation plus the limits only a rendered definition shows); the
//! `workflow!` macro runs it at `cargo build` and [`compile`] runs it again.

pub mod asl;
pub mod cloudformation;
pub mod manifest;
pub mod mermaid;

use std::collections::{BTreeMap, HashMap};

use heck::ToUpperCamelCase;

pub use switchyard_ir::MAX_DEFINITION_BYTES;
use switchyard_ir::{resource_key, ErrorKind, Estimate, Locus, ValidationError, Workflow};

/// `${AgentStoryWriterArn}`'s key for agent `story_writer`: the substitution the deploy step
/// fills with the function's ARN.
pub fn agent_substitution(agent: &str) -> String {
    format!("Agent{}Arn", pascal_case(agent))
}

/// The template parameter that sets agent `story_writer`'s `AGENT_MODEL`:
/// `ModelStoryWriter`.
pub fn agent_model_parameter(agent: &str) -> String {
    format!("Model{}", pascal_case(agent))
}

/// The approval-request function every gate invokes.
pub const APPROVAL_REQUEST_SUBSTITUTION: &str = "ApprovalRequestFunctionArn";
/// The run-tracker function every workflow invokes at its start and end.
pub const RUN_TRACKER_SUBSTITUTION: &str = "RunTrackerFunctionArn";

/// The deployed Lambda function name of an agent.
pub fn function_name(agent: &str) -> String {
    switchyard_ir::function_name(agent)
}

/// The deployed state machine name of a workflow.
pub fn state_machine_name(workflow: &str) -> String {
    format!("{}{workflow}", switchyard_ir::RESOURCE_PREFIX)
}

/// `story_writer` → `StoryWriter`: the logical ids and substitutions CloudFormation accepts
/// (letters and digits only). Words split at `_`, `-` and case changes, each capitalised and
/// the rest lower-cased (`HTTPCheck` → `HttpCheck`).
pub fn pascal_case(snake: &str) -> String {
    snake.to_upper_camel_case()
}

/// What the compiler knows about an agent besides the workflows' references to it.
#[derive(Clone, Debug)]
pub struct AgentInfo {
    pub name: String,
    pub description: String,
    /// `#[agent(capabilities = [...])]`.
    pub capabilities: Vec<String>,
    /// `#[agent(model = "...")]`.
    pub model: Option<String>,
    pub input_type: String,
    pub output_type: String,
    /// JSON Schemas of the JSON serde writes for the input and output.
    pub input_schema: serde_json::Value,
    pub output_schema: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("workflow `{workflow}`: {message}")]
    Invalid { workflow: String, message: String },
    #[error("workflow `{workflow}` references agent `{agent}`, which is not registered")]
    UnknownAgent { workflow: String, agent: String },
    #[error("two workflows are named `{0}`")]
    DuplicateWorkflow(String),
    #[error("{kind} `{first}` and `{second}` both deploy as `{key}` (AWS names ignore case and separators); rename one")]
    NameCollision {
        kind: &'static str,
        first: String,
        second: String,
        key: String,
    },
}

/// The files to write, by path relative to the output directory.
pub type Artefacts = BTreeMap<String, String>;

/// Every check on one workflow, in one place: the IR's validation, then the limits only the
/// rendered definition shows (its size). `workflow!` runs this at `cargo build`; [`compile`]
/// runs it again on what the program registered.
pub fn check(workflow: &Workflow) -> Result<(String, Estimate), Vec<ValidationError>> {
    switchyard_ir::validate(workflow)?;
    let definition = asl::write(workflow);
    if definition.len() > MAX_DEFINITION_BYTES {
        return Err(vec![ValidationError {
            locus: Locus::Workflow,
            kind: ErrorKind::DefinitionTooLarge {
                bytes: definition.len(),
            },
        }]);
    }
    Ok((definition, switchyard_ir::estimate(workflow)))
}

/// Two names that AWS would see as one (`score_lead` and `scoreLead` both deploy as
/// `AgentScoreLead...`).
fn collisions<'a>(
    kind: &'static str,
    names: impl Iterator<Item = &'a str>,
    errors: &mut Vec<CompileError>,
) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for name in names {
        let key = resource_key(name);
        match seen.get(key.as_str()) {
            Some(first) if *first != name => errors.push(CompileError::NameCollision {
                kind,
                first: (*first).to_owned(),
                second: name.to_owned(),
                key,
            }),
            Some(_) => {}
            None => {
                seen.insert(key, name);
            }
        }
    }
}

/// Validate every workflow and render every artefact. Collects all errors.
pub fn compile(
    workflows: &[Workflow],
    agents: &[AgentInfo],
) -> Result<Artefacts, Vec<CompileError>> {
    let mut errors = Vec::new();
    collisions(
        "agents",
        agents.iter().map(|a| a.name.as_str()),
        &mut errors,
    );
    collisions(
        "workflows",
        workflows.iter().map(|w| w.name.as_str()),
        &mut errors,
    );
    let mut seen = std::collections::HashSet::new();
    let mut compiled = Vec::new();
    for workflow in workflows {
        if !seen.insert(&workflow.name) {
            errors.push(CompileError::DuplicateWorkflow(workflow.name.clone()));
            continue;
        }
        let (definition, estimate) = match check(workflow) {
            Ok(checked) => checked,
            Err(invalid) => {
                errors.extend(invalid.into_iter().map(|e| CompileError::Invalid {
                    workflow: workflow.name.clone(),
                    message: describe(workflow, &e),
                }));
                continue;
            }
        };
        for call in workflow.agent_calls() {
            if !agents.iter().any(|a| a.name == call.agent) {
                errors.push(CompileError::UnknownAgent {
                    workflow: workflow.name.clone(),
                    agent: call.agent.clone(),
                });
            }
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
        files.insert(asl::file_name(c.workflow), c.definition.clone());
        files.insert(mermaid::file_name(c.workflow), mermaid::write(c.workflow));
    }
    files.insert(
        manifest::FILE_NAME.to_owned(),
        manifest::write(&compiled, agents),
    );
    let definitions: Vec<(String, String)> = compiled
        .iter()
        .map(|c| (c.workflow.name.clone(), c.definition.clone()))
        .collect();
    files.insert(
        cloudformation::FILE_NAME.to_owned(),
        cloudformation::write(&manifest::manifest(&compiled, agents), &definitions),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_pascal_case_ids() {
        assert_eq!(agent_substitution("story_writer"), "AgentStoryWriterArn");
        assert_eq!(pascal_case("run-tracker"), "RunTracker");
        assert_eq!(pascal_case("scoreLead_v2"), "ScoreLeadV2");
        assert_eq!(pascal_case("HTTPCheck"), "HttpCheck");
    }
}
