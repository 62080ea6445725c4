//! Everything the `switchyard` command can fail with.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{path} is missing: deploy first (`infra/deploy --target {target}`, or `switchyard demo` for the local stack)")]
    NotDeployed { path: PathBuf, target: String },
    #[error("{path} is not a deployment file: {reason}")]
    BadDeployment { path: PathBuf, reason: String },
    #[error("no API key: set SWITCHYARD_API_KEY or create one with `switchyard --target {target} tenants create-key --tenant NAME --save` (it is kept in {path})")]
    NoApiKey { path: PathBuf, target: String },
    #[error("{message} (HTTP {status}, {code}{})", field.as_ref().map(|f| format!(", field `{f}`")).unwrap_or_default())]
    Api {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
    },
    #[error("the API at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the API answered something that is not JSON (HTTP {status}): {body}")]
    NotJson { status: u16, body: String },
    #[error("configuration: {0}")]
    Config(#[from] switchyard_api::ConfigError),
    #[error(transparent)]
    Key(#[from] switchyard_api::keys::KeyError),
    #[error("--input is not JSON: {0}")]
    BadInput(serde_json::Error),
    #[error("no example input for workflow `{workflow}` in {dir}")]
    NoExample { workflow: String, dir: PathBuf },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status})")]
    Script { command: String, status: String },
    #[error("the local stack is still not healthy after `infra/local-up`")]
    StackDown,
    #[error("the demo runs on the local stack only (drop --target aws)")]
    DemoIsLocal,
}

impl CliError {
    /// The error as `--json` prints it: `{error, message}`, plus the API's `status` and
    /// `field` when the API refused.
    pub fn to_json(&self) -> serde_json::Value {
        let code = match self {
            CliError::NotDeployed { .. } => "not_deployed",
            CliError::BadDeployment { .. } => "bad_deployment",
            CliError::NoApiKey { .. } => "no_api_key",
            CliError::Api { code, .. } => code.as_str(),
            CliError::Unreachable { .. } => "unreachable",
            CliError::NotJson { .. } => "not_json",
            CliError::Config(_) => "configuration",
            CliError::Key(_) => "api_key",
            CliError::BadInput(_) => "bad_input",
            CliError::NoExample { .. } => "no_example",
            CliError::Io { .. } => "io",
            CliError::Script { .. } => "script_failed",
            CliError::StackDown => "stack_down",
            CliError::DemoIsLocal => "demo_is_local",
        };
        let mut json = serde_json::json!({ "error": code, "message": self.to_string() });
        if let CliError::Api { status, field, .. } = self {
            json["status"] = serde_json::json!(status);
            if let Some(field) = field {
                json["field"] = serde_json::json!(field);
            }
        }
        json
    }

    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }
}
