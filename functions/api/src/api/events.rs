//! `GET /runs/{id}/events?after=CURSOR&wait=SECONDS`: what happened in a run since a cursor —
//! steps started, finished or failed, gates opened and decided, pauses and resumes, the run's
//! end — long-polled: with `wait`, an answer with nothing new waits up to that long for
//! something to happen (or for the run to end).
//!
//! The events are derived from the records the run already keeps (the run item, its step
//! attempts, its approvals): nothing on an agent's path writes anything more for them. A
//! record becomes visible a little after the moment it describes (an attempt's start is
//! written with its end when the attempt is fast), so the cursor is not a position in a log
//! but a watermark — the newest event time delivered — plus the ids of the events delivered
//! within [`VISIBILITY_LAG_MS`] of it; an event older than that window was delivered. So no
//! event is skipped or delivered twice, whatever order the records land in.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::Api;
use crate::backend::{ApprovalRecord, ApprovalStatus, Backend, RunRecord, StepRecord, StepStatus};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::request;

/// How much later than its time an event may become visible: larger than an attempt's
/// start written with its end, an approval's whole-second times, and clock skew between
/// functions.
pub const VISIBILITY_LAG_MS: u64 = 5_000;
/// The longest a request waits for something new.
pub const MAX_WAIT_SECONDS: u64 = 20;
/// How often a waiting request looks again.
const POLL: Duration = Duration::from_millis(400);
/// The most events one answer carries; the cursor goes on from the last.
pub const MAX_EVENTS: usize = 500;

/// One thing that happened in a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunEvent {
    /// Epoch milliseconds.
    pub at: u64,
    /// `step_started`, `step_succeeded`, `step_failed`, `gate_opened`, `gate_decided`,
    /// `gate_expired`, `run_started`, `run_paused`, `run_resumed`, `run_ended`.
    pub kind: &'static str,
    #[serde(flatten)]
    pub detail: Value,
    /// Stable for the event: what the cursor remembers.
    #[serde(skip)]
    pub id: String,
}

impl RunEvent {
    fn new(at: u64, kind: &'static str, id: String, detail: Value) -> RunEvent {
        RunEvent {
            at,
            kind,
            detail,
            id,
        }
    }

    /// A short digest of the id, which is all a cursor keeps.
    fn tag(&self) -> String {
        hex::encode(&Sha256::digest(self.id.as_bytes())[..5])
    }
}

/// Every event of a run its records show, in time order.
pub fn events_of(
    run: &RunRecord,
    steps: &[StepRecord],
    approvals: &[ApprovalRecord],
) -> Vec<RunEvent> {
    let mut events = vec![RunEvent::new(
        run.created_at,
        "run_started",
        "run_started".into(),
        json!({ "workflow": run.workflow }),
    )];
    for (i, at) in run.paused_at.iter().enumerate() {
        events.push(RunEvent::new(
            *at,
            "run_paused",
            format!("paused#{i}"),
            json!({}),
        ));
    }
    for (i, at) in run.resumed_at.iter().enumerate() {
        events.push(RunEvent::new(
            *at,
            "run_resumed",
            format!("resumed#{i}"),
            json!({}),
        ));
    }
    for step in steps {
        let mut detail = json!({
            "step": step.step,
            "attempt": step.attempt,
            "agent": step.agent,
        });
        if let Some(item) = step.item {
            detail["item"] = json!(item);
        }
        if let Some(round) = step.round {
            detail["round"] = json!(round);
        }
        events.push(RunEvent::new(
            step.started_at,
            "step_started",
            format!("started#{}", step.step_key),
            detail.clone(),
        ));
        let Some(finished) = step.finished_at else {
            continue;
        };
        detail["latency_ms"] = json!(step.latency_ms);
        detail["tokens_in"] = json!(step.tokens_in);
        detail["tokens_out"] = json!(step.tokens_out);
        detail["cost_usd"] = json!(step.cost_usd);
        // `null` when the attempt asked no model.
        detail["model"] = json!(step.model);
        let kind = if step.status == StepStatus::Failed {
            detail["error_name"] = json!(step.error_name);
            detail["error_message"] = json!(step.error_message);
            "step_failed"
        } else {
            "step_succeeded"
        };
        events.push(RunEvent::new(
            finished,
            kind,
            format!("finished#{}", step.step_key),
            detail,
        ));
    }
    for approval in approvals {
        let mut opened = json!({
            "gate": approval.gate,
            "request_id": approval.request_id,
            "subject": approval.subject,
        });
        if !approval.summary_fields.is_empty() {
            opened["summary_fields"] = json!(approval.summary_fields);
        }
        if approval.status == ApprovalStatus::Pending && !approval.links.is_empty() {
            opened["links"] = json!(approval.links);
        }
        events.push(RunEvent::new(
            approval.created_at * 1000,
            "gate_opened",
            format!("opened#{}", approval.request_id),
            opened,
        ));
        match approval.status {
            ApprovalStatus::Approved | ApprovalStatus::Rejected => events.push(RunEvent::new(
                approval.decided_at.unwrap_or(approval.created_at) * 1000,
                "gate_decided",
                format!("decided#{}", approval.request_id),
                json!({
                    "gate": approval.gate,
                    "request_id": approval.request_id,
                    "decision": approval.decision,
                    "decided_by": approval.decided_by,
                }),
            )),
            ApprovalStatus::Expired => events.push(RunEvent::new(
                approval
                    .decided_at
                    .or(run.finished_at.map(|ms| ms / 1000))
                    .unwrap_or(approval.expires_at)
                    * 1000,
                "gate_expired",
                format!("expired#{}", approval.request_id),
                json!({ "gate": approval.gate, "request_id": approval.request_id }),
            )),
            ApprovalStatus::Pending | ApprovalStatus::Deciding => {}
        }
    }
    if let (Some(at), false) = (run.finished_at, run.status.is_active()) {
        let mut detail = json!({ "status": run.status });
        if let Some(error) = &run.failure_error {
            detail["error"] = json!(error);
        }
        events.push(RunEvent::new(at, "run_ended", "run_ended".into(), detail));
    }
    events.sort_by(|a, b| (a.at, rank(a.kind), &a.id).cmp(&(b.at, rank(b.kind), &b.id)));
    events
}

