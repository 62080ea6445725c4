//! `switchyard approve`: decide the tenant's pending approvals through the API, which decides
//! through the same code path as the signed links.

use clap::Args;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};

use crate::client::Client;
use crate::error::CliError;
use crate::output::{self, print_json};
use crate::{Context, Outcome};

#[derive(Args)]
pub struct ApproveArgs {
    /// Only this run's approvals.
    #[arg(long)]
    run: Option<String>,
    /// Decide this request without asking (needs --decision).
    #[arg(long, requires = "decision")]
    request: Option<String>,
    /// The decision for --request: approve, reject, or one of the gate's choices.
    #[arg(long, requires = "request")]
    decision: Option<String>,
    /// Notes recorded with the decision (with --request). The decision is recorded as the
    /// API key's identity.
    #[arg(long)]
    notes: Option<String>,
}

async fn submit(
    client: &Client,
    request_id: &str,
    decision: &str,
    notes: Option<&str>,
) -> Result<Value, CliError> {
    let mut body = json!({ "request_id": request_id, "decision": decision });
    if let Some(notes) = notes.filter(|n| !n.is_empty()) {
        body["notes"] = json!(notes);
    }
    client
        .call("POST", "/approvals/submit", &[], Some(&body))
        .await
}

/// The decisions a request accepts, as the approvals store defines them.
fn decisions(approval: &Value) -> Vec<String> {
    let mut choices: Vec<String> = approval["choices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(output::text)
        .collect();
    if choices.is_empty() {
        choices.push("approve".to_owned());
    }
    choices.push("reject".to_owned());
    choices
}

async fn ask(
    lines: &mut Lines<BufReader<Stdin>>,
    prompt: &str,
) -> Result<Option<String>, CliError> {
    use std::io::Write;
    print!("{prompt}");
    std::io::stdout().flush().map_err(CliError::io("stdout"))?;
    let line = lines.next_line().await.map_err(CliError::io("stdin"))?;
    Ok(line.map(|l| l.trim().to_owned()))
}

pub async fn run(context: &Context, args: ApproveArgs) -> Result<Outcome, CliError> {
    let client = context.client().await?;
    if let (Some(request_id), Some(decision)) = (&args.request, &args.decision) {
        let decided = submit(&client, request_id, decision, args.notes.as_deref()).await?;
        if context.json {
            print_json(&decided);
        } else {
            println!(
                "{}: {} by {} (run {})",
                request_id,
                output::text(&decided["status"]),
                output::text(&decided["decided_by"]),
                output::text(&decided["run_id"]),
            );
        }
        return Ok(Outcome::Done);
    }
    let page = client
        .get(
            "/approvals",
            &[
                ("status", "pending".to_owned()),
                ("limit", "100".to_owned()),
            ],
        )
        .await?;
    let pending: Vec<Value> = page["approvals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| {
            args.run
                .as_ref()
                .is_none_or(|run| a["run_id"] == run.as_str())
        })
        .cloned()
        .collect();
    if context.json {
        print_json(&json!({ "approvals": pending }));
        return Ok(Outcome::Done);
    }
    if pending.is_empty() {
        println!("no pending approvals");
        return Ok(Outcome::Done);
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let total = pending.len();
    for (i, approval) in pending.iter().enumerate() {
        let request_id = output::text(&approval["request_id"]);
        let allowed = decisions(approval);
        println!(
            "\n[{}/{total}] {}",
            i + 1,
            output::text(&approval["subject"])
        );
        println!(
            "  run {} ({}) waits at gate {}; request {}",
            output::text(&approval["run_id"]),
            output::text(&approval["workflow"]),
            output::text(&approval["gate"]),
            request_id,
        );
        for line in output::summary_lines(approval, "  ") {
            println!("{line}");
        }
        println!("  what is decided: {}", output::text(&approval["summary"]));
        let decision = loop {
            let prompt = format!("  decision [{}/skip]: ", allowed.join("/"));
            match ask(&mut lines, &prompt).await? {
                None => return Ok(Outcome::Done),
                Some(answer) if answer.is_empty() || answer == "skip" => break None,
                Some(answer) if allowed.contains(&answer) => break Some(answer),
                Some(answer) => println!("  `{answer}` is not one of {}", allowed.join(", ")),
            }
        };
        let Some(decision) = decision else {
            println!("  skipped");
            continue;
        };
        let notes = ask(&mut lines, "  notes (optional): ")
            .await?
            .unwrap_or_default();
        match submit(&client, &request_id, &decision, Some(&notes)).await {
            Ok(decided) => println!(
                "  {} by {}",
                output::text(&decided["status"]),
                output::text(&decided["decided_by"])
            ),
            // Someone else decided first, or the run stopped waiting: say so, go on.
            Err(CliError::Api { message, .. }) => println!("  not decided: {message}"),
            Err(e) => return Err(e),
        }
    }
    Ok(Outcome::Done)
}
