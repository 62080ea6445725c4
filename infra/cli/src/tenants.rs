//! `switchyard tenants create-key`: the one way API keys are made (the deploy step calls it
//! too).

use clap::{Args, Subcommand};
use serde_json::json;
use switchyard_api::keys::ApiKeys;

use crate::deployment;
use crate::error::CliError;
use crate::output::print_json;
use crate::{Context, Outcome};

#[derive(Subcommand)]
pub enum TenantsCommand {
    /// Create an API key for a tenant and print it once.
    CreateKey(CreateKeyArgs),
}

#[derive(Args)]
pub struct CreateKeyArgs {
    #[arg(long)]
    tenant: String,
    /// Also keep it in .cache/api-key-<target> for later commands.
    #[arg(long)]
    save: bool,
}

pub async fn run(context: &Context, command: TenantsCommand) -> Result<Outcome, CliError> {
    let TenantsCommand::CreateKey(args) = command;
    context.deployment()?;
    let config = aws_config::load_from_env().await;
    let key = ApiKeys::from_env(&config)?.create(&args.tenant).await?;
    let saved = if args.save {
        Some(deployment::save_api_key(
            &context.root,
            context.target,
            &key.api_key,
        )?)
    } else {
        None
    };
    if context.json {
        print_json(&json!({
            "tenant_id": key.tenant_id,
            "api_key": key.api_key,
            "created_at": key.created_at,
            "saved_to": saved,
        }));
    } else {
        println!("API key for tenant {} (shown only now):", key.tenant_id);
        println!("{}", key.api_key);
        if let Some(path) = saved {
            println!("saved to {}", path.display());
        }
    }
    Ok(Outcome::Done)
}
