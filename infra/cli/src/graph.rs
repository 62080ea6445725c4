//! `switchyard graph run FILE.json [--wait] [--budget-tokens N] [--budget-usd X]`: run a graph
//! of registered agents sent as JSON (`{graph, input}`, or the AI Orchestra
//! `{workflow_type, agents, input}`), and follow it like any other run.

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::error::CliError;
use crate::output::{self, print_json};
use crate::{progress, runs, Context, Outcome};

#[derive(Subcommand)]
pub enum GraphCommand {
    /// Check, build (once per distinct graph) and start a graph; `--wait` follows it.
    Run(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// The request as JSON: `{"graph": {"nodes": [...]}, "input": ...}` or the AI Orchestra
    /// form `{"workflow_type", "agents": [...], "input"}`.
    file: std::path::PathBuf,
    /// Follow the run until it ends, printing each step.
    #[arg(long)]
    wait: bool,
    // The run's budget, in place of a `budget` the file gives.
    #[command(flatten)]
    budget: runs::BudgetArgs,
}

pub async fn run(context: &Context, command: GraphCommand) -> Result<Outcome, CliError> {
    let GraphCommand::Run(args) = command;
    let path = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file).map_err(CliError::io(&path))?;
    let mut body: Value = serde_json::from_str(&text).map_err(CliError::BadInput)?;
    let endpoint = if body.get("agents").is_some() {
        "/run-graph"
    } else {
        "/graphs/run"
    };
    // The AI Orchestra form has no budget; the API refuses one there, naming it.
    if let (Some(budget), Some(object)) = (args.budget.body(), body.as_object_mut()) {
        object.insert("budget".into(), budget);
    }
    let client = context.client().await?;
    let started = client.call("POST", endpoint, &[], Some(&body)).await?;
    let run_id = output::text(
        started
            .get("run_id")
            .or_else(|| started.get("execution_id"))
            .unwrap_or(&Value::Null),
    );
    let workflow = output::text(
        started
            .get("workflow")
            .or_else(|| started.get("workflow_id"))
            .unwrap_or(&Value::Null),
    );
    if !args.wait {
        if context.json {
            print_json(&started);
        } else {
            println!("run {run_id} started ({workflow})");
            println!("stages: {}", stages(&started["stages"]));
            println!("follow it: switchyard runs get {run_id}");
        }
        return Ok(Outcome::Done);
    }
    if !context.json {
        println!(
            "run {run_id} started ({workflow}); stages {}; following it\n",
            stages(&started["stages"])
        );
    }
    let run = progress::follow(&client, &run_id, context.json).await?;
    if context.json {
        print_json(&run);
    } else {
        println!();
        runs::show_run(&run);
    }
    Ok(runs::outcome_of(&run))
}

/// `plan → frontend ‖ backend → qa`.
fn stages(value: &Value) -> String {
    value
        .as_array()
        .map(|stages| {
            stages
                .iter()
                .map(|stage| {
                    stage
                        .as_array()
                        .map(|nodes| {
                            nodes
                                .iter()
                                .map(output::text)
                                .collect::<Vec<_>>()
                                .join(" ‖ ")
                        })
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" → ")
        })
        .unwrap_or_default()
}
