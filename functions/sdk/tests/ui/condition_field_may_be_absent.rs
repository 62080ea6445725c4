// Mistake: a `.when(...)` guard reads `retries`, which serde leaves out of the JSON when it is 0.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Job {
    pub name: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
}

#[agent]
async fn run(job: Job) -> Result<Job, AgentError> {
    Ok(job)
}

#[agent]
async fn escalate(job: Job) -> Result<Job, AgentError> {
    Ok(job)
}

workflow! {
    Jobs(Job) {
        running = run -> escalating;
        escalating = escalate.when(retries > 2) -> end;
    }
}

fn main() {}
