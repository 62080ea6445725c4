// Mistake: a `match` arm written as a bare name (`Approve`) instead of `Verdict::Approve`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub enum Verdict {
    Approve,
    Reject,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Claim {
    pub verdict: Verdict,
}

#[agent]
async fn assess(claim: Claim) -> Result<Claim, AgentError> {
    Ok(claim)
}

workflow! {
    Claims(Claim) {
        assessment = assess -> route;
        route = match verdict {
            Approve => end,
            Verdict::Reject => fail,
        };
    }
}

fn main() {}
