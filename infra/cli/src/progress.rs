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

/// What a finished attempt (a step record or its event) spent: the model it asked with its
/// tokens and cost, or `code` when it asked none.
pub fn usage(attempt: &Value) -> String {
    match attempt["model"].as_str() {
        Some(model) => format!(
            "{model}  {} in / {} out tokens  {}",
            output::count(&attempt["tokens_in"]),
            output::count(&attempt["tokens_out"]),
            output::cost(&attempt["cost_usd"]),
        ),
        None => "code, no model".to_owned(),
    }
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
            "{at}  ✓ {}  {}  {}",
            attempt_name(event),
            output::millis(&event["latency_ms"]),
            usage(event),
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

/// Stands for a number that does not apply: a step that asked no model spent no tokens.
const NONE: &str = "—";

/// Every step attempt with the model it asked (or `code`), its tokens and cost, then the
/// totals.
pub fn summary_table(run: &Value) -> String {
    let steps = run["steps"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut rows: Vec<Vec<String>> = steps
        .iter()
        .map(|step| {
            let mut row = vec![
                output::text(&step["step"]),
                step["item"]
                    .as_u64()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                output::count(&step["attempt"]),
                output::text(&step["status"]),
                output::millis(&step["latency_ms"]),
            ];
            match step["model"].as_str() {
                Some(model) => row.extend([
                    model.to_owned(),
                    output::count(&step["tokens_in"]),
                    output::count(&step["tokens_out"]),
                    output::cost(&step["cost_usd"]),
                ]),
                // A failed or unfinished attempt may have died before its model answered.
                None => row.extend([
                    if step["status"] == "succeeded" {
                        "code".to_owned()
                    } else {
                        NONE.to_owned()
                    },
                    NONE.to_owned(),
                    NONE.to_owned(),
                    NONE.to_owned(),
                ]),
            }
            row
        })
        .collect();
    let totals = &run["totals"];
    let asked = steps.iter().filter(|s| s["model"].is_string()).count();
    rows.push(vec![
        "total".to_owned(),
        String::new(),
        output::count(&totals["step_attempts"]),
        output::text(&run["status"]),
        match (run["created_at"].as_u64(), run["finished_at"].as_u64()) {
            (Some(start), Some(end)) => output::millis(&Value::from(end.saturating_sub(start))),
            _ => "-".to_owned(),
        },
        format!("{asked} of {} asked a model", steps.len()),
        output::count(&totals["tokens_in"]),
        output::count(&totals["tokens_out"]),
        output::cost(&totals["cost_usd"]),
    ]);
    output::table(
        &[
            ("step", Align::Left),
            ("item", Align::Right),
            ("attempt", Align::Right),
            ("status", Align::Left),
            ("latency", Align::Right),
            ("model", Align::Left),
            ("tokens in", Align::Right),
            ("tokens out", Align::Right),
            ("cost", Align::Right),
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_summary_says_which_steps_asked_a_model_and_what_they_spent() {
        let run = json!({
            "status": "succeeded",
            "created_at": 1_000,
            "finished_at": 4_000,
            "steps": [
                { "step": "analyze", "attempt": 0, "status": "succeeded", "latency_ms": 12,
                  "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0 },
                { "step": "strategize", "attempt": 0, "status": "succeeded", "latency_ms": 40,
                  "tokens_in": 812, "tokens_out": 143, "cost_usd": 0.00123,
                  "model": "openai:gpt-4o-mini" },
                { "step": "qa", "attempt": 0, "status": "failed", "latency_ms": 5,
                  "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0 },
            ],
            "totals": {
                "step_attempts": 3, "tokens_in": 812, "tokens_out": 143, "cost_usd": 0.00123,
            },
        });
        let table = summary_table(&run);
        let lines: Vec<&str> = table.lines().collect();
        let cells = |line: &str| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            cells(lines[1]),
            [
                "analyze",
                "0",
                "succeeded",
                "12",
                "ms",
                "code",
                "—",
                "—",
                "—"
            ]
        );
        assert_eq!(
            cells(lines[2]),
            [
                "strategize",
                "0",
                "succeeded",
                "40",
                "ms",
                "openai:gpt-4o-mini",
                "812",
                "143",
                "$0.0012"
            ]
        );
        assert_eq!(
            cells(lines[3]),
            ["qa", "0", "failed", "5", "ms", "—", "—", "—", "—"]
        );
        assert!(lines[4].starts_with("total "), "{table}");
        assert_eq!(
            cells(lines[4]).join(" "),
            "total 3 succeeded 3000 ms 1 of 3 asked a model 812 143 $0.0012"
        );
        assert_eq!(
            usage(&run["steps"][1]),
            "openai:gpt-4o-mini  812 in / 143 out tokens  $0.0012"
        );
        assert_eq!(usage(&run["steps"][0]), "code, no model");
    }
}
