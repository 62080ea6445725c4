//! The waits of a run that a client ends: steps parked while their run is paused, and, once a
//! cancel stopped its execution, gates too. Whoever takes a parked step's token from the
//! parked table sends it, so each is sent once whichever of a resume and a late-parking step
//! gets there first; a token that could not be sent is put back, never lost.

use switchyard_state::{ApprovalStatus, ParkedRecord, RunStatus, State, StateError};

/// What a stopped execution's gate wait is ended with: a rejection.
const STOPPED_GATE_OUTPUT: &str = r#"{"decision":"reject","decided_by":"cancelled"}"#;

/// Sends parked steps (and, on a cancel, gates) their tokens back.
pub struct Waits<'a> {
    pub(crate) state: &'a State,
    pub(crate) sfn: &'a aws_sdk_sfn::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error(transparent)]
    Store(#[from] StateError),
    #[error("Step Functions did not take a task token: {detail}")]
    Send {
        detail: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Waits<'_> {
    /// A step reached a boundary while its run was paused: keeps its token until the run is
    /// resumed. If the run was resumed (or ended) meanwhile, nobody would send it: the step
    /// goes on at once. Returns whether it stays parked.
    pub async fn park(&self, parked: &ParkedRecord, task_token: &str) -> Result<bool, WaitError> {
        self.state.parked().park(parked, task_token).await?;
        // Recorded first, then checked: a resume that the check does not see has not read
        // the parked steps yet, so it will find this one.
        let status = self.state.runs().status(&parked.run_id).await?;
        if status == Some(RunStatus::Paused) {
            return Ok(true);
        }
        if let Some(token) = self
            .state
            .parked()
            .take(&parked.run_id, &parked.park_key)
            .await?
        {
            self.send_or_put_back(parked, &token).await?;
        }
        Ok(false)
    }

    /// Lets every parked step of a resumed run go on; returns how many.
    pub async fn release(&self, run_id: &str) -> Result<u32, WaitError> {
        let mut released = 0;
        for (parked, token) in self.state.parked().take_all(run_id).await? {
            self.send_or_put_back(&parked, &token).await?;
            tracing::info!(run_id, step = %parked.step, item = ?parked.item, "parked step released");
            released += 1;
        }
        Ok(released)
    }

    /// Ends every wait of a cancelled run whose execution was stopped — parked steps and
    /// open gates — so it stops now wherever it waits. Step Functions on AWS ends a stopped
    /// execution's waits itself (the tokens are then unknown, which is fine); LocalStack
    /// applies a stop to a waiting task only when its wait ends, and must see the wait
    /// succeed (a failed wait would fail the run and record the stopped execution
    /// as failed). A gate's wait ends with a rejection, so nothing is ever approved by a
    /// cancel. Returns how many waits were ended.
    pub async fn end_stopped(&self, run_id: &str) -> Result<u32, WaitError> {
        let mut tokens: Vec<(String, String)> = self
            .state
            .parked()
            .take_all(run_id)
            .await?
            .into_iter()
            .map(|(parked, token)| (token, parked.resume_output()))
            .collect();
        for request in self.state.approvals().of_run(run_id).await? {
            if request.status == ApprovalStatus::Pending {
                if let Some(stored) = self.state.approvals().get(&request.request_id).await? {
                    tokens.push((stored.task_token, STOPPED_GATE_OUTPUT.to_owned()));
                }
            }
        }
        let mut ended = 0;
        for (token, output) in tokens {
            if self.send(&token, &output).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Lets a taken step go on; if Step Functions cannot be told, the step is parked again
    /// (a later resume sends it) and the error returned.
    async fn send_or_put_back(&self, parked: &ParkedRecord, token: &str) -> Result<(), WaitError> {
        match self.send(token, &parked.resume_output()).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.state.parked().park(parked, token).await?;
                Err(e)
            }
        }
    }

    /// Sends a wait its output; `Ok(false)` if the execution no longer waits for it.
    async fn send(&self, token: &str, output: &str) -> Result<bool, WaitError> {
        match self
            .sfn
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            // The execution stopped waiting (cancelled, stopped): nothing to let go.
            Err(e) if gone(&e) => Ok(false),
            Err(e) => Err(send_error(e)),
        }
    }
}

/// Whether Step Functions no longer waits for the token.
fn gone<E, R>(error: &aws_sdk_sfn::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| matches!(code, "TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken"))
}

fn send_error<E, R>(error: aws_sdk_sfn::error::SdkError<E, R>) -> WaitError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    WaitError::Send {
        detail: aws_sdk_sfn::error::DisplayErrorContext(&error).to_string(),
        source: Box::new(error),
    }
}
