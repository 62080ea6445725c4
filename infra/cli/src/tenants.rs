//! `switchyard tenants create-key | list-keys | revoke-key`: the one way API keys are made
//! (the deploy step calls it too), seen and withdrawn.

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
    /// List keys (id, tenant, created, expiry, revocation); never the keys themselves.
    ListKeys(ListKeysArgs),
    /// Revoke a key by its id (from list-keys): it authenticates nobody from now on.
    RevokeKey(RevokeKeyArgs),
}

#[derive(Args)]
pub struct CreateKeyArgs {
    #[arg(long)]
    tenant: String,
    /// Also keep it in .cache/api-key-<target> for later commands.
    #[arg(long)]
    save: bool,
    /// The key stops working after this many days.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    expires_in_days: Option<u32>,
}

#[derive(Args)]
pub struct ListKeysArgs {
    /// Only this tenant's keys.
    #[arg(long)]
    tenant: Option<String>,
}

#[derive(Args)]
pub struct RevokeKeyArgs {
    /// The key's id, or its first 8 or more hex digits.
    #[arg(long)]
    key_id: String,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn time(ms: Option<u64>) -> String {
    ms.map(|ms| ms.to_string())
        .unwrap_or_else(|| "-".to_owned())
}

pub async fn run(context: &Context, command: TenantsCommand) -> Result<Outcome, CliError> {
    context.deployment()?;
    let config = aws_config::load_from_env().await;
    let keys = ApiKeys::from_env(&config)?;
    match command {
        TenantsCommand::CreateKey(args) => create(context, &keys, args).await,
        TenantsCommand::ListKeys(args) => {
            let listed = keys.list(args.tenant.as_deref()).await?;
            if context.json {
                print_json(&json!({ "keys": listed }));
            } else {
                let now = now_ms();
                println!(
                    "{:<14} {:<24} {:<15} {:<15} {:<15} state",
                    "key id", "tenant", "created", "expires", "revoked"
                );
                for key in &listed {
                    println!(
                        "{:<14} {:<24} {:<15} {:<15} {:<15} {}",
                        key.key_id,
                        key.tenant_id,
                        key.created_at,
                        time(key.expires_at),
                        time(key.revoked_at),
                        if key.usable(now) {
                            "active"
                        } else {
                            "unusable"
                        }
                    );
                }
            }
            Ok(Outcome::Done)
        }
        TenantsCommand::RevokeKey(args) => {
            let revoked = keys.revoke(&args.key_id).await?;
            if context.json {
                print_json(&json!(revoked));
            } else {
                println!(
                    "revoked key {} of tenant {}",
                    revoked.key_id, revoked.tenant_id
                );
            }
            Ok(Outcome::Done)
        }
    }
}

async fn create(
    context: &Context,
    keys: &ApiKeys,
    args: CreateKeyArgs,
) -> Result<Outcome, CliError> {
    let expires_at = args
        .expires_in_days
        .map(|days| now_ms() + u64::from(days) * 86_400_000);
    let key = keys.create_expiring(&args.tenant, expires_at).await?;
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
            "expires_at": expires_at,
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
