// Mistake: the revise cycle `review -> decide -> revise -> review` has no `loop(max = N)` step bounding it.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Draft {
    pub text: String,
    pub approved: bool,
}

#[agent]
async fn reviewer(draft: Draft) -> Result<Draft, AgentError> {
    Ok(draft)
}

#[agent]
async fn reviser(draft: Draft) -> Result<Draft, AgentError> {
    Ok(draft)
}

workflow! {
    Publishing(Draft) {
        review = reviewer -> decide;
        decide = branch { approved => end, _ => revise };
        revise = reviser -> review;
    }
}

fn main() {}
