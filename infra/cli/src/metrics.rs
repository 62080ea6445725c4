//! `switchyard metrics`: how this tenant's workflows, agents and approval gates did over a
//! recent window (`GET /metrics`).

use clap::Args;
use serde_json::Value;
use switchyard_state::RunStatus;

use crate::error::CliError;
use crate::output::{self, print_json, Align};
use crate::{Context, Outcome};

#[derive(Args)]
pub struct MetricsArgs {
    /// The window in minutes back from now (default: the last hour; at most 30 days).
    #[arg(long)]
    window_minutes: Option<u64>,
    /// Only this workflow: its runs, its agents' attempts in its runs, its gates.
    #[arg(long)]
    workflow: Option<String>,
}

pub async fn run(context: &Context, args: MetricsArgs) -> Result<Outcome, CliError> {
    let client = context.client().await?;
    let mut query = Vec::new();
    if let Some(minutes) = args.window_minutes {
        query.push(("window_minutes", minutes.to_string()));
    }
    if let Some(workflow) = args.workflow {
        query.push(("workflow", workflow));
    }
    let metrics = client.get("/metrics", &query).await?;
    if context.json {
        print_json(&metrics);
    } else {
        println!("{}", render(&metrics));
    }
    Ok(Outcome::Done)
}

fn rows(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

/// The three tables: workflows, agents, approval gates.
fn render(metrics: &Value) -> String {
    let workflows: Vec<Vec<String>> = rows(&metrics["workflows"])
        .iter()
        .map(|w| {
            let mut row = vec![
                output::text(&w["workflow"]),
                output::count(&w["runs_started"]),
            ];
            // One column per run status, as the answer has one count per status.
            row.extend(RunStatus::ALL.iter().map(|s| output::count(&w[s.as_str()])));
            row.extend([
                rate(&w["completion_rate"]),
                output::millis(&w["execution_ms"]["mean"]),
                output::millis(&w["execution_ms"]["p95"]),
                tokens(w),
                output::cost(&w["cost_usd"]),
                errors(&w["failures_by_error"]),
            ]);
            row
        })
        .collect();
    let agents: Vec<Vec<String>> = rows(&metrics["agents"])
        .iter()
        .map(|a| {
            vec![
                output::text(&a["agent"]),
                output::count(&a["attempts"]),
                output::count(&a["succeeded"]),
                output::count(&a["failed"]),
                rate(&a["success_rate"]),
                output::millis(&a["latency_ms"]["p50"]),
                output::millis(&a["latency_ms"]["p95"]),
                tokens(a),
                output::cost(&a["cost_usd"]),
                output::count(&a["model_calls"]),
                output::count(&a["cache_hits"]),
                output::count(&a["tokens_saved"]),
            ]
        })
        .collect();
    let mut gates: Vec<Vec<String>> = rows(&metrics["approvals"]["gates"])
        .iter()
        .map(|g| gate_row(&output::text(&g["workflow"]), &output::text(&g["gate"]), g))
        .collect();
    if gates.len() > 1 {
        gates.push(gate_row("all", "", &metrics["approvals"]["overall"]));
    }
    let window = &metrics["window"];
    let mut text = format!(
        "Last {} minutes ({} to {} UTC), this tenant's records only.\n\n",
        output::text(&window["minutes"]),
        output::timestamp(&window["from_ms"]),
        output::timestamp(&window["to_ms"]),
    );
    let mut workflow_columns = vec![("workflow", Align::Left), ("started", Align::Right)];
    workflow_columns.extend(RunStatus::ALL.iter().map(|s| (s.as_str(), Align::Right)));
    workflow_columns.extend([
        ("completion", Align::Right),
        ("mean", Align::Right),
        ("p95", Align::Right),
        ("tokens", Align::Right),
        ("cost", Align::Right),
        ("failures by error", Align::Left),
    ]);
    text.push_str(&section("workflows", &workflow_columns, &workflows));
    text.push_str(&section(
        "agents",
        &[
            ("agent", Align::Left),
            ("attempts", Align::Right),
            ("succeeded", Align::Right),
            ("failed", Align::Right),
            ("success", Align::Right),
            ("p50", Align::Right),
            ("p95", Align::Right),
            ("tokens", Align::Right),
            ("cost", Align::Right),
            ("model calls", Align::Right),
            ("cached", Align::Right),
            ("tokens saved", Align::Right),
        ],
        &agents,
    ));
    text.push_str(&section(
        "approvals",
        &[
            ("workflow", Align::Left),
            ("gate", Align::Left),
            ("requested", Align::Right),
            ("approved", Align::Right),
            ("rejected", Align::Right),
            ("expired", Align::Right),
            ("pending", Align::Right),
            ("turnaround p50", Align::Right),
            ("p95", Align::Right),
        ],
        &gates,
    ));
    let truncated = &metrics["truncated"];
    if truncated["runs"] == true || truncated["approvals"] == true {
        text.push_str(
            "\nThe window held more than was read: the figures cover the newest 5,000 runs and approval requests.\n",
        );
    }
    text.trim_end().to_owned()
}

fn section(title: &str, columns: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return format!("{title}: none in the window\n\n");
    }
    format!("{title}\n{}\n\n", output::table(columns, rows))
}

