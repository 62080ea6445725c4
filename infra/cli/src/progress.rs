//! Following a run as it happens (the run's event stream, `GET /runs/{id}/events`,
//! long-polled), and its summary table.

use serde_json::Value;

use crate::client::Client;
use crate::error::CliError;
use crate::output::{self, Align};

/// How long one request of the stream waits for something new.
const WAIT_SECONDS: u64 = 20;

fn elapsed(started: Option<u64>, at: &Value) -> String {
    match (started, at.as_u64()) {
        (Some(start), Some(at)) => format!("{:>7.1}s", at.saturating_sub(start) as f64 / 1000.0),
        _ => format!("{:>8}", ""),
    }
}

fn attempt_name(event: &Value) -> String {
    let mut name = output::text(&event["step"]);
    if let Some(item) = event["item"].as_u64() {
        name.push_str(&format!("[{item}]"));
    }
    if let Some(attempt) = event["attempt"].as_u64().filter(|a| *a > 0) {
        name.push_str(&format!(" (retry {attempt})"));
    }
    name
}

/// One line (or a few) per event, timed from the run's start.
fn show(event: &Value, started: Option<u64>) {
    let at = elapsed(started, &event["at"]);
    match event["kind"].as_str().unwrap_or_default() {
        "run_started" => println!("{at}  ● started {}", output::text(&event["workflow"])),
        "step_started" => println!("{at}  ▶ {}", attempt_name(event)),
        "step_failed" => println!(
            "{at}  ✗ {}  {}: {}",
            attempt_name(event),
            output::text(&event["error_name"]),
            output::text(&event["error_message"]),
        ),
        "step_succeeded" => println!(
            "{at}  ✓ {}  {}  {} in / {} out tokens  {}",
            attempt_name(event),
            output::millis(&event["latency_ms"]),
            output::count(&event["tokens_in"]),
            output::count(&event["tokens_out"]),
            output::cost(&event["cost_usd"]),
        ),
        "gate_opened" => {
            let gate = output::text(&event["gate"]);
            println!(
                "{at}  ⏸ {gate}: {} — waiting for a decision",
                output::text(&event["subject"])
            );
            for line in output::summary_lines(event, "             ") {
                println!("{line}");
            }
            for (decision, link) in event["links"].as_object().into_iter().flatten() {
                println!("             {decision}: {}", output::text(link));
            }
            println!(
                "             or: switchyard approve --request {} --decision <decision>",
                output::text(&event["request_id"])
            );
        }
        "gate_decided" => {
            let (mark, outcome) = match event["decision"].as_str() {
                Some("reject") => ("✗", "rejected".to_owned()),
                Some("approve") | None => ("✓", "approved".to_owned()),
                Some(choice) => ("✓", format!("approved: {choice}")),
            };
            println!(
                "{at}  {mark} {}: {outcome}{}",
                output::text(&event["gate"]),
                event["decided_by"]
                    .as_str()
                    .map(|by| format!(" by {by}"))
                    .unwrap_or_default(),
            );
        }
        "gate_expired" => println!("{at}  ✗ {}: expired", output::text(&event["gate"])),
        "run_paused" => println!("{at}  ‖ paused: no step starts until it is resumed"),
        "run_resumed" => println!("{at}  ▶ resumed"),
        "run_ended" => println!("{at}  ■ {}", output::text(&event["status"])),
        other => println!("{at}  {other}"),
    }
}

/// Follows the run's event stream until it ends; prints each event unless `quiet`.
/// Returns the final view.
pub async fn follow(client: &Client, run_id: &str, quiet: bool) -> Result<Value, CliError> {
    let path = format!("/runs/{run_id}/events");
    let mut cursor: Option<String> = None;
    let mut started = None;
    loop {
        let mut query = vec![("wait", WAIT_SECONDS.to_string())];
        if let Some(cursor) = &cursor {
            query.push(("after", cursor.clone()));
        }
        let page = client.get(&path, &query).await?;
        for event in page["events"].as_array().into_iter().flatten() {
            if event["kind"] == "run_started" {
                started = event["at"].as_u64();
            }
            if !quiet {
                show(event, started);
            }
        }
        cursor = page["cursor"].as_str().map(str::to_owned);
        if page["ended"] == true {
            return client.get(&format!("/runs/{run_id}"), &[]).await;
        }
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