/// Among events of the same millisecond, what comes first: a run starts before its steps,
/// a step or gate starts before it ends, and the run ends last.
fn rank(kind: &str) -> u8 {
    match kind {
        "run_started" => 0,
        "run_resumed" => 1,
        "step_started" | "gate_opened" => 2,
        "step_succeeded" | "step_failed" | "gate_decided" | "gate_expired" => 3,
        "run_paused" => 4,
        _ => 5,
    }
}

/// Where a client is in a run's events (opaque to clients: base64url JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCursor {
    /// The newest event time delivered.
    #[serde(rename = "w")]
    pub watermark: u64,
    /// Tags of the events delivered within the lag of the watermark.
    #[serde(rename = "s", default)]
    pub seen: BTreeSet<String>,
}

impl EventCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Result<EventCursor, ApiError> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<EventCursor>(&bytes).ok())
            .filter(|c| c.seen.len() <= 10 * MAX_EVENTS && c.seen.iter().all(|t| t.len() == 10))
            .ok_or_else(|| {
                ApiError::bad_field(
                    "after",
                    "not a cursor this API returned (pass the last answer's cursor as is)",
                )
            })
    }

    /// The events after this cursor (at most [`MAX_EVENTS`]) and the cursor after them.
    pub fn next<'e>(&self, events: &'e [RunEvent]) -> (Vec<&'e RunEvent>, EventCursor) {
        let floor = self.watermark.saturating_sub(VISIBILITY_LAG_MS);
        let fresh: Vec<&RunEvent> = events
            .iter()
            .filter(|e| (self.watermark == 0 || e.at > floor) && !self.seen.contains(&e.tag()))
            .take(MAX_EVENTS)
            .collect();
        let watermark = fresh
            .iter()
            .map(|e| e.at)
            .max()
            .unwrap_or(0)
            .max(self.watermark);
        let floor = watermark.saturating_sub(VISIBILITY_LAG_MS);
        let delivered: BTreeSet<String> = fresh.iter().map(|e| e.tag()).collect();
        let seen = events
            .iter()
            .filter(|e| e.at > floor)
            .map(RunEvent::tag)
            .filter(|tag| self.seen.contains(tag) || delivered.contains(tag))
            .collect();
        (fresh, EventCursor { watermark, seen })
    }
}

