//! `switchyard runs ...`: start, get, list, watch, pause, resume, cancel, logs, timeline, and
//! the run's page.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::error::CliError;
use crate::output::{self, print_json, Align};
use crate::{progress, workflows, Context, Outcome};

#[derive(Subcommand)]
pub enum RunsCommand {
    /// Start a run.
    Start(StartArgs),
    /// A run: status, steps with their cost, approvals, output or failure.
    Get { run_id: String },
    /// The tenant's runs, newest first.
    List(ListArgs),
    /// Stop a run, wherever it is (running, paused, waiting at a gate).
    Cancel { run_id: String },
    /// Pause a run: no step starts until it is resumed; steps already running finish.
    Pause { run_id: String },
    /// Resume a paused run where it stopped.
    Resume { run_id: String },
    /// Follow a run as it happens (its event stream) until it ends.
    Watch { run_id: String },
    /// The agents' log lines for a run.
    Logs(LogsArgs),
    /// The execution's events merged with the step attempts, in time order.
    Timeline { run_id: String },
    /// A step's model exchanges, attempt by attempt: round, whether the response cache
    /// answered, tokens, cost, latency, the prompt and the answer or tool calls (`--json`
    /// prints the whole trace).
    Trace { run_id: String, step: String },
    /// A short-lived link to the run's page (its workflow drawn live, steps, gates), for
    /// anyone, no API key needed: prints the link.
    #[command(visible_alias = "page")]
    Open(OpenArgs),
}

#[derive(Args)]
pub struct StartArgs {
    #[arg(long)]
    workflow: String,
    /// The run input as JSON, or `@FILE` to read it from a file.
    #[arg(long, conflicts_with = "example", required_unless_present = "example")]
    input: Option<String>,
    /// Use the workflow's shipped example input (infra/cli/examples/<workflow>.json).
    #[arg(long)]
    example: bool,
    /// Follow the run until it ends, printing each step.
    #[arg(long)]
    wait: bool,
    /// Make approval gates wait for a person even where the deployment auto-approves.
    #[arg(long)]
    no_auto_approve: bool,
    #[command(flatten)]
    budget: BudgetArgs,
}

/// A run's budget, each limit over the workflow's declared one.
#[derive(Args)]
pub struct BudgetArgs {
    /// Most tokens (in and out) the run's model exchanges may use.
    #[arg(long, value_name = "N")]
    budget_tokens: Option<u64>,
    /// Most US dollars the run's model exchanges may cost.
    #[arg(long, value_name = "USD")]
    budget_usd: Option<f64>,
}

impl BudgetArgs {
    /// The start body's `budget`, if a limit is given (the API checks the values).
    pub fn body(&self) -> Option<Value> {
        if self.budget_tokens.is_none() && self.budget_usd.is_none() {
            return None;
        }
        let mut budget = serde_json::Map::new();
        if let Some(tokens) = self.budget_tokens {
            budget.insert("tokens".into(), json!(tokens));
        }
        if let Some(usd) = self.budget_usd {
            budget.insert("usd".into(), json!(usd));
        }
        Some(Value::Object(budget))
    }
}

#[derive(Args)]
pub struct ListArgs {
    /// running, paused, succeeded, failed or cancelled.
    #[arg(long)]
    status: Option<String>,
    #[arg(long)]
    workflow: Option<String>,
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// The `next_cursor` of the previous page.
    #[arg(long)]
    cursor: Option<String>,
}

#[derive(Args)]
pub struct OpenArgs {
    run_id: String,
    /// How long the link works, in seconds (60 to 86400).
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    /// Also open it in a browser (`xdg-open`).
    #[arg(long)]
    open: bool,
}

#[derive(Args)]
pub struct LogsArgs {
    run_id: String,
    /// Lowest level shown: trace, debug, info, warn or error.
    #[arg(long)]
    level: Option<String>,
    /// Only this step's lines.
    #[arg(long)]
    step: Option<String>,
}

