//! Following a run as it happens (polling `GET /runs/{id}`), and its summary table.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use crate::client::Client;
use crate::error::CliError;
use crate::output::{self, Align};

const POLL: Duration = Duration::from_millis(500);

/// Prints each step attempt and approval of a run once, as they change.
#[derive(Default)]
struct Follower {
    attempts: HashSet<(String, String)>,
    approvals: HashMap<String, String>,
}

/// Approval times are whole seconds; the moment the change was seen is closer.
fn seen_now() -> Value {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| Value::from(d.as_millis() as u64))
        .unwrap_or(Value::Null)
}

fn elapsed(run: &Value, at: &Value) -> String {
    match (run["created_at"].as_u64(), at.as_u64()) {
        (Some(start), Some(at)) => format!("{:>7.1}s", at.saturating_sub(start) as f64 / 1000.0),
        _ => format!("{:>8}", ""),
    }
}

fn attempt_name(step: &Value) -> String {
    let mut name = output::text(&step["step"]);
    if let Some(item) = step["item"].as_u64() {
        name.push_str(&format!("[{item}]"));
    }
    if let Some(attempt) = step["attempt"].as_u64().filter(|a| *a > 0) {
        name.push_str(&format!(" (retry {attempt})"));
    }
    name
}

impl Follower {
    fn show(&mut self, run: &Value) {
        for step in run["steps"].as_array().into_iter().flatten() {
            let key = output::text(&step["step_key"]);
            let status = output::text(&step["status"]);
            if !self.attempts.insert((key, status.clone())) {
                continue;
            }
            match status.as_str() {
                "running" => println!(
                    "{}  ▶ {}",
                    elapsed(run, &step["started_at"]),
                    attempt_name(step)
                ),
                "failed" => println!(
                    "{}  ✗ {}  {}: {}",
                    elapsed(run, &step["finished_at"]),
                    attempt_name(step),
                    output::text(&step["error_name"]),
                    output::text(&step["error_message"]),
                ),
                _ => println!(
                    "{}  ✓ {}  {}  {} in / {} out tokens  {}  {}",
                    elapsed(run, &step["finished_at"]),
                    attempt_name(step),
                    output::millis(&step["latency_ms"]),
                    output::count(&step["tokens_in"]),
                    output::count(&step["tokens_out"]),
                    output::cost(&step["cost_usd"]),
                    output::text(&step["model"]),
                ),
            }
        }
        for approval in run["approvals"].as_array().into_iter().flatten() {
            let id = output::text(&approval["request_id"]);
            let status = output::text(&approval["status"]);
            if self.approvals.get(&id) == Some(&status) {
                continue;
            }
            self.approvals.insert(id.clone(), status.clone());
            let gate = output::text(&approval["gate"]);
            match status.as_str() {
                "pending" => {
                    println!(
                        "{}  ⏸ {gate}: {} — waiting for a decision",
                        elapsed(run, &seen_now()),
                        output::text(&approval["subject"]),
                    );
                    for line in output::summary_lines(approval, "             ") {
                        println!("{line}");
                    }
                    for (decision, link) in approval["links"].as_object().into_iter().flatten() {
                        println!("             {decision}: {}", output::text(link));
                    }
                    println!(
                        "             or: switchyard approve --request {id} --decision <decision>"
                    );
                }
                _ => println!(
                    "{}  {} {gate}: {status}{}",
                    elapsed(run, &seen_now()),
                    if status == "approved" { "✓" } else { "✗" },
                    approval["decided_by"]
                        .as_str()
                        .map(|by| format!(" by {by}"))
                        .unwrap_or_default(),
                ),
            }
        }
    }
}

/// Polls the run until it leaves `running`; prints progress unless `quiet`. Returns the
/// final view.
pub async fn follow(client: &Client, run_id: &str, quiet: bool) -> Result<Value, CliError> {
    let mut follower = Follower::default();
    loop {
        let run = client.get(&format!("/runs/{run_id}"), &[]).await?;
        if !quiet {
            follower.show(&run);
        }
        if run["status"] != "running" {
            return Ok(run);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Every step attempt with what it cost, then the totals.
pub fn summary_table(run: &Value) -> String {
    let mut rows: Vec<Vec<String>> = run["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|step| {
            vec![
                output::text(&step["step"]),
                step["item"]
                    .as_u64()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                output::count(&step["attempt"]),
                output::text(&step["status"]),
                output::millis(&step["latency_ms"]),
                output::count(&step["tokens_in"]),
                output::count(&step["tokens_out"]),
                output::cost(&step["cost_usd"]),
                output::text(&step["model"]),
            ]
        })
        .collect();
    let totals = &run["totals"];
    rows.push(vec![
        "total".to_owned(),
        String::new(),
        output::count(&totals["step_attempts"]),
        output::text(&run["status"]),
        match (run["created_at"].as_u64(), run["finished_at"].as_u64()) {
            (Some(start), Some(end)) => output::millis(&Value::from(end.saturating_sub(start))),
            _ => "-".to_owned(),
        },
        output::count(&totals["tokens_in"]),
        output::count(&totals["tokens_out"]),
        output::cost(&totals["cost_usd"]),
        String::new(),
    ]);
    output::table(
        &[
            ("step", Align::Left),
            ("item", Align::Right),
            ("attempt", Align::Right),
            ("status", Align::Left),
            ("latency", Align::Right),
            ("tokens in", Align::Right),
            ("tokens out", Align::Right),
            ("cost", Align::Right),
            ("model", Align::Left),
        ],
        &rows,
    )
}
