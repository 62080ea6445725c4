//! `switchyard agents [NAME]`: the registry, with each agent's health for this tenant.

use clap::Args;
use serde_json::Value;

use crate::error::CliError;
use crate::output::{self, print_json, Align};
use crate::{Context, Outcome};

#[derive(Args)]
pub struct AgentsArgs {
    /// One agent in detail: its schemas, workflows and last error.
    name: Option<String>,
    /// Only agents declaring this capability.
    #[arg(long, conflicts_with = "name")]
    capability: Option<String>,
    /// Only agents a step of this workflow calls.
    #[arg(long, conflicts_with = "name")]
    workflow: Option<String>,
    /// The health window in minutes (default: the last day; at most a week).
    #[arg(long)]
    window_minutes: Option<u64>,
}

pub async fn run(context: &Context, args: AgentsArgs) -> Result<Outcome, CliError> {
    let client = context.client().await?;
    let mut query = Vec::new();
    if let Some(minutes) = args.window_minutes {
        query.push(("window_minutes", minutes.to_string()));
    }
    if let Some(name) = &args.name {
        let agent = client.get(&format!("/agents/{name}"), &query).await?;
        if context.json {
            print_json(&agent);
        } else {
            show_agent(&agent);
        }
        return Ok(Outcome::Done);
    }
    if let Some(capability) = args.capability {
        query.push(("capability", capability));
    }
    if let Some(workflow) = args.workflow {
        query.push(("workflow", workflow));
    }
    let list = client.get("/agents", &query).await?;
    if context.json {
        print_json(&list);
        return Ok(Outcome::Done);
    }
    let agents = list["agents"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = agents.iter().map(health_row).collect();
    println!(
        "{}",
        output::table(
            &[
                ("agent", Align::Left),
                ("capabilities", Align::Left),
                ("model", Align::Left),
                ("attempts", Align::Right),
                ("success", Align::Right),
                ("p50", Align::Right),
                ("p95", Align::Right),
                ("tokens", Align::Right),
                ("cost", Align::Right),
                ("last error", Align::Left),
            ],
            &rows,
        )
    );
    println!(
        "\n{} agents; health over the last {} minutes, this tenant's attempts only. `switchyard agents NAME` shows one with its schemas.",
        agents.len(),
        output::text(&list["window_minutes"]),
    );
    Ok(Outcome::Done)
}

fn health_row(agent: &Value) -> Vec<String> {
    let health = &agent["health"];
    vec![
        output::text(&agent["name"]),
        list(&agent["capabilities"]),
        model(&agent["model"]),
        output::count(&health["attempts"]),
        rate(&health["success_rate"]),
        output::millis(&health["latency_ms"]["p50"]),
        output::millis(&health["latency_ms"]["p95"]),
        (health["tokens_in"].as_u64().unwrap_or_default()
            + health["tokens_out"].as_u64().unwrap_or_default())
        .to_string(),
        output::cost(&health["cost_usd"]),
        output::text(&health["last_error"]["error"]),
    ]
}

/// The declared model, or what an agent without one asks.
fn model(value: &Value) -> String {
    value
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| "(primary)".to_owned())
}

fn list(value: &Value) -> String {
    let items: Vec<String> = value
        .as_array()
        .map(|items| items.iter().map(output::text).collect())
        .unwrap_or_default();
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}

fn rate(value: &Value) -> String {
    value
        .as_f64()
        .map(|rate| format!("{:.0}%", rate * 100.0))
        .unwrap_or_else(|| "-".to_owned())
}

fn show_agent(agent: &Value) {
    let health = &agent["health"];
    println!(
        "{}  ({})\n{}",
        output::text(&agent["name"]),
        output::text(&agent["function_name"]),
        output::text(&agent["description"]),
    );
    println!("capabilities: {}", list(&agent["capabilities"]));
    println!(
        "model:        {} (a deployment may choose another for its function)",
        model(&agent["model"])
    );
    println!("workflows:    {}", list(&agent["workflows"]));
    println!(
        "input:        {}\noutput:       {}",
        output::text(&agent["input_type"]),
        output::text(&agent["output_type"]),
    );
    println!(
        "\nlast {} minutes: {} attempts ({} succeeded, {} failed, {} running), success {}, latency p50 {} p95 {} max {}, {} tokens in / {} out, {}{}",
        output::text(&health["window_minutes"]),
        output::count(&health["attempts"]),
        output::count(&health["succeeded"]),
        output::count(&health["failed"]),
        output::count(&health["running"]),
        rate(&health["success_rate"]),
        output::millis(&health["latency_ms"]["p50"]),
        output::millis(&health["latency_ms"]["p95"]),
        output::millis(&health["latency_ms"]["max"]),
        output::count(&health["tokens_in"]),
        output::count(&health["tokens_out"]),
        output::cost(&health["cost_usd"]),
        if health["truncated"] == true {
            " (the newest 1,000 attempts)"
        } else {
            ""
        },
    );
    if let Some(error) = health["last_error"].as_object() {
        println!(
            "last error:   {} at {} (run {}, step {}): {}",
            output::text(&error["error"]),
            output::timestamp(&error["at"]),
            output::text(&error["run_id"]),
            output::text(&error["step"]),
            output::text(&error["message"]),
        );
    }
    for (label, key) in [
        ("input schema", "input_schema"),
        ("output schema", "output_schema"),
    ] {
        let text = serde_json::to_string_pretty(&agent[key]).unwrap_or_default();
        println!("\n{label}:");
        for line in text.lines() {
            println!("  {line}");
        }
    }
}