pub async fn run(context: &Context, command: RunsCommand) -> Result<Outcome, CliError> {
    match command {
        RunsCommand::Start(args) => start(context, args).await,
        RunsCommand::Get { run_id } => get(context, &run_id).await,
        RunsCommand::List(args) => list(context, args).await,
        RunsCommand::Cancel { run_id } => cancel(context, &run_id).await,
        RunsCommand::Pause { run_id } => pause_or_resume(context, &run_id, "pause").await,
        RunsCommand::Resume { run_id } => pause_or_resume(context, &run_id, "resume").await,
        RunsCommand::Watch { run_id } => {
            let client = context.client().await?;
            let run = progress::follow(&client, &run_id, context.json).await?;
            if context.json {
                print_json(&run);
            } else {
                show_run(&run);
            }
            Ok(outcome_of(&run))
        }
        RunsCommand::Logs(args) => logs(context, args).await,
        RunsCommand::Timeline { run_id } => timeline(context, &run_id).await,
        RunsCommand::Trace { run_id, step } => trace(context, &run_id, &step).await,
        RunsCommand::Open(args) => open(context, args).await,
    }
}

fn read_input(context: &Context, args: &StartArgs) -> Result<Value, CliError> {
    if args.example {
        return workflows::example(&context.root, &args.workflow);
    }
    let text = args.input.clone().unwrap_or_default();
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(CliError::io(path))?,
        None => text,
    };
    serde_json::from_str(&text).map_err(CliError::BadInput)
}

/// The outcome of a finished run, as an exit code.
pub fn outcome_of(run: &Value) -> Outcome {
    if run["status"] == "succeeded" {
        Outcome::Done
    } else {
        Outcome::RunDidNotSucceed
    }
}

async fn start(context: &Context, args: StartArgs) -> Result<Outcome, CliError> {
    let input = read_input(context, &args)?;
    let mut body = json!({ "workflow": args.workflow, "input": input });
    if args.no_auto_approve {
        body["auto_approve"] = json!(false);
    }
    if let Some(budget) = args.budget.body() {
        body["budget"] = budget;
    }
    let client = context.client().await?;
    let started = client.call("POST", "/runs/start", &[], Some(&body)).await?;
    let run_id = output::text(&started["run_id"]);
    if !args.wait {
        if context.json {
            print_json(&started);
        } else {
            println!(
                "run {run_id} started ({})",
                output::text(&started["workflow"])
            );
            println!("follow it: switchyard runs get {run_id}");
        }
        return Ok(Outcome::Done);
    }
    if !context.json {
        println!(
            "run {run_id} started ({}); following it\n",
            output::text(&started["workflow"])
        );
    }
    let run = progress::follow(&client, &run_id, context.json).await?;
    if context.json {
        print_json(&run);
    } else {
        println!();
        show_run(&run);
    }
    Ok(outcome_of(&run))
}

/// A run in text: header, step table, approvals, output or failure.
pub fn show_run(run: &Value) {
    println!(
        "run {}  {}  {}  (tenant {})",
        output::text(&run["run_id"]),
        output::text(&run["workflow"]),
        output::text(&run["status"]),
        output::text(&run["tenant_id"]),
    );
    // Several steps run at once inside a parallel or a map.
    let current = match run["current_steps"].as_array() {
        Some(steps) if steps.len() > 1 => steps
            .iter()
            .map(output::text)
            .collect::<Vec<_>>()
            .join(", "),
        _ => output::text(&run["current_step"]),
    };
    println!(
        "started {}  finished {}  current step {}",
        output::timestamp(&run["created_at"]),
        output::timestamp(&run["finished_at"]),
        current,
    );
    if let Some(line) = budget_line(run) {
        println!("{line}");
    }
    if let Some(parked) = run["parked"].as_array().filter(|p| !p.is_empty()) {
        let names: Vec<String> = parked
            .iter()
            .map(|p| match p["item"].as_u64() {
                Some(item) => format!("{}[{item}]", output::text(&p["step"])),
                None => output::text(&p["step"]),
            })
            .collect();
        println!("paused before: {}", names.join(", "));
    }
    println!("\n{}", progress::summary_table(run));
    let approvals = run["approvals"].as_array().cloned().unwrap_or_default();
    if !approvals.is_empty() {
        println!("\napprovals:");
        for approval in &approvals {
            println!(
                "  {}  {}  {}{}",
                output::text(&approval["gate"]),
                output::text(&approval["status"]),
                output::text(&approval["subject"]),
                approval["decided_by"]
                    .as_str()
                    .map(|by| format!("  (by {by})"))
                    .unwrap_or_default(),
            );
            if approval["status"] == "pending" {
                for line in output::summary_lines(approval, "      ") {
                    println!("{line}");
                }
            }
            for (decision, link) in approval["links"].as_object().into_iter().flatten() {
                println!("      {decision}: {}", output::text(link));
            }
        }
    }
    if let Some(failure) = run.get("failure") {
        println!(
            "\nfailed: {}: {}",
            output::text(&failure["error"]),
            output::text(&failure["cause"])
        );
    }
    if let Some(result) = run.get("output") {
        let text = serde_json::to_string_pretty(result).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        println!("\noutput:");
        for line in lines.iter().take(40) {
            println!("  {line}");
        }
        if lines.len() > 40 {
            println!("  … {} more lines (--json shows all)", lines.len() - 40);
        }
    }
}

