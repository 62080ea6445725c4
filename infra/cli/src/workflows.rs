//! `switchyard workflows`: what can be started, with what input.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::CliError;
use crate::output::{self, print_json, Align};
use crate::{Context, Outcome};

fn examples_dir(root: &Path) -> PathBuf {
    root.join("infra/cli/examples")
}

/// The shipped example input of a workflow.
pub fn example(root: &Path, workflow: &str) -> Result<Value, CliError> {
    let dir = examples_dir(root);
    let path = dir.join(format!("{workflow}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CliError::NoExample {
                workflow: workflow.to_owned(),
                dir,
            })
        }
        Err(e) => return Err(CliError::io(path.display().to_string())(e)),
    };
    serde_json::from_str(&text).map_err(CliError::BadInput)
}

pub fn run(context: &Context) -> Result<Outcome, CliError> {
    let deployed = context.deployment.as_ref().map(|d| &d.state_machines);
    let workflows: Vec<Value> = switchyard_sdk::workflows()
        .iter()
        .map(|registration| {
            let definition = (registration.definition)();
            let example = example(&context.root, registration.name).ok();
            let example_fits = example
                .clone()
                .map(|input| (registration.check_input)(input).is_ok());
            json!({
                "workflow": registration.name,
                "description": definition.comment,
                "input_type": definition.input_type,
                "approval_gates": definition.approval_gates().map(|(step, _)| step.name.clone()).collect::<Vec<_>>(),
                "budget": definition.budget,
                "state_machine_arn": deployed.and_then(|d| d.get(registration.name)),
                "example_input": example,
                "example_fits": example_fits,
            })
        })
        .collect();
    if context.json {
        print_json(&json!({ "target": context.target.name(), "workflows": workflows }));
        return Ok(Outcome::Done);
    }
    if deployed.is_none() {
        println!(
            "nothing is deployed to {} yet; these are the workflows this build knows\n",
            context.target.name()
        );
    }
    let rows: Vec<Vec<String>> = workflows
        .iter()
        .map(|w| {
            vec![
                output::text(&w["workflow"]),
                if w["state_machine_arn"].is_string() {
                    "yes"
                } else {
                    "no"
                }
                .to_owned(),
                output::text(&w["input_type"]),
                w["approval_gates"]
                    .as_array()
                    .map(|g| g.iter().map(output::text).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
                budget(&w["budget"]),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(
            &[
                ("workflow", Align::Left),
                ("deployed", Align::Left),
                ("input type", Align::Left),
                ("approval gates", Align::Left),
                ("budget", Align::Left),
            ],
            &rows,
        )
    );
    println!("\nexample inputs (switchyard runs start --workflow NAME --example):");
    for w in &workflows {
        println!(
            "  {:<24} {}",
            output::text(&w["workflow"]),
            output::text(&w["example_input"])
        );
    }
    Ok(Outcome::Done)
}

/// A declared budget, `200000 tokens, $5.0000`; `-` for none.
fn budget(value: &Value) -> String {
    let mut limits = Vec::new();
    if let Some(tokens) = value.get("tokens").filter(|t| !t.is_null()) {
        limits.push(format!("{} tokens", output::count(tokens)));
    }
    if let Some(usd) = value.get("usd").filter(|u| !u.is_null()) {
        limits.push(output::cost(usd));
    }
    if limits.is_empty() {
        "-".to_owned()
    } else {
        limits.join(", ")
    }
}
