//! The run-tracker function. Step Functions reports every execution's status changes to
//! EventBridge, and a rule in the template sends the ends of Switchyard's executions here
//! ([`switchyard_state::schema::RUN_END_STATUSES`]; the start is the Run API's write): a run
//! is recorded as ended (succeeded, failed, timed out, stopped) without a single state in its
//! definition, including failures outside any agent (a gate timing out, a map refusing its
//! items, an uncaught error). A RUNNING event, should a rule send one, records a start. The
//! calls a definition still makes are on a gate's timeout path (`approval_expired`) and from
//! a paused run's step waiting at its boundary (`parked`, whose token a resume sends back).
//! Each end is also counted as a CloudWatch metric of its workflow ([`crate::emf::run_end`]).

use serde::Deserialize;
use serde_json::Value;
use switchyard_state::schema::TrackerPhase;
use switchyard_state::{
    now_ms, ExecutionInput, ParkedRecord, PausedAt, RunEnd, RunRecord, RunTotals, State, StateError,
};

use crate::summarize;

/// How much of a run's input and output its record keeps as a summary.
pub const SUMMARY_CHARS: usize = 1_000;
/// The largest output (JSON text) a run's record keeps whole; Step Functions itself sends at
/// most 256 KiB in an event, and an agent offloads anything over 200 KB to the payload bucket.
pub const MAX_RECORDED_OUTPUT: usize = 256 * 1024;

/// A state machine's own call: a gate's wait timed out, or a step parks (its run is paused;
/// `.waitForTaskToken`).
#[derive(Debug, Deserialize)]
pub struct TrackerCall {
    pub phase: TrackerPhase,
    pub run_id: String,
    /// The gate whose requests expire.
    #[serde(default)]
    pub gate: String,
    #[serde(default)]
    pub tenant_id: String,
    /// The parked step, its map item, and the token that lets it go on.
    #[serde(default)]
    pub step: String,
    #[serde(default)]
    pub item: Option<u64>,
    #[serde(default)]
    pub task_token: Option<String>,
    /// The top level's shared wait names no step: it hands over the caught pause's cause,
    /// whose message is a [`PausedAt`].
    #[serde(default)]
    pub cause: Option<String>,
}

impl TrackerCall {
    /// The parked step and map item: named by a map item's own wait, or by the
    /// caught pause's cause that the top level's shared wait hands over.
    pub fn parked_step(&self) -> Result<(String, Option<u64>), TrackerError> {
        if !self.step.is_empty() {
            return Ok((self.step.clone(), self.item));
        }
        let at = self
            .cause
            .as_deref()
            .and_then(PausedAt::from_cause)
            .ok_or(TrackerError::NoStep)?;
        Ok((at.step, at.item))
    }
}

/// `detail` of an EventBridge "Step Functions Execution Status Change" event.
#[derive(Debug, Deserialize)]
pub struct StatusChange {
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
    #[serde(rename = "stateMachineArn")]
    pub state_machine_arn: String,
    /// The execution's name: the run id.
    pub name: String,
    pub status: String,
    /// The execution input as JSON text (an object when Step Functions had none).
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    /// Epoch milliseconds of the execution's start and stop. AWS sends numbers; LocalStack
    /// sends RFC 3339 text. A time that is neither is left out: it never costs the event.
    #[serde(rename = "startDate", default, deserialize_with = "epoch_ms")]
    pub start_date: Option<u64>,
    #[serde(rename = "stopDate", default, deserialize_with = "epoch_ms")]
    pub stop_date: Option<u64>,
}

/// An event's time as epoch milliseconds: a number, or RFC 3339 text.
fn epoch_ms<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(match value {
        Value::Number(n) => n.as_u64(),
        Value::String(text) => {
            time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .ok()
                .and_then(|t| u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        }
        _ => None,
    })
}

/// What a status change means for the run's record.
#[derive(Debug, PartialEq)]
pub enum Change {
    Started,
    Ended(RunEnd),
}