/// `budget: 1200 of 200000 tokens, $0.0120 of $5.0000 spent`, for a run with a budget.
fn budget_line(run: &Value) -> Option<String> {
    let budget = run.get("budget")?.as_object()?;
    let spent = &run["spent"];
    let mut limits = Vec::new();
    if let Some(tokens) = budget.get("tokens").filter(|t| !t.is_null()) {
        limits.push(format!(
            "{} of {} tokens",
            output::count(&spent["tokens"]),
            output::count(tokens)
        ));
    }
    if let Some(usd) = budget.get("usd").filter(|u| !u.is_null()) {
        limits.push(format!(
            "{} of {}",
            output::cost(&spent["usd"]),
            output::cost(usd)
        ));
    }
    Some(format!("budget: {} spent", limits.join(", ")))
}

async fn open(context: &Context, args: OpenArgs) -> Result<Outcome, CliError> {
    let client = context.client().await?;
    let mut link = client
        .call(
            "POST",
            &format!("/runs/{}/view", args.run_id),
            &[("ttl_seconds", args.ttl.to_string())],
            None,
        )
        .await?;
    // The API answers a full URL when it knows where it was reached; in process it cannot.
    let url = match (output::text(&link["url"]), client.base_url()) {
        (url, Some(base)) if url.starts_with('/') => format!("{base}{url}"),
        (url, _) => url,
    };
    link["url"] = json!(url);
    if context.json {
        print_json(&link);
    } else {
        println!("{url}");
        eprintln!(
            "anyone with this link sees run {}'s page until {} UTC",
            args.run_id,
            output::timestamp(&link["expires_at"])
        );
        if url.starts_with('/') {
            eprintln!("(a path: serve the API with `switchyard serve` and open it there)");
        }
    }
    if args.open {
        match std::process::Command::new("xdg-open").arg(&url).status() {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!("xdg-open failed ({status}); open the link yourself"),
            Err(e) => eprintln!("could not run xdg-open ({e}); open the link yourself"),
        }
    }
    Ok(Outcome::Done)
}

async fn get(context: &Context, run_id: &str) -> Result<Outcome, CliError> {
    let run = context
        .client()
        .await?
        .get(&format!("/runs/{run_id}"), &[])
        .await?;
    if context.json {
        print_json(&run);
    } else {
        show_run(&run);
    }
    Ok(Outcome::Done)
}