fn gate_row(workflow: &str, gate: &str, figures: &Value) -> Vec<String> {
    vec![
        workflow.to_owned(),
        gate.to_owned(),
        output::count(&figures["requested"]),
        output::count(&figures["approved"]),
        output::count(&figures["rejected"]),
        output::count(&figures["expired"]),
        output::count(&figures["pending"]),
        output::millis(&figures["turnaround_ms"]["p50"]),
        output::millis(&figures["turnaround_ms"]["p95"]),
    ]
}

fn rate(value: &Value) -> String {
    value
        .as_f64()
        .map(|rate| format!("{:.0}%", rate * 100.0))
        .unwrap_or_else(|| "-".to_owned())
}

fn tokens(figures: &Value) -> String {
    (figures["tokens_in"].as_u64().unwrap_or_default()
        + figures["tokens_out"].as_u64().unwrap_or_default())
    .to_string()
}

/// `Agent.Retryable 2, States.Timeout 1`, most frequent first.
fn errors(value: &Value) -> String {
    let mut counts: Vec<(&String, u64)> = value
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k, v.as_u64().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    if counts.is_empty() {
        return "-".to_owned();
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts
        .iter()
        .map(|(error, n)| format!("{error} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn three_tables_from_the_answer() {
        let metrics = json!({
            "window": { "from_ms": 0, "to_ms": 3_600_000, "minutes": 60 },
            "workflows": [{
                "workflow": "self-test", "runs_started": 6, "succeeded": 2, "failed": 3,
                "cancelled": 1, "running": 0, "ended": 6, "completion_rate": 0.3333,
                "failure_rate": 0.5,
                "failures_by_error": { "Switchyard.TooManyItems": 1, "Agent.Retryable": 2 },
                "execution_ms": { "mean": 3417, "p95": 12_000 },
                "tokens_in": 600, "tokens_out": 60, "cost_usd": 0.75,
            }],
            "agents": [{
                "agent": "flaky", "attempts": 4, "succeeded": 2, "failed": 2,
                "success_rate": 0.5, "latency_ms": { "p50": 20, "p95": 40, "max": 40 },
                "tokens_in": 28, "tokens_out": 12, "cost_usd": 2.0,
                "model_calls": 8, "cache_hits": 4, "tokens_saved": 16,
            }],
            "approvals": {
                "overall": { "requested": 1, "approved": 1, "rejected": 0, "expired": 0, "pending": 0, "turnaround_ms": { "p50": 4000, "p95": 4000 } },
                "gates": [{ "workflow": "gate-test", "gate": "ask", "requested": 1, "approved": 1, "rejected": 0, "expired": 0, "pending": 0, "turnaround_ms": { "p50": 4000, "p95": 4000 } }],
            },
            "truncated": { "runs": false, "approvals": false },
        });
        let text = render(&metrics);
        assert!(
            text.starts_with(
                "Last 60 minutes (1970-01-01 00:00:00 to 1970-01-01 01:00:00 UTC), this tenant's"
            ),
            "{text}"
        );
        assert!(text.contains("\nworkflows\nworkflow "), "{text}");
        assert!(
            text.contains("33%  3417 ms  12.0 s     660  $0.7500  Agent.Retryable 2, Switchyard.TooManyItems 1"),
            "{text}"
        );
        assert!(text.contains("\nagents\nagent "), "{text}");
        assert!(
            text.contains(
                "\nflaky         4          2       2      50%  20 ms  40 ms      40  $2.0000            8       4            16"
            ),
            "{text}"
        );
        assert!(text.contains("\napprovals\nworkflow "), "{text}");
        assert!(text.contains("gate-test  ask"), "{text}");
        assert!(!text.contains("more than was read"), "{text}");
    }

    #[test]
    fn an_empty_window_says_so() {
        let text = render(&json!({
            "window": { "from_ms": 0, "to_ms": 60_000, "minutes": 1 },
            "workflows": [], "agents": [],
            "approvals": { "overall": {}, "gates": [] },
            "truncated": { "runs": true, "approvals": false },
        }));
        assert!(text.contains("workflows: none in the window"), "{text}");
        assert!(text.contains("agents: none in the window"), "{text}");
        assert!(text.contains("approvals: none in the window"), "{text}");
        assert!(text.contains("more than was read"), "{text}");
    }
}
