//! Where things are: the repository, what `infra/deploy` recorded in
//! `.cache/deployed-<target>.json`, and the API key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use switchyard_state::schema::{env, Table, DEFAULT_TABLE_PREFIX};

use serde::Deserialize;

use crate::error::CliError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Local,
    Aws,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Local => "local",
            Target::Aws => "aws",
        }
    }
}

/// The repository: `SWITCHYARD_ROOT`, else the nearest ancestor of the working directory
/// holding `infra/deploy`, else where this binary was built from.
pub fn repo_root() -> PathBuf {
    if let Some(root) = std::env::var_os("SWITCHYARD_ROOT") {
        return PathBuf::from(root);
    }
    let from_cwd = std::env::current_dir().ok().and_then(|cwd| {
        cwd.ancestors()
            .find(|dir| dir.join("infra/deploy").is_file())
            .map(Path::to_path_buf)
    });
    from_cwd.unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}

/// What `infra/deploy` wrote.
#[derive(Clone, Debug, Deserialize)]
pub struct Deployment {
    pub region: String,
    #[serde(default)]
    pub endpoints: Endpoints,
    #[serde(default)]
    pub state_machines: BTreeMap<String, String>,
    #[serde(default)]
    pub tables: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub approval_callback_url: Option<String>,
    /// The API's Function URL, once the stack deploys the API function.
    #[serde(default)]
    pub api_url: Option<String>,
    /// The role graph state machines run as (for `serve`, which builds graphs in process).
    #[serde(default)]
    pub graph_role_arn: Option<String>,
    /// Where offloaded outputs and conversation traces are (the in-process API reads traces).
    #[serde(default)]
    pub payload_bucket: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Endpoints {
    pub aws: Option<String>,
    pub dynamodb: Option<String>,
}

impl Deployment {
    pub fn path(root: &Path, target: Target) -> PathBuf {
        root.join(format!(".cache/deployed-{}.json", target.name()))
    }

    pub fn load(root: &Path, target: Target) -> Result<Deployment, CliError> {
        let path = Deployment::path(root, target);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CliError::NotDeployed {
                    path,
                    target: target.name().to_owned(),
                })
            }
            Err(e) => return Err(CliError::io(path.display().to_string())(e)),
        };
        serde_json::from_str(&text).map_err(|e| CliError::BadDeployment {
            path,
            reason: e.to_string(),
        })
    }

    /// `arn:...:stateMachine:switchyard-`, from any deployed state machine's ARN.
    fn state_machine_prefix(&self) -> Option<String> {
        let arn = self.state_machines.values().next()?;
        let (account_part, _) = arn.split_once(":stateMachine:")?;
        Some(format!("{account_part}:stateMachine:switchyard-"))
    }

    /// Points the standard AWS variables and the API's own at this deployment, so the
    /// in-process API and the stores read the same configuration a deployed function gets.
    /// Call before any thread starts: the environment is process-wide.
    pub fn export_environment(&self, target: Target) {
        if target == Target::Local {
            if let Some(aws) = &self.endpoints.aws {
                std::env::set_var("AWS_ENDPOINT_URL", aws);
            }
            if let Some(dynamodb) = &self.endpoints.dynamodb {
                std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", dynamodb);
            }
            // LocalStack and DynamoDB Local accept any credentials but need some.
            for (name, value) in [
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
            ] {
                if std::env::var_os(name).is_none() {
                    std::env::set_var(name, value);
                }
            }
        }
        if std::env::var_os("AWS_REGION").is_none() {
            std::env::set_var("AWS_REGION", &self.region);
        }
        // Tables the deployment file does not list have the deploy's default names.
        for table in Table::ALL {
            let name = self.tables.get(table.key()).cloned().flatten();
            std::env::set_var(
                table.spec().env_var,
                name.unwrap_or_else(|| table.name_with_prefix(DEFAULT_TABLE_PREFIX)),
            );
        }
        if let Some(prefix) = self.state_machine_prefix() {
            std::env::set_var(env::STATE_MACHINE_ARN_PREFIX, prefix);
        }
        if let Some(role) = &self.graph_role_arn {
            std::env::set_var(env::GRAPH_ROLE_ARN, role);
        }
        if let Some(bucket) = &self.payload_bucket {
            std::env::set_var(env::PAYLOAD_BUCKET, bucket);
        }
    }
}

/// Where the target's API key is kept.
pub fn key_path(root: &Path, target: Target) -> PathBuf {
    root.join(format!(".cache/api-key-{}", target.name()))
}

/// `SWITCHYARD_API_KEY`, else the saved key of the target.
pub fn api_key(root: &Path, target: Target) -> Result<String, CliError> {
    if let Some(key) = std::env::var("SWITCHYARD_API_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    {
        return Ok(key);
    }
    let path = key_path(root, target);
    match std::fs::read_to_string(&path) {
        Ok(key) if !key.trim().is_empty() => Ok(key.trim().to_owned()),
        Ok(_) => Err(CliError::NoApiKey {
            path,
            target: target.name().to_owned(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CliError::NoApiKey {
            path,
            target: target.name().to_owned(),
        }),
        Err(e) => Err(CliError::io(path.display().to_string())(e)),
    }
}

/// Keeps a key for later commands, readable by its owner only.
pub fn save_api_key(root: &Path, target: Target, key: &str) -> Result<PathBuf, CliError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;

    let path = key_path(root, target);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(CliError::io(dir.display().to_string()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(&path)
        .map_err(CliError::io(path.display().to_string()))?;
    writeln!(file, "{key}").map_err(CliError::io(path.display().to_string()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_prefix_comes_from_any_arn() {
        let deployment: Deployment = serde_json::from_value(serde_json::json!({
            "region": "us-east-1",
            "state_machines": { "dev-team": "arn:aws:states:us-east-1:000000000000:stateMachine:switchyard-dev-team" },
            "tables": { "runs": "switchyard-runs", "api_keys": null },
        }))
        .expect("a deployment");
        assert_eq!(
            deployment.state_machine_prefix().as_deref(),
            Some("arn:aws:states:us-east-1:000000000000:stateMachine:switchyard-")
        );
        assert!(deployment.api_url.is_none());
    }
}
