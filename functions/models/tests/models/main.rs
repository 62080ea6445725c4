//! One test binary for the crate (linking the AWS SDK once, not once per file); each
//! provider speaks to a local mock of its real HTTP API.

mod anthropic;
mod bedrock;
mod config;
mod mock;
mod openai;

use switchyard_sdk::{ModelError, Prompt};

/// The prompt every provider test sends, with values distinct from `Prompt::new`'s
/// defaults so the request assertions prove they were passed through.
fn prompt() -> Prompt {
    Prompt {
        max_tokens: 256,
        temperature: 0.7,
        ..Prompt::new("You are terse.", "Summarise the lead.")
    }
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "expected {expected}, got {actual}"
    );
}

/// `temperature` travels as an f32, so compare it as one.
fn assert_temperature(value: &serde_json::Value, expected: f32) {
    let actual = value.as_f64().expect("temperature is a number");
    assert!(
        (actual - f64::from(expected)).abs() < 1e-6,
        "expected temperature {expected}, got {actual}"
    );
}

fn assert_throttled(err: &ModelError) {
    assert!(matches!(err, ModelError::Throttled), "{err:?}");
    assert!(err.is_retryable());
}

fn assert_provider(err: &ModelError, expected_status: u16, expected_message: &str) {
    match err {
        ModelError::Provider { status, message } => {
            assert_eq!(*status, expected_status);
            assert!(
                message.contains(expected_message),
                "{message:?} lacks {expected_message:?}"
            );
        }
        other => panic!("expected a provider error, got {other:?}"),
    }
}

fn assert_malformed(err: &ModelError) {
    assert!(matches!(err, ModelError::Malformed(_)), "{err:?}");
    assert!(!err.is_retryable());
}

fn assert_transport(err: &ModelError) {
    assert!(matches!(err, ModelError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}
