// Mistake: retrying `Budget.Exceeded`, which only fails again (a run's budget never grows).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Note {
    pub text: String,
}

#[agent]
async fn annotate(note: Note) -> Result<Note, AgentError> {
    Ok(note)
}

workflow! {
    Annotation(Note) {
        only = annotate.retry(on = ["Agent.Retryable", "Budget.Exceeded"]) -> end;
    }
}

fn main() {}
