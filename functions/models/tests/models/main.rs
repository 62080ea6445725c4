//! One test binary for the crate (linking the AWS SDK once, not once per file); each
//! provider speaks to a local mock of its real HTTP API.

mod anthropic;
mod bedrock;
mod config;
mod mock;
mod openai;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchyard_sdk::{JsonShape, Model, ModelError, Prompt, Tool};
use tokio::sync::Barrier;

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

// What the structured-output and tool tests ask the providers for.

/// A review with nested structs, an enum, an option and a list. Closed objects with every
/// field always written: within OpenAI's strict mode.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonShape)]
#[serde(deny_unknown_fields)]
struct LeadReview {
    verdict: Verdict,
    contact: Contact,
    notes: Option<String>,
    scores: Vec<Score>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Qualified,
    Nurture,
    Disqualified,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonShape)]
#[serde(deny_unknown_fields)]
struct Contact {
    name: String,
    email: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonShape)]
#[serde(deny_unknown_fields)]
struct Score {
    criterion: String,
    points: u32,
}

/// An answer outside OpenAI's strict mode (an open object, an optional key, a map).
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonShape)]
struct LooseReview {
    verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<Contact>,
    tags: HashMap<String, u32>,
}

fn review_json() -> serde_json::Value {
    serde_json::json!({
        "verdict": "qualified",
        "contact": {"name": "Ada", "email": null},
        "notes": "Budget approved",
        "scores": [{"criterion": "fit", "points": 8}, {"criterion": "budget", "points": 9}]
    })
}

fn review() -> LeadReview {
    LeadReview {
        verdict: Verdict::Qualified,
        contact: Contact {
            name: "Ada".into(),
            email: None,
        },
        notes: Some("Budget approved".into()),
        scores: vec![
            Score {
                criterion: "fit".into(),
                points: 8,
            },
            Score {
                criterion: "budget".into(),
                points: 9,
            },
        ],
    }
}

/// An answer that does not decode: a verdict the enum does not have.
fn bad_review_json() -> serde_json::Value {
    let mut review = review_json();
    review["verdict"] = "hot".into();
    review
}

/// A tool's arguments.
#[derive(Debug, Deserialize, JsonShape)]
struct Lookup {
    lead: String,
}

/// Two tools that each wait for the other: run one after the other, each would give up
/// after the timeout and report an error, which the tests check is not what was sent.
fn meeting_tools() -> [Tool; 2] {
    let barrier = Arc::new(Barrier::new(2));
    ["crm_lookup", "web_search"].map(|name| {
        let barrier = Arc::clone(&barrier);
        Tool::new(name, "Looks a lead up", move |args: Lookup| {
            let barrier = Arc::clone(&barrier);
            async move {
                tokio::time::timeout(Duration::from_secs(5), barrier.wait())
                    .await
                    .map_err(|_| "the other call did not run beside this one")?;
                Ok::<_, &str>(serde_json::json!({ "lead": args.lead, "found": true }))
            }
        })
    })
}

/// `ask` over `&dyn Model`, as agents use it, with both meeting tools.
async fn ask_with_tools<T>(model: &dyn Model) -> Result<T, ModelError>
where
    T: serde::de::DeserializeOwned + JsonShape,
{
    let [crm, web] = meeting_tools();
    model.chat(prompt()).tool(crm).tool(web).ask::<T>().await
}

/// The error statuses every provider maps the same way, with what each must become.
fn assert_error_cases(results: Vec<(u16, ModelError)>) {
    for (status, err) in results {
        match status {
            429 => assert_throttled(&err),
            500 => {
                assert!(
                    matches!(err, ModelError::Provider { status: 500, .. }),
                    "{err:?}"
                );
                assert!(err.is_retryable());
            }
            400 => {
                assert!(
                    matches!(err, ModelError::Provider { status: 400, .. }),
                    "{err:?}"
                );
                assert!(!err.is_retryable());
            }
            200 => assert_malformed(&err),
            other => panic!("no expectation for {other}"),
        }
    }
}