impl StatusChange {
    pub fn change(&self) -> Result<Change, TrackerError> {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Ok(match self.status.as_str() {
            "RUNNING" => Change::Started,
            "SUCCEEDED" => {
                let output = self.output.as_deref().unwrap_or("null");
                let value = serde_json::from_str(output)
                    .unwrap_or_else(|_| Value::String(output.to_owned()));
                Change::Ended(RunEnd::Succeeded {
                    output_summary: summarize(&value, SUMMARY_CHARS),
                    output: (output.len() <= MAX_RECORDED_OUTPUT).then(|| output.to_owned()),
                })
            }
            "FAILED" | "TIMED_OUT" => {
                let (error, cause) = failure(
                    self.error.as_deref(),
                    self.cause.as_deref(),
                    self.status == "TIMED_OUT",
                );
                Change::Ended(RunEnd::Failed { error, cause })
            }
            "ABORTED" => Change::Ended(RunEnd::Cancelled),
            "PENDING_REDRIVE" => Change::Ended(RunEnd::Failed {
                error: text(&self.error),
                cause: text(&self.cause),
            }),
            other => return Err(TrackerError::UnknownStatus(other.to_owned())),
        })
    }

    /// How long the execution ran, when the event says when it started and stopped.
    pub fn duration_ms(&self) -> Option<u64> {
        Some(self.stop_date?.saturating_sub(self.start_date?))
    }

    /// The run as far as the event knows it: tenant from the envelope, workflow from the
    /// state machine's name.
    pub fn run(&self, state_machine_prefix: &str) -> RunRecord {
        let input = match &self.input {
            Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            other => other.clone(),
        };
        let envelope = serde_json::from_value::<ExecutionInput>(input).ok();
        let tenant = envelope
            .as_ref()
            .map(|e| e.meta.tenant_id.clone())
            .unwrap_or_default();
        let workflow = self
            .state_machine_arn
            .strip_prefix(state_machine_prefix)
            .filter(|_| !state_machine_prefix.is_empty())
            .or_else(|| self.state_machine_arn.rsplit(':').next())
            .unwrap_or_default();
        let mut run = RunRecord::started(&self.name, &tenant, workflow, now_ms());
        run.execution_arn = Some(self.execution_arn.clone());
        run.input_summary = envelope.map(|e| summarize(&e.data, SUMMARY_CHARS));
        run
    }
}

