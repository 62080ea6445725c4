//! A run's log lines: the functions log one JSON object per line (see
//! `switchyard_lambda::init_tracing`), with `run_id`, `step` and `level` fields. CloudWatch
//! Logs finds the events mentioning the run; the exact checks and filters happen here.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::backend::LogEvent;
use crate::request::LOG_LEVELS;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogLine {
    /// Epoch milliseconds of the log event.
    pub at: u64,
    pub function: String,
    pub level: Option<String>,
    pub step: Option<String>,
    pub message: Option<String>,
    /// Every field of the line, its spans' included.
    pub fields: Map<String, Value>,
}

/// One flat object per line: the fields of the spans the event happened in (outermost
/// first: the agent runtime puts `run_id` and `step` on its span), then the event's own.
fn flatten_spans(mut object: Map<String, Value>) -> Map<String, Value> {
    let spans = match object.remove("spans") {
        Some(Value::Array(spans)) => spans,
        _ => Vec::new(),
    };
    let current = object.remove("span");
    let mut fields = Map::new();
    for span in spans.into_iter().chain(current) {
        if let Value::Object(span) = span {
            fields.extend(span.into_iter().filter(|(key, _)| key != "name"));
        }
    }
    fields.extend(object);
    fields
}

fn severity(level: &str) -> Option<usize> {
    LOG_LEVELS
        .iter()
        .position(|l| l.eq_ignore_ascii_case(level))
}

/// The run's JSON lines at `min_level` or above and of `step`, in time order. Lines that are
/// not JSON (the runtime's START/END/REPORT) or belong to another run are left out.
pub fn run_lines(
    events: Vec<LogEvent>,
    run_id: &str,
    min_level: Option<&str>,
    step: Option<&str>,
) -> Vec<LogLine> {
    let min_severity = min_level.and_then(severity);
    let mut lines: Vec<LogLine> = events
        .into_iter()
        .flat_map(|event| {
            event
                .message
                .lines()
                .filter_map(|line| match serde_json::from_str::<Value>(line.trim()) {
                    Ok(Value::Object(object)) => Some(flatten_spans(object)),
                    _ => None,
                })
                .map(|fields| {
                    let text =
                        |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
                    LogLine {
                        at: event.at,
                        function: event.function.clone(),
                        level: text("level"),
                        step: text("step"),
                        message: text("message"),
                        fields,
                    }
                })
                .collect::<Vec<_>>()
        })
        .filter(|line| line.fields.get("run_id").and_then(Value::as_str) == Some(run_id))
        .filter(|line| match min_severity {
            None => true,
            Some(min) => line
                .level
                .as_deref()
                .and_then(severity)
                .is_some_and(|s| s >= min),
        })
        .filter(|line| step.is_none() || line.step.as_deref() == step)
        .collect();
    lines.sort_by_key(|line| line.at);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: u64, function: &str, message: &str) -> LogEvent {
        LogEvent {
            function: function.into(),
            at,
            message: message.into(),
        }
    }

    fn events() -> Vec<LogEvent> {
        vec![
            event(3, "switchyard-qa-reviewer", r#"{"level":"WARN","message":"retrying","run_id":"r1","step":"qa"}"#),
            event(1, "switchyard-analyst", "START RequestId: 1 Version: $LATEST"),
            event(
                2,
                "switchyard-analyst",
                "{\"level\":\"INFO\",\"message\":\"agent started\",\"run_id\":\"r1\",\"step\":\"analyze\"}\n{\"level\":\"ERROR\",\"message\":\"boom\",\"run_id\":\"r1\",\"step\":\"analyze\"}",
            ),
            event(2, "switchyard-analyst", r#"{"level":"INFO","message":"other run","run_id":"r10","step":"analyze"}"#),
            event(4, "switchyard-analyst", "not json mentioning r1"),
            event(
                5,
                "switchyard-analyst",
                r#"{"level":"INFO","message":"agent succeeded","tokens_in":3,"spans":[{"name":"Lambda runtime invoke","requestId":"q"},{"name":"agent","run_id":"r1","step":"analyze","attempt":2}]}"#,
            ),
        ]
    }

    #[test]
    fn only_the_runs_json_lines_in_time_order() {
        let lines = run_lines(events(), "r1", None, None);
        let messages: Vec<_> = lines
            .iter()
            .map(|l| l.message.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            messages,
            ["agent started", "boom", "retrying", "agent succeeded"]
        );
        assert_eq!(lines[0].function, "switchyard-analyst");
        assert_eq!(lines[0].fields["step"], "analyze");
        let from_span = &lines[3];
        assert_eq!(from_span.step.as_deref(), Some("analyze"));
        assert_eq!(from_span.fields["attempt"], 2);
        assert_eq!(from_span.fields["requestId"], "q");
        assert!(!from_span.fields.contains_key("spans"));
    }

    #[test]
    fn level_is_a_minimum_and_step_exact() {
        let warn: Vec<_> = run_lines(events(), "r1", Some("warn"), None)
            .into_iter()
            .map(|l| l.message.unwrap_or_default())
            .collect();
        assert_eq!(warn, ["boom", "retrying"]);
        let analyze: Vec<_> = run_lines(events(), "r1", None, Some("analyze"))
            .into_iter()
            .map(|l| l.message.unwrap_or_default())
            .collect();
        assert_eq!(analyze, ["agent started", "boom", "agent succeeded"]);
        assert!(run_lines(events(), "r1", Some("error"), Some("qa")).is_empty());
    }
}
