//! The approval links' HMAC key(s), kept in SSM Parameter Store as a SecureString.
//!
//! A function that signs or verifies links (the approval request and the approval callback)
//! gets only the parameter's *name*, in `APPROVAL_LINK_SECRET_PARAMETER`, and reads the
//! value once, at cold start, with decryption. The value is one secret, or several separated
//! by commas, newest first: the newest signs, every one verifies (rotation without voiding
//! open links; see [`super::links`]). Neither the template, nor the stack's parameters, nor
//! the functions' configuration ever hold the secret.
//!
//! There is no environment-variable override: nothing builds these functions in-process
//! (`switchyard serve` and the CLI run the Run API, which neither signs nor verifies links),
//! and tests sign their links with [`super::links::LinkSigner`] directly.

use aws_sdk_ssm::error::{DisplayErrorContext, SdkError};
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::types::ParameterType;

use super::links::{LinkSigner, MIN_SECRET_BYTES};

/// Environment variable naming the SSM parameter (its name, never its value).
pub const PARAMETER_VAR: &str = switchyard_state::schema::env::APPROVAL_LINK_SECRET_PARAMETER;
/// The variable that used to carry the secret itself; ignored (with a warning) if still set.
pub const LEGACY_SECRET_VAR: &str = "APPROVAL_LINK_SECRET";

/// Why the link secret could not be had; the function does not start without it.
#[derive(Debug, thiserror::Error)]
pub enum LinkSecretError {
    #[error(
        "environment variable {PARAMETER_VAR} is required: it names the SSM parameter holding \
         the approval link secret"
    )]
    MissingParameterName,
    #[error("SSM parameter {0} does not exist: infra/deploy creates it before the stack")]
    NotFound(String),
    #[error("cannot read SSM parameter {name}: {message}")]
    Unreadable { name: String, message: String },
    #[error("SSM parameter {0} has no value")]
    Empty(String),
    #[error(
        "SSM parameter {name} is of type {kind}; the approval link secret must be a SecureString"
    )]
    NotSecureString { name: String, kind: String },
    #[error(
        "SSM parameter {0} holds a secret shorter than {MIN_SECRET_BYTES} bytes (every \
         comma-separated secret must be at least that long)"
    )]
    Weak(String),
}

/// The parameter name from the environment.
pub fn parameter_name() -> Result<String, LinkSecretError> {
    if std::env::var_os(LEGACY_SECRET_VAR).is_some() {
        tracing::warn!(
            variable = LEGACY_SECRET_VAR,
            "ignored: the link secret is read from SSM Parameter Store, never from the environment"
        );
    }
    std::env::var(PARAMETER_VAR)
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .ok_or(LinkSecretError::MissingParameterName)
}

/// Reads the parameter named by `APPROVAL_LINK_SECRET_PARAMETER`, decrypted, and builds the
/// signer for links under `base_url`. Called once per cold start.
pub async fn load_signer(
    config: &aws_config::SdkConfig,
    base_url: &str,
) -> Result<LinkSigner, LinkSecretError> {
    let loaded = read_signer(config, base_url).await;
    if let Err(error) = &loaded {
        // The init error is the Debug form; this is the readable one, in the JSON logs.
        tracing::error!(error = %error, "approval link secret unavailable; not starting");
    }
    loaded
}

async fn read_signer(
    config: &aws_config::SdkConfig,
    base_url: &str,
) -> Result<LinkSigner, LinkSecretError> {
    let name = parameter_name()?;
    let client = aws_sdk_ssm::Client::new(config);
    let output = client
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| match e {
            SdkError::ServiceError(ref service)
                if matches!(service.err(), GetParameterError::ParameterNotFound(_)) =>
            {
                LinkSecretError::NotFound(name.clone())
            }
            other => LinkSecretError::Unreadable {
                name: name.clone(),
                message: DisplayErrorContext(other).to_string(),
            },
        })?;
    let parameter = output.parameter();
    let signer = signer_from(
        &name,
        parameter.and_then(|p| p.r#type()),
        parameter.and_then(|p| p.value()),
        base_url,
    )?;
    tracing::info!(
        parameter = %name,
        version = parameter.map(|p| p.version()).unwrap_or_default(),
        keys = signer.key_ids().len(),
        signing_key = signer.signing_key_id(),
        "approval link secret read from SSM Parameter Store"
    );
    Ok(signer)
}

/// The checks on what SSM returned: a SecureString whose every listed secret is strong.
pub fn signer_from(
    name: &str,
    kind: Option<&ParameterType>,
    value: Option<&str>,
    base_url: &str,
) -> Result<LinkSigner, LinkSecretError> {
    match kind {
        Some(ParameterType::SecureString) => {}
        other => {
            return Err(LinkSecretError::NotSecureString {
                name: name.to_owned(),
                kind: other.map_or_else(|| "unknown".to_owned(), |k| k.as_str().to_owned()),
            })
        }
    }
    let value = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| LinkSecretError::Empty(name.to_owned()))?;
    LinkSigner::from_secret_list(value, base_url)
        .ok_or_else(|| LinkSecretError::Weak(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "/switchyard/approval-link-secret";

    #[test]
    fn a_secure_string_of_strong_secrets_makes_a_rotating_signer() {
        let value = format!("{},{}", "n".repeat(40), "o".repeat(32));
        let signer = signer_from(NAME, Some(&ParameterType::SecureString), Some(&value), "/")
            .expect("strong secrets");
        assert_eq!(signer.key_ids().len(), 2);
        let newest = LinkSigner::new("n".repeat(40).as_bytes(), "/").expect("strong");
        assert_eq!(signer.signing_key_id(), newest.signing_key_id());
    }

    #[test]
    fn a_plain_string_parameter_is_refused() {
        let value = "s".repeat(48);
        for kind in [
            Some(ParameterType::String),
            Some(ParameterType::StringList),
            None,
        ] {
            let error = signer_from(NAME, kind.as_ref(), Some(&value), "/")
                .err()
                .expect("refused");
            assert!(
                matches!(error, LinkSecretError::NotSecureString { .. }),
                "{error}"
            );
        }
    }

    #[test]
    fn empty_or_weak_values_are_refused() {
        let secure = Some(&ParameterType::SecureString);
        assert!(matches!(
            signer_from(NAME, secure, None, "/"),
            Err(LinkSecretError::Empty(_))
        ));
        assert!(matches!(
            signer_from(NAME, secure, Some(" , "), "/"),
            Err(LinkSecretError::Weak(_))
        ));
        let one_short = format!("{},short", "s".repeat(48));
        assert!(matches!(
            signer_from(NAME, secure, Some(&one_short), "/"),
            Err(LinkSecretError::Weak(_))
        ));
    }

    #[test]
    fn errors_name_the_parameter_but_never_the_value() {
        let value = format!("{},tooshort", "v".repeat(48));
        let error = signer_from(NAME, Some(&ParameterType::SecureString), Some(&value), "/")
            .err()
            .expect("refused");
        let shown = error.to_string();
        assert!(shown.contains(NAME), "{shown}");
        assert!(!shown.contains("tooshort") && !shown.contains(&"v".repeat(48)));
    }
}
