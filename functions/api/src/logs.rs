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
    /// The whole JSON object as logged.
    pub fields: Map<String, Value>,
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
                    Ok(Value::Object(fields)) => Some(fields),
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
        ]
    }

    #[test]
    fn only_the_runs_json_lines_in_time_order() {
        let lines = run_lines(events(), "r1", None, None);
        let messages: Vec<_> = lines
            .iter()
            .map(|l| l.message.clone().unwrap_or_default())
            .collect();
        assert_eq!(messages, ["agent started", "boom", "retrying"]);
        assert_eq!(lines[0].function, "switchyard-analyst");
        assert_eq!(lines[0].fields["step"], "analyze");
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
        assert_eq!(analyze, ["agent started", "boom"]);
        assert!(run_lines(events(), "r1", Some("error"), Some("qa")).is_empty());
    }
}
