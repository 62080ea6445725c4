//! The Lambda side of Switchyard: agent invocation and platform functions, shared by the
//! one `bootstrap` binary.

pub mod agent;
pub mod approval;
pub mod budget;
pub mod cache;
pub mod emf;
pub mod function_url;
pub mod metering;
pub mod payload;
pub mod task_event;
pub mod trace;
pub mod tracker;
pub mod waits;

use switchyard_sdk::AgentRegistration;
use switchyard_state::schema::env::FUNCTION as FUNCTION_VAR;
use switchyard_state::schema::PlatformFunction;

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
    State(#[from] switchyard_state::StateError),
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
        if let Some(platform) = PlatformFunction::from_name(&name) {
            return Ok(match platform {
                PlatformFunction::ApprovalRequest => Role::ApprovalRequest,
                PlatformFunction::RunTracker => Role::RunTracker,
                PlatformFunction::ApprovalCallback => Role::ApprovalCallback,
                PlatformFunction::Api => Role::Api,
            });
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

/// The AWS configuration every function builds its clients from: the environment's, without
/// the SDK's stalled-stream protection. That protection samples a response's throughput on a
/// 100 ms timer for as long as the response takes, so a process waiting on a slow service
/// wakes ten times a second: under 100 concurrent runs on the local stack, a Run API start
/// (waiting seconds for `StartExecution`) cost 130–170 context switches and three times the
/// CPU of an unloaded one. Every call here is small and bounded by the function's own
/// timeout, which is the protection that matters in Lambda.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::from_env()
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
        )
        .load()
        .await
}

/// The tables, named by the environment a deployed function gets.
pub fn state_from_env(
    config: &aws_config::SdkConfig,
) -> Result<switchyard_state::State, ConfigError> {
    Ok(switchyard_state::State::from_env(
        aws_sdk_dynamodb::Client::new(config),
    )?)
}

/// A short, readable form of a JSON value for records and logs.
pub fn summarize(value: &serde_json::Value, limit: usize) -> String {
    let text = value.to_string();
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