impl<B: Backend> Api<B> {
    pub(super) async fn run_events(
        &self,
        request: &ApiRequest,
        run_id: &str,
        tenant: &str,
    ) -> Result<ApiResponse, ApiError> {
        let params = request::query(&request.query, &["after", "wait"])?;
        let cursor = match params.get("after").filter(|v| !v.is_empty()) {
            Some(text) => EventCursor::decode(text)?,
            None => EventCursor::default(),
        };
        let wait = match params.get("wait").filter(|v| !v.is_empty()) {
            None => 0,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= MAX_WAIT_SECONDS)
                .ok_or_else(|| {
                    ApiError::bad_field(
                        "wait",
                        format!("expected a number of seconds from 0 to {MAX_WAIT_SECONDS}"),
                    )
                })?,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        loop {
            let run = self.owned_run(run_id, tenant).await?;
            let (steps, approvals) =
                futures::join!(self.backend.steps(run_id), self.shown_approvals(&run));
            let approvals = approvals?;
            let events = events_of(&run, &steps?, &approvals);
            let (fresh, next) = cursor.next(&events);
            let ended = !run.status.is_active();
            if !fresh.is_empty() || ended || tokio::time::Instant::now() + POLL > deadline {
                return Ok(ApiResponse::json(
                    200,
                    &json!({
                        "run_id": run_id,
                        "status": run.status,
                        "events": fresh,
                        "cursor": next.encode(),
                        // Nothing more will come: the run ended and every event was delivered.
                        "ended": ended && fresh.len() < MAX_EVENTS,
                    }),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::RunStatus;

    fn step(key: &str, started: u64, finished: Option<u64>) -> StepRecord {
        StepRecord {
            run_id: "r".into(),
            step_key: key.into(),
            step: key.split('#').next().unwrap_or_default().into(),
            status: if finished.is_some() {
                StepStatus::Succeeded
            } else {
                StepStatus::Running
            },
            started_at: started,
            finished_at: finished,
            ..StepRecord::default()
        }
    }

    fn run(status: RunStatus) -> RunRecord {
        let mut run = RunRecord::started("r", "t", "wf", 1_000);
        run.status = status;
        run
    }

    fn kinds(events: &[&RunEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| format!("{}:{}", e.kind, e.detail["step"].as_str().unwrap_or("")))
            .collect()
    }

    #[test]
    fn a_late_record_older_than_the_watermark_is_still_delivered_once() {
        let running = run(RunStatus::Running);
        // First look: the run started and `a` is running.
        let first = events_of(&running, &[step("a#00", 1_100, None)], &[]);
        let (got, cursor) = EventCursor::default().next(&first);
        assert_eq!(kinds(&got), ["run_started:", "step_started:a"]);
        // Then `b` finishes (started before `a` finished) and `a` finishes: `b`'s start is
        // older than the watermark's newest event, and arrives late all the same.
        let later = [
            step("a#00", 1_100, Some(2_000)),
            step("b#00", 1_050, Some(1_900)),
        ];
        let second = events_of(&running, &later, &[]);
        let (got, cursor) = cursor.next(&second);
        assert_eq!(
            kinds(&got),
            ["step_started:b", "step_succeeded:b", "step_succeeded:a"]
        );
        // Nothing is delivered twice, through an encoded cursor too.
        let cursor = EventCursor::decode(&cursor.encode()).expect("round trip");
        let (got, _) = cursor.next(&second);
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_finished_step_names_the_model_it_asked_or_none() {
        let running = run(RunStatus::Running);
        let mut asked = step("write#00", 1_100, Some(1_400));
        asked.model = Some("embedded:deterministic-v1".into());
        asked.tokens_out = 42;
        let events = events_of(
            &running,
            &[asked, step("count#00", 1_200, Some(1_300))],
            &[],
        );
        let finished: Vec<(&str, &Value, &Value)> = events
            .iter()
            .filter(|e| e.kind == "step_succeeded")
            .map(|e| {
                (
                    e.detail["step"].as_str().unwrap_or_default(),
                    &e.detail["model"],
                    &e.detail["tokens_out"],
                )
            })
            .collect();
        assert_eq!(
            finished,
            [
                ("count", &Value::Null, &json!(0)),
                ("write", &json!("embedded:deterministic-v1"), &json!(42)),
            ]
        );
    }

    #[test]
    fn a_step_that_ends_in_the_millisecond_it_started_starts_first() {
        let running = run(RunStatus::Running);
        let events = events_of(&running, &[step("zz#00", 1_500, Some(1_500))], &[]);
        let names: Vec<&str> = events.iter().map(|e| e.kind).collect();
        assert_eq!(names, ["run_started", "step_started", "step_succeeded"]);
    }

    #[test]
    fn events_older_than_the_lag_are_taken_as_delivered() {
        let running = run(RunStatus::Running);
        let steps: Vec<StepRecord> = (0..3)
            .map(|i| {
                step(
                    &format!("s{i}#00"),
                    10_000 * (i + 1),
                    Some(10_000 * (i + 1) + 10),
                )
            })
            .collect();
        let events = events_of(&running, &steps, &[]);
        let (got, cursor) = EventCursor::default().next(&events);
        assert_eq!(got.len(), 7);
        // The cursor keeps only what is within the lag of its watermark.
        assert_eq!(cursor.watermark, 30_010);
        assert_eq!(cursor.seen.len(), 2);
        assert!(cursor.next(&events).0.is_empty());
    }

    #[test]
    fn pauses_gates_and_the_end_are_events() {
        let mut ended = run(RunStatus::Cancelled);
        ended.paused_at = vec![2_000];
        ended.resumed_at = vec![3_000];
        ended.finished_at = Some(9_000);
        let approval = ApprovalRecord {
            request_id: "q".into(),
            run_id: "r".into(),
            gate: "sign_off".into(),
            status: ApprovalStatus::Expired,
            created_at: 4,
            expires_at: 100,
            ..ApprovalRecord::default()
        };
        let events = events_of(&ended, &[], &[approval]);
        let names: Vec<&str> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            names,
            [
                "run_started",
                "run_paused",
                "run_resumed",
                "gate_opened",
                "gate_expired",
                "run_ended"
            ]
        );
    }

    #[test]
    fn a_cursor_not_from_this_api_is_refused_naming_the_field() {
        for bad in [
            "x",
            "eyJ3IjoxfQ",
            &URL_SAFE_NO_PAD.encode(br#"{"w":1,"s":["x"]}"#),
        ] {
            let error = EventCursor::decode(bad).err().map(|e| e.status());
            if bad == "eyJ3IjoxfQ" {
                // `{"w":1}` is a well-formed cursor.
                assert_eq!(error, None);
            } else {
                assert_eq!(error, Some(400), "{bad}");
            }
        }
    }
}
