//! The Lambda side of Switchyard: agent invocation and platform functions, shared by the
//! one `bootstrap` binary.

pub mod agent;
pub mod approval;
pub mod metering;
pub mod payload;
pub mod store;
pub mod tracker;

use switchyard_sdk::AgentRegistration;

/// Environment variable naming what a deployed function serves.
pub const FUNCTION_VAR: &str = "SWITCHYARD_FUNCTION";
/// `SWITCHYARD_FUNCTION` value of the approval-request function.
pub const APPROVAL_REQUEST: &str = "approval-request";
/// `SWITCHYARD_FUNCTION` value of the run-tracker function.
pub const RUN_TRACKER: &str = "run-tracker";
/// `SWITCHYARD_FUNCTION` value of the approval callback function (behind a Function URL).
pub const APPROVAL_CALLBACK: &str = "approval-callback";
/// `SWITCHYARD_FUNCTION` value of the Run API function (behind a Function URL).
pub const API: &str = "api";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{FUNCTION_VAR} is not set: it names the agent or platform function this deployment serves"
    )]
    MissingFunction,
    #[error("{FUNCTION_VAR}={0} is neither a registered agent nor a platform function")]
    UnknownFunction(String),
    #[error("environment variable {0} is required")]
    MissingVar(&'static str),
    #[error(transparent)]
    LinkSecret(#[from] approval::secret::LinkSecretError),
}

/// What this process serves.
pub enum Role {
    Agent(&'static AgentRegistration),
    ApprovalRequest,
    ApprovalCallback,
    RunTracker,
    Api,
}

impl Role {
    pub fn from_env() -> Result<Role, ConfigError> {
        let name = std::env::var(FUNCTION_VAR).map_err(|_| ConfigError::MissingFunction)?;
        match name.as_str() {
            APPROVAL_REQUEST => return Ok(Role::ApprovalRequest),
            RUN_TRACKER => return Ok(Role::RunTracker),
            APPROVAL_CALLBACK => return Ok(Role::ApprovalCallback),
            API => return Ok(Role::Api),
            _ => {}
        }
        switchyard_sdk::agents()
            .into_iter()
            .find(|a| a.name == name)
            .map(Role::Agent)
            .ok_or(ConfigError::UnknownFunction(name))
    }
}

/// JSON logs, one object per line, so CloudWatch Logs Insights can filter on fields.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

pub fn required_var(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name).map_err(|_| ConfigError::MissingVar(name))
}