async fn list(context: &Context, args: ListArgs) -> Result<Outcome, CliError> {
    let query = [
        ("status", args.status.unwrap_or_default()),
        ("workflow", args.workflow.unwrap_or_default()),
        ("limit", args.limit.to_string()),
        ("cursor", args.cursor.unwrap_or_default()),
    ];
    let page = context.client().await?.get("/runs", &query).await?;
    if context.json {
        print_json(&page);
        return Ok(Outcome::Done);
    }
    let rows: Vec<Vec<String>> = page["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|run| {
            vec![
                output::text(&run["run_id"]),
                output::text(&run["workflow"]),
                output::text(&run["status"]),
                output::timestamp(&run["created_at"]),
                output::timestamp(&run["finished_at"]),
                output::count(&run["totals"]["tokens_in"]),
                output::count(&run["totals"]["tokens_out"]),
                output::cost(&run["totals"]["cost_usd"]),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(
            &[
                ("run", Align::Left),
                ("workflow", Align::Left),
                ("status", Align::Left),
                ("created (UTC)", Align::Left),
                ("finished (UTC)", Align::Left),
                ("tokens in", Align::Right),
                ("tokens out", Align::Right),
                ("cost", Align::Right),
            ],
            &rows,
        )
    );
    if let Some(cursor) = page["next_cursor"].as_str() {
        println!("\nmore: switchyard runs list --cursor {cursor}");
    }
    Ok(Outcome::Done)
}

async fn cancel(context: &Context, run_id: &str) -> Result<Outcome, CliError> {
    let answer = context
        .client()
        .await?
        .call("DELETE", &format!("/runs/{run_id}"), &[], None)
        .await?;
    if context.json {
        print_json(&answer);
    } else {
        println!("run {run_id} cancelled");
    }
    Ok(Outcome::Done)
}

async fn pause_or_resume(context: &Context, run_id: &str, verb: &str) -> Result<Outcome, CliError> {
    let answer = context
        .client()
        .await?
        .call("POST", &format!("/runs/{run_id}/{verb}"), &[], None)
        .await?;
    if context.json {
        print_json(&answer);
    } else if verb == "pause" {
        println!("run {run_id} paused: no step starts until `switchyard runs resume {run_id}`");
    } else {
        println!(
            "run {run_id} resumed ({} waiting step(s) released)",
            output::count(&answer["released_steps"])
        );
    }
    Ok(Outcome::Done)
}

async fn logs(context: &Context, args: LogsArgs) -> Result<Outcome, CliError> {
    let query = [
        ("level", args.level.unwrap_or_default()),
        ("step", args.step.unwrap_or_default()),
    ];
    let answer = context
        .client()
        .await?
        .get(&format!("/runs/{}/logs", args.run_id), &query)
        .await?;
    if context.json {
        print_json(&answer);
        return Ok(Outcome::Done);
    }
    let lines = answer["lines"].as_array().cloned().unwrap_or_default();
    if lines.is_empty() {
        println!("no log lines for run {} (yet)", args.run_id);
    }
    for line in &lines {
        let mut fields = line["fields"].as_object().cloned().unwrap_or_default();
        // Shown in their own columns, or the same on every line of the run.
        for shown in [
            "level",
            "message",
            "step",
            "run_id",
            "timestamp",
            "tenant_id",
            "requestId",
            "xrayTraceId",
        ] {
            fields.remove(shown);
        }
        println!(
            "{}  {:<5}  {:<24}  {:<16}  {}  {}",
            output::timestamp(&line["at"]),
            output::text(&line["level"]),
            output::text(&line["function"]),
            output::text(&line["step"]),
            output::text(&line["message"]),
            if fields.is_empty() {
                String::new()
            } else {
                Value::Object(fields).to_string()
            },
        );
    }
    Ok(Outcome::Done)
}

async fn timeline(context: &Context, run_id: &str) -> Result<Outcome, CliError> {
    let answer = context
        .client()
        .await?
        .get(&format!("/runs/{run_id}/timeline"), &[])
        .await?;
    if context.json {
        print_json(&answer);
        return Ok(Outcome::Done);
    }
    let events = answer["events"].as_array().cloned().unwrap_or_default();
    let start = events
        .first()
        .and_then(|e| e["at"].as_u64())
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|event| {
            let at = event["at"].as_u64().unwrap_or_default();
            let what = event["state"]
                .as_str()
                .or(event["step"].as_str())
                .unwrap_or_default()
                .to_owned();
            let detail = match (event["error"].as_str(), event["cause"].as_str()) {
                (Some(error), Some(cause)) => format!("{error}: {cause}"),
                (Some(error), None) => error.to_owned(),
                _ if event["source"] == "agent" && event.get("latency_ms").is_some() => format!(
                    "{}  {}",
                    output::millis(&event["latency_ms"]),
                    progress::usage(event),
                ),
                _ => String::new(),
            };
            vec![
                format!("+{:.3}s", at.saturating_sub(start) as f64 / 1000.0),
                output::text(&event["type"]),
                what,
                detail,
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(
            &[
                ("at", Align::Right),
                ("event", Align::Left),
                ("state / step", Align::Left),
                ("detail", Align::Left),
            ],
            &rows,
        )
    );
    Ok(Outcome::Done)
}

async fn trace(context: &Context, run_id: &str, step: &str) -> Result<Outcome, CliError> {
    let answer = context
        .client()
        .await?
        .get(&format!("/runs/{run_id}/steps/{step}/trace"), &[])
        .await?;
    if context.json {
        print_json(&answer);
    } else {
        for line in trace_lines(&answer) {
            println!("{line}");
        }
    }
    Ok(Outcome::Done)
}

/// How much of a prompt, an answer or a call's arguments one line shows.
const TRACE_TEXT_CHARS: usize = 120;

/// `text` on one line (whitespace runs become one space), shortened with `…`.
fn one_line(text: &str, limit: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A step's trace (`GET /runs/{id}/steps/{step}/trace`) in text: each attempt, then each
/// exchange with its figures, the prompt's user text and what came back.
fn trace_lines(trace: &Value) -> Vec<String> {
    let mut lines = vec![format!(
        "run {}  {}  step {}",
        output::text(&trace["run_id"]),
        output::text(&trace["workflow"]),
        output::text(&trace["step"]),
    )];
    for attempt in trace["attempts"].as_array().into_iter().flatten() {
        let item = attempt["item"]
            .as_u64()
            .map(|i| format!(" item {i}"))
            .unwrap_or_default();
        let mut header = format!(
            "\nattempt {}{item}  {}  {} model call(s), {} cached",
            output::count(&attempt["attempt"]),
            output::text(&attempt["status"]),
            output::count(&attempt["model_calls"]),
            output::count(&attempt["cache_hits"]),
        );
        if attempt["cache_hits"].as_u64().unwrap_or_default() > 0 {
            header.push_str(&format!(
                " (saved {} tokens, {})",
                output::count(&attempt["tokens_saved"]),
                output::cost(&attempt["cost_saved_usd"]),
            ));
        }
        lines.push(header);
        let exchanges = attempt["exchanges"].as_array().cloned().unwrap_or_default();
        match attempt["trace"].as_str() {
            Some("none") => lines.push("  no model exchanges".to_owned()),
            Some("unavailable") => {
                lines.push("  the trace could not be stored or read (see the logs)".to_owned())
            }
            _ => {}
        }
        for exchange in &exchanges {
            lines.push(format!(
                "  #{}  {}  {}  {}/{} tokens  {}  {}",
                output::count(&exchange["round"]),
                if exchange["cached"] == true {
                    "cached"
                } else {
                    "model "
                },
                output::text(&exchange["model"]),
                output::count(&exchange["tokens_in"]),
                output::count(&exchange["tokens_out"]),
                output::cost(&exchange["cost_usd"]),
                output::millis(&exchange["latency_ms"]),
            ));
            let request = &exchange["request"];
            lines.push(format!(
                "      user:   {}",
                one_line(&output::text(&request["user"]), TRACE_TEXT_CHARS)
            ));
            let mut asked = Vec::new();
            if let Some(schema) = request["output_schema"].as_str() {
                asked.push(format!("answer as {schema}"));
            }
            if let Some(tools) = request["tools"].as_array().filter(|t| !t.is_empty()) {
                let names: Vec<String> = tools.iter().map(output::text).collect();
                asked.push(format!("tools {}", names.join(", ")));
            }
            if let Some(turns) = request["turns"].as_array().filter(|t| !t.is_empty()) {
                asked.push(format!("{} earlier turn(s)", turns.len()));
            }
            if !asked.is_empty() {
                lines.push(format!("      asked:  {}", asked.join("; ")));
            }
            let reply = &exchange["reply"];
            for call in reply["tool_calls"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "      call:   {}({})",
                    output::text(&call["name"]),
                    one_line(&call["arguments"].to_string(), TRACE_TEXT_CHARS)
                ));
            }
            if let Some(answer) = reply.get("answer") {
                lines.push(format!(
                    "      answer: {}",
                    one_line(&answer.to_string(), TRACE_TEXT_CHARS)
                ));
            }
            if let Some(text) = reply["text"].as_str() {
                lines.push(format!(
                    "      text:   {}",
                    one_line(text, TRACE_TEXT_CHARS)
                ));
            }
            if let Some(error) = exchange["error"].as_str() {
                lines.push(format!(
                    "      error:  {}",
                    one_line(error, TRACE_TEXT_CHARS)
                ));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_trace_prints_each_exchange_on_a_few_readable_lines() {
        let trace = json!({
            "run_id": "r1",
            "workflow": "cache-test",
            "step": "brief",
            "attempts": [
                {
                    "attempt": 0, "status": "succeeded", "model_calls": 2, "cache_hits": 2,
                    "tokens_saved": 150, "cost_saved_usd": 0.0021, "trace": "inline",
                    "exchanges": [
                        {
                            "round": 1, "cached": true, "model": "embedded:deterministic-v1",
                            "tokens_in": 90, "tokens_out": 12, "cost_usd": 0.0, "latency_ms": 4,
                            "request": {
                                "system": "s", "user": format!("Quarterly\n  results {}", "x".repeat(200)),
                                "output_schema": "Brief", "tools": ["word_count"],
                            },
                            "reply": { "tool_calls": [{ "id": "c", "name": "word_count", "arguments": { "text": "a b" } }] },
                        },
                        {
                            "round": 2, "cached": false, "model": "openai:gpt-4o-mini",
                            "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "latency_ms": 12_500,
                            "request": { "system": "s", "user": "u", "turns": [{}, {}] },
                            "error": "model provider throttled the request (HTTP 429)",
                        },
                    ],
                },
                { "attempt": 1, "item": 3, "status": "failed", "model_calls": 0, "cache_hits": 0, "trace": "none", "exchanges": [] },
            ],
        });
        let lines = trace_lines(&trace);
        assert_eq!(lines[0], "run r1  cache-test  step brief");
        assert_eq!(
            lines[1],
            "\nattempt 0  succeeded  2 model call(s), 2 cached (saved 150 tokens, $0.0021)"
        );
        assert_eq!(
            lines[2],
            "  #1  cached  embedded:deterministic-v1  90/12 tokens  $0.0000  4 ms"
        );
        assert!(
            lines[3].starts_with("      user:   Quarterly results xxx"),
            "{}",
            lines[3]
        );
        assert!(lines[3].ends_with('…'));
        assert_eq!(lines[4], "      asked:  answer as Brief; tools word_count");
        assert_eq!(lines[5], r#"      call:   word_count({"text":"a b"})"#);
        assert_eq!(
            lines[6],
            "  #2  model   openai:gpt-4o-mini  0/0 tokens  $0.0000  12.5 s"
        );
        assert_eq!(lines[8], "      asked:  2 earlier turn(s)");
        assert_eq!(
            lines[9],
            "      error:  model provider throttled the request (HTTP 429)"
        );
        assert_eq!(
            lines[10],
            "\nattempt 1 item 3  failed  0 model call(s), 0 cached"
        );
        assert_eq!(lines[11], "  no model exchanges");
    }

    #[test]
    fn a_runs_budget_shows_what_it_spent_of_each_limit() {
        let run = json!({
            "budget": { "tokens": 200_000, "usd": 5.0 },
            "spent": { "tokens": 1_200, "usd": 0.012 },
        });
        assert_eq!(
            budget_line(&run).as_deref(),
            Some("budget: 1200 of 200000 tokens, $0.0120 of $5.0000 spent")
        );
        let run = json!({ "budget": { "usd": 1 }, "spent": { "tokens": 0, "usd": 0.0 } });
        assert_eq!(
            budget_line(&run).as_deref(),
            Some("budget: $0.0000 of $1.0000 spent")
        );
        assert_eq!(budget_line(&json!({ "status": "running" })), None);
    }

    #[test]
    fn budget_flags_make_the_start_bodys_budget() {
        let flags = |tokens, usd| BudgetArgs {
            budget_tokens: tokens,
            budget_usd: usd,
        };
        assert_eq!(flags(None, None).body(), None);
        assert_eq!(flags(Some(10), None).body(), Some(json!({ "tokens": 10 })));
        assert_eq!(
            flags(Some(10), Some(0.5)).body(),
            Some(json!({ "tokens": 10, "usd": 0.5 }))
        );
    }
}
