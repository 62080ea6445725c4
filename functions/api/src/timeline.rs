//! A run's timeline: Step Functions' history events and the agents' step attempt records,
//! merged in time order, so one list shows both what the state machine did and what each
//! agent attempt cost.

use serde::Serialize;
use switchyard_state::StepStatus;

use crate::backend::{HistoryItem, StepRecord};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// Epoch milliseconds.
    pub at: u64,
    /// `execution` (a history event) or `agent` (a step attempt record).
    pub source: &'static str,
    /// The history event type, or `AgentAttemptStarted` / `AgentAttemptSucceeded` /
    /// `AgentAttemptFailed`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<u64>,
    /// The entry of a step on a loop's cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

pub fn merge(history: Vec<HistoryItem>, steps: &[StepRecord]) -> Vec<TimelineEntry> {
    let mut entries: Vec<TimelineEntry> = history
        .into_iter()
        .map(|event| TimelineEntry {
            at: event.at,
            source: "execution",
            kind: event.kind,
            event_id: Some(event.id),
            state: event.state,
            error: event.error,
            cause: event.cause,
            ..TimelineEntry::default()
        })
        .collect();
    for step in steps {
        let attempt = || TimelineEntry {
            source: "agent",
            step: Some(step.step.clone()),
            item: step.item,
            round: step.round,
            attempt: Some(step.attempt),
            agent: step.agent.clone(),
            ..TimelineEntry::default()
        };
        entries.push(TimelineEntry {
            at: step.started_at,
            kind: "AgentAttemptStarted".to_owned(),
            ..attempt()
        });
        if let Some(at) = step.finished_at {
            let failed = step.status == StepStatus::Failed;
            entries.push(TimelineEntry {
                at,
                kind: if failed {
                    "AgentAttemptFailed"
                } else {
                    "AgentAttemptSucceeded"
                }
                .to_owned(),
                latency_ms: step.latency_ms,
                tokens_in: Some(step.tokens_in),
                tokens_out: Some(step.tokens_out),
                cost_usd: Some(step.cost_usd),
                model: step.model.clone(),
                error: step.error_name.clone(),
                cause: step.error_message.clone(),
                ..attempt()
            });
        }
    }
    // Stable: history keeps its own order, and at equal times the state machine's event
    // (which caused the attempt) comes first.
    entries.sort_by_key(|entry| entry.at);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_and_attempts_interleave_by_time() {
        let history = vec![
            HistoryItem {
                id: 1,
                at: 100,
                kind: "ExecutionStarted".into(),
                ..HistoryItem::default()
            },
            HistoryItem {
                id: 2,
                at: 110,
                kind: "TaskStateEntered".into(),
                state: Some("analyze".into()),
                ..HistoryItem::default()
            },
            HistoryItem {
                id: 3,
                at: 200,
                kind: "TaskStateExited".into(),
                state: Some("analyze".into()),
                ..HistoryItem::default()
            },
            HistoryItem {
                id: 4,
                at: 210,
                kind: "ExecutionFailed".into(),
                error: Some("Agent.Permanent".into()),
                cause: Some("no".into()),
                ..HistoryItem::default()
            },
        ];
        let steps = vec![StepRecord {
            step: "analyze".into(),
            attempt: 0,
            status: StepStatus::Failed,
            started_at: 110,
            finished_at: Some(190),
            latency_ms: Some(80),
            tokens_in: 5,
            error_name: Some("Agent.Permanent".into()),
            ..StepRecord::default()
        }];
        let timeline = merge(history, &steps);
        let kinds: Vec<_> = timeline.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "AgentAttemptStarted",
                "AgentAttemptFailed",
                "TaskStateExited",
                "ExecutionFailed"
            ]
        );
        assert_eq!(timeline[3].latency_ms, Some(80));
        assert_eq!(timeline[3].error.as_deref(), Some("Agent.Permanent"));
        assert_eq!(timeline[5].source, "execution");
    }
}
