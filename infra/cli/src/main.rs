//! `switchyard`: run the demo, start and follow runs, decide approvals, serve the API locally
//! and create tenant keys, against the local stack or AWS.
//!
//! Exit codes: 0 done; 1 the command failed (the error says why); 2 bad usage; 3 a run it
//! waited for ended without succeeding.

mod agents;
mod approve;
mod client;
mod demo;
mod deployment;
mod error;
mod graph;
mod metrics;
mod output;
mod progress;
mod runs;
mod serve;
mod tenants;
mod workflows;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::Client;
use crate::deployment::{Deployment, Target};
use crate::error::CliError;

#[derive(Parser)]
#[command(name = "switchyard", version, about = "Run and follow Switchyard workflows", long_about = None)]
struct Cli {
    /// Which deployment: the local stack or AWS (read from .cache/deployed-<target>.json).
    #[arg(long, global = true, value_enum, default_value_t = Target::Local)]
    target: Target,
    /// Print exactly one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The campaign demo on the local stack: bring it up, deploy, run, follow, summarise.
    Demo(demo::DemoArgs),
    /// The deployed workflows, their input types and example inputs.
    Workflows,
    /// Start, inspect, list and cancel runs.
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Decide pending approvals (interactively, or one with --request and --decision).
    Approve(approve::ApproveArgs),
    /// The agent registry: capabilities, schemas, workflows, and health for this tenant.
    Agents(agents::AgentsArgs),
    /// Graphs of registered agents sent as JSON.
    #[command(subcommand)]
    Graph(graph::GraphCommand),
    /// Workflow completion and failure rates, execution times, agent success rates and
    /// approval turnaround for this tenant over a recent window.
    Metrics(metrics::MetricsArgs),
    /// Serve the API over local HTTP.
    Serve(serve::ServeArgs),
    /// Manage tenants' API keys.
    #[command(subcommand)]
    Tenants(tenants::TenantsCommand),
}

/// What a command may use: where the repository is, the target and its deployment.
pub struct Context {
    pub root: PathBuf,
    pub target: Target,
    pub json: bool,
    pub deployment: Option<Deployment>,
}

impl Context {
    pub fn deployment(&self) -> Result<&Deployment, CliError> {
        self.deployment
            .as_ref()
            .ok_or_else(|| CliError::NotDeployed {
                path: Deployment::path(&self.root, self.target),
                target: self.target.name().to_owned(),
            })
    }

    /// The API: its Function URL if deployed with one, else in-process.
    pub async fn client(&self) -> Result<Client, CliError> {
        let deployment = self.deployment()?;
        let key = deployment::api_key(&self.root, self.target)?;
        match &deployment.api_url {
            Some(url) => Ok(Client::remote(url, key)),
            None => Client::in_process(key).await,
        }
    }
}

/// What happened, as an exit code.
pub enum Outcome {
    Done,
    RunDidNotSucceed,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::RunDidNotSucceed) => ExitCode::from(3),
        Err(error) => {
            if json {
                output::print_json(&error.to_json());
            }
            eprintln!("switchyard: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<Outcome, CliError> {
    init_tracing(matches!(cli.command, Command::Serve(_)));
    let root = deployment::repo_root();
    // The demo deploys first; everything else reads what the last deploy wrote.
    if let Command::Demo(args) = &cli.command {
        demo::prepare_stack(&root, args)?;
    }
    let deployment = match Deployment::load(&root, cli.target) {
        Ok(deployment) => Some(deployment),
        Err(CliError::NotDeployed { .. }) => None,
        Err(e) => return Err(e),
    };
    // Before any thread exists: the AWS clients and stores read this environment.
    if let Some(deployment) = &deployment {
        deployment.export_environment(cli.target);
    }
    switchyard_agents::link();
    let context = Context {
        root,
        target: cli.target,
        json: cli.json,
        deployment,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("starting the async runtime"))?;
    runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(&context, args).await,
            Command::Workflows => workflows::run(&context),
            Command::Runs(command) => runs::run(&context, command).await,
            Command::Approve(args) => approve::run(&context, args).await,
            Command::Agents(args) => agents::run(&context, args).await,
            Command::Graph(command) => graph::run(&context, command).await,
            Command::Metrics(args) => metrics::run(&context, args).await,
            Command::Serve(args) => serve::run(&context, args).await,
            Command::Tenants(command) => tenants::run(&context, command).await,
        }
    })
}

/// Logs go to stderr: JSON lines at `info` for the server, warnings only otherwise so they
/// do not mix with command output. `RUST_LOG` overrides.
fn init_tracing(serving: bool) {
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if serving {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
