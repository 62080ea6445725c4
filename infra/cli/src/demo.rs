//! `switchyard demo`: the campaign workflow on the local stack, end to end — stack up, deploy,
//! API key, start, live progress per step (the model it asked, or code, with tokens and cost),
//! gates, summary, artefacts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Args;
use serde_json::{json, Value};
use switchyard_api::keys::ApiKeys;

use crate::client::Client;
use crate::deployment::{self, Target};
use crate::error::CliError;
use crate::output::{self, print_json};
use crate::{progress, runs, Context, Outcome};

#[derive(Args)]
pub struct DemoArgs {
    /// The campaign month, `YYYY-MM`.
    #[arg(long, default_value = "2024-11")]
    month: String,
    #[arg(long, default_value = "acme")]
    brand: String,
    /// The tenant a new API key is made for (when .cache/api-key-local has none that works).
    #[arg(long, default_value = "demo")]
    tenant: String,
    /// Approve every gate automatically; without it the gates wait for you.
    #[arg(long)]
    auto_approve: bool,
    /// Use what is deployed already instead of running infra/deploy.
    #[arg(long)]
    no_deploy: bool,
}

fn port(variable: &str, default: u16) -> u16 {
    std::env::var(variable)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

/// LocalStack answers its health check and DynamoDB Local accepts connections.
fn stack_healthy() -> bool {
    let timeout = Duration::from_secs(2);
    let localstack = SocketAddr::from(([127, 0, 0, 1], port("SWITCHYARD_LOCALSTACK_PORT", 4566)));
    let dynamodb = SocketAddr::from(([127, 0, 0, 1], port("SWITCHYARD_DYNAMODB_PORT", 8000)));
    let localstack_ok = TcpStream::connect_timeout(&localstack, timeout)
        .and_then(|mut stream| {
            stream.set_read_timeout(Some(timeout))?;
            stream.write_all(b"GET /_localstack/health HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut status = [0u8; 12];
            stream.read_exact(&mut status)?;
            Ok(status.ends_with(b" 200"))
        })
        .unwrap_or(false);
    localstack_ok && TcpStream::connect_timeout(&dynamodb, timeout).is_ok()
}

/// Runs a repository script; its output goes to stderr so stdout stays the command's own.
fn script(root: &Path, name: &str, args: &[&str]) -> Result<(), CliError> {
    let command = format!("{name} {}", args.join(" "));
    eprintln!("==> {}", command.trim());
    let status = Command::new(root.join(name))
        .args(args)
        .current_dir(root)
        .stdout(std::io::stderr())
        .status()
        .map_err(CliError::io(format!("running {name}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::Script {
            command,
            status: status.to_string(),
        })
    }
}

/// Before the deployment file is read: bring the stack up if needed, and deploy. Deploys
/// with development auto-approval; a run without `--auto-approve` opts out of it.
pub fn prepare_stack(root: &Path, args: &DemoArgs) -> Result<(), CliError> {
    if !stack_healthy() {
        script(root, "infra/local-up", &[])?;
        if !stack_healthy() {
            return Err(CliError::StackDown);
        }
    }
    if !args.no_deploy {
        script(
            root,
            "infra/deploy",
            &["--target", "local", "--auto-approve"],
        )?;
    }
    Ok(())
}

/// A client whose key works: the saved one, else a new key for `tenant`, saved.
async fn client_with_key(context: &Context, tenant: &str) -> Result<Client, CliError> {
    if deployment::api_key(&context.root, Target::Local).is_ok() {
        let client = context.client().await?;
        match client.get("/runs", &[("limit", "1".to_owned())]).await {
            Ok(_) => return Ok(client),
            // The key's table was recreated (DynamoDB Local restarted): make a new one.
            Err(CliError::Api { status: 401, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let config = aws_config::load_from_env().await;
    let key = ApiKeys::from_env(&config)?.create(tenant).await?;
    let path = deployment::save_api_key(&context.root, Target::Local, &key.api_key)?;
    eprintln!(
        "created an API key for tenant {tenant}, saved to {}",
        path.display()
    );
    context.client().await
}

/// Keeps what the run produced under `.cache/demo/<run id>/`.
async fn save_artefacts(
    context: &Context,
    client: &Client,
    run: &Value,
) -> Result<Vec<PathBuf>, CliError> {
    let run_id = output::text(&run["run_id"]);
    let dir = context.root.join(".cache/demo").join(&run_id);
    std::fs::create_dir_all(&dir).map_err(CliError::io(dir.display().to_string()))?;
    let timeline = client.get(&format!("/runs/{run_id}/timeline"), &[]).await?;
    let mut files = vec![("run.json", run.clone()), ("timeline.json", timeline)];
    if let Some(result) = run.get("output") {
        files.push(("output.json", result.clone()));
    }
    let mut written = Vec::new();
    for (name, value) in files {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        std::fs::write(&path, text + "\n").map_err(CliError::io(path.display().to_string()))?;
        written.push(path);
    }
    Ok(written)
}

pub async fn run(context: &Context, args: DemoArgs) -> Result<Outcome, CliError> {
    if context.target != Target::Local {
        return Err(CliError::DemoIsLocal);
    }
    let client = client_with_key(context, &args.tenant).await?;
    let body = json!({
        "brand_id": args.brand,
        "selected_month": args.month,
        "auto_approve": args.auto_approve,
    });
    let started = client.call("POST", "/runs/start", &[], Some(&body)).await?;
    let run_id = output::text(&started["run_id"]);
    if !context.json {
        println!(
            "\nrun {run_id} started: campaign-creation for brand {}, month {} (tenant {}, via {})",
            args.brand,
            args.month,
            output::text(&started["tenant_id"]),
            client.describe(),
        );
        if args.auto_approve {
            println!("gates are approved automatically\n");
        } else {
            println!("gates wait for you: open a link below, or run `switchyard approve` in another terminal\n");
        }
    }
    let run = progress::follow(&client, &run_id, context.json).await?;
    let artefacts = save_artefacts(context, &client, &run).await?;
    let tables = context.deployment()?.tables.clone();
    if context.json {
        print_json(&json!({ "run": run, "artefacts": artefacts, "tables": tables }));
        return Ok(runs::outcome_of(&run));
    }
    println!();
    runs::show_run(&run);
    println!("\nartefacts:");
    for path in &artefacts {
        println!("  {}", path.display());
    }
    for (kind, table) in &tables {
        if let Some(table) = table {
            println!("  DynamoDB table {table} ({kind})");
        }
    }
    println!("  execution {}", output::text(&run["execution_arn"]));
    println!("  switchyard runs timeline {run_id}   |   switchyard runs logs {run_id}");
    Ok(runs::outcome_of(&run))
}
