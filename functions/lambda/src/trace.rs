//! Conversation traces on the runtime side: each exchange as the trace records it, the
//! secrets taken out before anything is stored, and where an attempt's trace goes (inline
//! on its record, or the payload bucket).
//!
//! Secrets are the values of the provider key variables (`OPENAI_API_KEY`,
//! `ANTHROPIC_API_KEY`, any other `*_API_KEY`), the function's own AWS secret key and session
//! token, and the literal strings listed in `TRACE_REDACT` (comma-separated). Each is
//! replaced by `[redacted]` in every string of the trace, keys included.

use switchyard_sdk::{ModelError, ModelRequest, Reply};
use switchyard_state::schema::env::TRACE_REDACT;
use switchyard_state::trace::{
    AttemptTrace, ExchangeReply, ExchangeRequest, ModelExchange, TracedToolCall, REDACTED,
};

use serde_json::Value;

/// Variables whose values are secrets wherever they are set, besides any `*_API_KEY`.
const SECRET_VARIABLES: [&str; 4] = [
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// What a trace must never contain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// The secrets of this process's environment (read once, at init).
    pub fn from_env() -> Redactor {
        Redactor::from_vars(std::env::vars())
    }

    /// The secrets among `vars` (name, value).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Redactor {
        let mut secrets = Vec::new();
        for (name, value) in vars {
            if name == TRACE_REDACT {
                secrets.extend(value.split(',').map(|s| s.trim().to_owned()));
            } else if SECRET_VARIABLES.contains(&name.as_str()) || name.ends_with("_API_KEY") {
                secrets.push(value.trim().to_owned());
            }
        }
        Redactor::new(secrets)
    }

    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        text
    }

    /// Every string in `value` (object keys too) with every secret replaced.
    pub fn value(&self, value: &mut Value) {
        if self.secrets.is_empty() {
            return;
        }
        match value {
            Value::String(text) => *text = self.text(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    self.value(&mut item);
                    map.insert(self.text(&key), item);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// The trace as stored: redacted JSON text.
    pub fn encode(&self, trace: &AttemptTrace) -> Result<String, serde_json::Error> {
        let mut value = serde_json::to_value(trace)?;
        self.value(&mut value);
        serde_json::to_string(&value)
    }
}

/// Exchange `round` of an attempt, as the trace records it (not yet redacted).
pub fn exchange(
    round: u32,
    model: &str,
    request: &ModelRequest,
    outcome: &Result<Reply, ModelError>,
    latency_ms: u64,
) -> ModelExchange {
    let asked = ExchangeRequest {
        system: request.prompt.system.clone(),
        user: request.prompt.user.clone(),
        turns: request
            .turns
            .iter()
            .map(|turn| serde_json::to_value(turn).unwrap_or(Value::Null))
            .collect(),
        output_schema: request.output.as_ref().map(|o| o.name.clone()),
        tools: request.tools.iter().map(|t| t.name.clone()).collect(),
        cache_ttl_s: request.cache_ttl_s,
    };
    match outcome {
        Ok(reply) => ModelExchange {
            round,
            model: reply.model.clone(),
            request: asked,
            reply: Some(ExchangeReply {
                text: reply.text.clone(),
                answer: reply.answer.clone(),
                tool_calls: reply
                    .tool_calls
                    .iter()
                    .map(|call| TracedToolCall {
                        id: call.id.clone(),
                        name: call.name.clone(),
                        arguments: call.arguments.clone(),
                    })
                    .collect(),
            }),
            tokens_in: reply.tokens_in,
            tokens_out: reply.tokens_out,
            cost_usd: reply.cost_usd,
            latency_ms,
            cached: reply.cached,
            error: None,
        },
        Err(error) => ModelExchange {
            round,
            model: model.to_owned(),
            request: asked,
            reply: None,
            latency_ms,
            error: Some(error.to_string()),
            ..ModelExchange::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use switchyard_sdk::{Prompt, ToolCall, ToolSpec, Turn};

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn provider_keys_and_listed_literals_are_secrets_and_nothing_else() {
        let redactor = Redactor::from_vars(vars(&[
            ("OPENAI_API_KEY", "sk-openai-123"),
            ("ANTHROPIC_API_KEY", "sk-ant-456"),
            ("MISTRAL_API_KEY", "mk-789"),
            ("AWS_SECRET_ACCESS_KEY", "aws-secret"),
            ("TRACE_REDACT", " internal-hostname , ,acct-42"),
            ("PRIMARY_MODEL", "openai:gpt-4o-mini"),
            ("GITHUB_TOKEN_NAME", "not-listed"),
            ("EMPTY_API_KEY", ""),
        ]));
        let text = "keys sk-openai-123 sk-ant-456 mk-789 aws-secret on internal-hostname for \
                    acct-42 with openai:gpt-4o-mini and not-listed";
        assert_eq!(
            redactor.text(text),
            "keys [redacted] [redacted] [redacted] [redacted] on [redacted] for [redacted] \
             with openai:gpt-4o-mini and not-listed"
        );
        // An empty value redacts nothing (it would match everywhere).
        assert_eq!(redactor.text("plain"), "plain");
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        let redactor = Redactor::new(["abc".to_owned(), "abcdef".to_owned()]);
        assert_eq!(redactor.text("x abcdef y abc"), "x [redacted] y [redacted]");
    }

    #[test]
    fn every_string_of_a_trace_is_redacted_keys_included() {
        let secret = "sk-live-SECRET";
        let redactor = Redactor::new([secret.to_owned()]);
        let mut request = ModelRequest::text(Prompt::new(
            format!("Use key {secret}"),
            format!("user says {secret}"),
        ));
        request.tools.push(ToolSpec {
            name: "lookup".into(),
            description: "d".into(),
            input_schema: json!({}),
        });
        request.turns.push(Turn::Correction {
            message: format!("not {secret}"),
        });
        let reply = Reply {
            text: None,
            answer: Some(json!({ secret: [secret, 1] })),
            tool_calls: vec![ToolCall {
                id: "c1".into(),
                name: "lookup".into(),
                arguments: json!({ "q": secret }),
            }],
            model: "embedded".into(),
            tokens_in: 10,
            tokens_out: 5,
            ..Reply::default()
        };
        let failed: Result<Reply, ModelError> = Err(ModelError::Provider {
            status: 401,
            message: format!("bad key {secret}"),
        });
        let trace = AttemptTrace {
            exchanges: vec![
                exchange(1, "embedded", &request, &Ok(reply), 12),
                exchange(2, "embedded", &request, &failed, 3),
            ],
        };
        let stored = redactor.encode(&trace).expect("encodes");
        assert!(!stored.contains(secret), "{stored}");
        let read: AttemptTrace = serde_json::from_str(&stored).expect("a trace");
        let first = &read.exchanges[0];
        assert_eq!(first.request.system, "Use key [redacted]");
        assert_eq!(first.request.tools, ["lookup"]);
        assert_eq!(
            first.reply.as_ref().and_then(|r| r.answer.clone()),
            Some(json!({ "[redacted]": ["[redacted]", 1] }))
        );
        assert_eq!((first.tokens_in, first.latency_ms), (10, 12));
        let second = &read.exchanges[1];
        assert!(second.reply.is_none());
        assert_eq!(
            second.error.as_deref(),
            Some("model provider failed with HTTP 401: bad key [redacted]")
        );
        assert_eq!(second.request.turns[0]["message"], "not [redacted]");
    }
}