/// A failed execution's error and cause as the run records them. An unhandled error fails
/// the execution as it is; executions of earlier definitions, which routed every failure
/// through a Fail state, carry a `States.*` error as `Switchyard.Runtime` with the original
/// as JSON in its cause, which is read back.
pub fn failure(error: Option<&str>, cause: Option<&str>, timed_out: bool) -> (String, String) {
    let default_error = if timed_out {
        "States.Timeout"
    } else {
        "States.Unknown"
    };
    let error = error.unwrap_or(default_error);
    let cause = cause.unwrap_or_default();
    if error == switchyard_state::schema::RUNTIME_ERROR {
        #[derive(Deserialize)]
        struct Original {
            #[serde(rename = "Error")]
            error: String,
            #[serde(rename = "Cause", default)]
            cause: String,
        }
        if let Ok(original) = serde_json::from_str::<Original>(cause) {
            return (original.error, original.cause);
        }
    }
    (error.to_owned(), cause.to_owned())
}

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error("tracker event is malformed: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("execution status `{0}` is not one Step Functions sends")]
    UnknownStatus(String),
    #[error(transparent)]
    Store(#[from] StateError),
    #[error(transparent)]
    Approvals(#[from] crate::approval::DecisionError),
    #[error("a parked step's call carries no task token")]
    NoToken,
    #[error("a parked step's call names no step, and its cause names none either")]
    NoStep,
    #[error(transparent)]
    Waits(#[from] crate::waits::WaitError),
}

impl From<TrackerError> for lambda_runtime::Diagnostic {
    fn from(error: TrackerError) -> Self {
        let error_type = match error {
            TrackerError::Malformed(_)
            | TrackerError::UnknownStatus(_)
            | TrackerError::NoToken
            | TrackerError::NoStep => "Tracker.Malformed",
            TrackerError::Store(_) | TrackerError::Approvals(_) | TrackerError::Waits(_) => {
                "Tracker.Unavailable"
            }
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// `arn:…:stateMachine:switchyard-` from the deployment: a status change's machine names its
/// workflow.
pub fn state_machine_prefix_from_env() -> String {
    std::env::var(switchyard_state::schema::env::STATE_MACHINE_ARN_PREFIX).unwrap_or_default()
}

/// Whether a Lambda event is an execution status change (EventBridge).
pub fn is_status_change(event: &Value) -> bool {
    event["source"] == "aws.states"
        && event["detail-type"] == "Step Functions Execution Status Change"
}

pub async fn handle(
    state: &State,
    approvals: &crate::approval::ApprovalStore,
    state_machine_prefix: &str,
    payload: Value,
) -> Result<Value, TrackerError> {
    if is_status_change(&payload) {
        let change: StatusChange = serde_json::from_value(payload["detail"].clone())?;
        return record(state, approvals, state_machine_prefix, &change).await;
    }
    let call: TrackerCall = serde_json::from_value(payload)?;
    match call.phase {
        TrackerPhase::ApprovalExpired => {
            let expired = approvals
                .expire_open(&call.run_id, Some(&call.gate))
                .await?;
            tracing::info!(run_id = %call.run_id, step = %call.gate, expired, "approval wait timed out");
        }
        TrackerPhase::Parked => {
            let token = call.task_token.as_deref().ok_or(TrackerError::NoToken)?;
            let (step, item) = call.parked_step()?;
            let parked = ParkedRecord {
                park_key: ParkedRecord::key_of(&step, item),
                run_id: call.run_id.clone(),
                step,
                item,
                tenant_id: call.tenant_id.clone(),
                parked_at: now_ms(),
            };
            let waits = approvals.waits();
            let stays = waits.park(&parked, token).await?;
            tracing::info!(run_id = %call.run_id, step = %parked.step, item = ?parked.item, stays, "step parked");
        }
    }
    Ok(Value::Null)
}

/// Records one status change. Events may arrive out of order or twice: a start never
/// overwrites an end, an end is recorded once, and an end that arrives first creates the
/// record.
async fn record(
    state: &State,
    approvals: &crate::approval::ApprovalStore,
    state_machine_prefix: &str,
    change: &StatusChange,
) -> Result<Value, TrackerError> {
    let run = change.run(state_machine_prefix);
    match change.change()? {
        Change::Started => {
            state.runs().start(&run).await?;
        }
        Change::Ended(end) => {
            // The run's totals, summed once here rather than by every step as it ran.
            let steps = state.steps().of_run(&run.run_id).await?;
            state.runs().end(&run, &end, &RunTotals::of(&steps)).await?;
            // An ended run waits for nobody.
            let expired = approvals.expire_open(&run.run_id, None).await?;
            if expired > 0 {
                tracing::info!(run_id = %run.run_id, expired, "approvals of an ended run expired");
            }
            // One end event per execution, however the run's record was ended (a cancel
            // records it first): each is counted here, once everything it changes is written
            // (a failed write retries the event).
            crate::emf::emit(&crate::emf::run_end(
                &run.workflow,
                &run.run_id,
                &end,
                change.duration_ms(),
                now_ms(),
            ));
        }
    }
    tracing::info!(
        run_id = %run.run_id,
        tenant_id = %run.tenant_id,
        workflow = %run.workflow,
        status = %change.status,
        "run recorded"
    );
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(status: &str, extra: Value) -> StatusChange {
        let mut detail = json!({
            "executionArn": "arn:aws:states:us-east-1:1:execution:switchyard-gate-test:run-1",
            "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:switchyard-gate-test",
            "name": "run-1",
            "status": status,
            "input": json!({ "data": { "topic": "t" }, "meta": { "tenant_id": "tenant-a" } }).to_string(),
        });
        if let (Some(detail), Value::Object(extra)) = (detail.as_object_mut(), extra) {
            detail.extend(extra);
        }
        serde_json::from_value(detail).expect("a status change")
    }

    #[test]
    fn a_parked_call_names_its_step_itself_or_through_the_caught_pause() {
        let call = |payload: Value| -> TrackerCall {
            serde_json::from_value(payload).expect("a tracker call")
        };
        let own = call(json!({
            "phase": "parked", "run_id": "r", "task_token": "t", "step": "square_one", "item": 2,
        }));
        assert_eq!(
            own.parked_step().ok(),
            Some(("square_one".to_owned(), Some(2)))
        );
        let message = PausedAt {
            step: "pace_step".into(),
            item: None,
            reason: "run `r` is paused".into(),
        }
        .message();
        let cause = json!({ "errorType": "Switchyard.Paused", "errorMessage": message });
        let shared = call(json!({
            "phase": "parked", "run_id": "r", "task_token": "t", "cause": cause.to_string(),
        }));
        assert_eq!(
            shared.parked_step().ok(),
            Some(("pace_step".to_owned(), None))
        );
        let nameless = call(json!({
            "phase": "parked", "run_id": "r", "task_token": "t", "cause": "paused",
        }));
        assert!(matches!(nameless.parked_step(), Err(TrackerError::NoStep)));
    }

    #[test]
    fn a_status_change_names_its_run_tenant_and_workflow() {
        let run =
            change("RUNNING", json!({})).run("arn:aws:states:us-east-1:1:stateMachine:switchyard-");
        assert_eq!(
            (
                run.run_id.as_str(),
                run.tenant_id.as_str(),
                run.workflow.as_str()
            ),
            ("run-1", "tenant-a", "gate-test")
        );
        assert_eq!(run.input_summary.as_deref(), Some(r#"{"topic":"t"}"#));
        // Without the deployment's prefix the machine's own name is the workflow's.
        assert_eq!(
            change("RUNNING", json!({})).run("").workflow,
            "switchyard-gate-test"
        );
    }

    #[test]
    fn every_status_the_template_routes_here_ends_a_run() {
        for status in switchyard_state::schema::RUN_END_STATUSES {
            assert!(
                matches!(change(status, json!({})).change(), Ok(Change::Ended(_))),
                "{status}"
            );
        }
    }

    #[test]
    fn ends_are_read_from_the_status_and_the_failure_route() {
        let ok = change("SUCCEEDED", json!({ "output": r#"{"path":"approved"}"# }));
        assert_eq!(
            ok.change().ok(),
            Some(Change::Ended(RunEnd::Succeeded {
                output_summary: r#"{"path":"approved"}"#.into(),
                output: Some(r#"{"path":"approved"}"#.into()),
            }))
        );
        let failed = change(
            "FAILED",
            json!({ "error": "Agent.Permanent", "cause": "no" }),
        );
        assert_eq!(
            failed.change().ok(),
            Some(Change::Ended(RunEnd::Failed {
                error: "Agent.Permanent".into(),
                cause: "no".into()
            }))
        );
        let runtime = change(
            "FAILED",
            json!({ "error": "Switchyard.Runtime", "cause": r#"{"Error":"States.Timeout","Cause":"slow"}"# }),
        );
        assert_eq!(
            runtime.change().ok(),
            Some(Change::Ended(RunEnd::Failed {
                error: "States.Timeout".into(),
                cause: "slow".into()
            }))
        );
        assert_eq!(
            change("TIMED_OUT", json!({})).change().ok(),
            Some(Change::Ended(RunEnd::Failed {
                error: "States.Timeout".into(),
                cause: String::new()
            }))
        );
        assert_eq!(
            change("ABORTED", json!({})).change().ok(),
            Some(Change::Ended(RunEnd::Cancelled))
        );
        assert!(change("PAUSED", json!({})).change().is_err());
    }

    #[test]
    fn an_end_knows_its_duration_when_the_event_says_when_it_started_and_stopped() {
        let timed = change(
            "SUCCEEDED",
            json!({ "startDate": 1_700_000_000_000u64, "stopDate": 1_700_000_002_500u64 }),
        );
        assert_eq!(timed.duration_ms(), Some(2_500));
        assert_eq!(change("SUCCEEDED", json!({})).duration_ms(), None);
        // LocalStack's text times; a time that is neither never costs the event.
        let text = change(
            "SUCCEEDED",
            json!({
                "startDate": "2026-12-03T12:51:23.886570+00:00",
                "stopDate": "2026-12-03T12:51:25.153781+00:00",
            }),
        );
        assert_eq!(text.duration_ms(), Some(1_267));
        let odd = change(
            "SUCCEEDED",
            json!({ "startDate": true, "stopDate": "yesterday" }),
        );
        assert_eq!(odd.duration_ms(), None);
    }

    #[test]
    fn only_step_functions_status_changes_are_status_changes() {
        assert!(is_status_change(&json!({
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
        })));
        assert!(!is_status_change(&json!({ "phase": "approval_expired" })));
        assert!(!is_status_change(&json!({
            "source": "aws.events",
            "detail-type": "Scheduled Event",
        })));
    }
}
