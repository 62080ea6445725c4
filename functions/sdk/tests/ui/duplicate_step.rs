// Mistake: two steps share the name `review`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Draft {
    pub text: String,
}

#[agent]
async fn writer(draft: Draft) -> Result<Draft, AgentError> {
    Ok(draft)
}

#[agent]
async fn editor(draft: Draft) -> Result<Draft, AgentError> {
    Ok(draft)
}

workflow! {
    Publishing(Draft) {
        review = writer -> publish;
        publish = editor -> end;
        review = editor -> end;
    }
}

fn main() {}
