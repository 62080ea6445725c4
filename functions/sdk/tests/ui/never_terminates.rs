// Mistake: `draft` and `edit` hand the data back and forth forever: no path reaches `end` or `fail`.
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
        draft = writer -> edit;
        edit = editor -> draft;
    }
}

fn main() {}
