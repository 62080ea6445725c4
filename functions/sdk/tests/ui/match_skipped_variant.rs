// Mistake: a `match` arm names `Verdict::Internal`, a `#[serde(skip)]` variant that never appears in the JSON.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub enum Verdict {
    Approve,
    Reject,
    #[serde(skip)]
    Internal,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Claim {
    pub verdict: Verdict,
}

#[agent]
async fn assess(claim: Claim) -> Result<Claim, AgentError> {
    Ok(claim)
}

#[agent]
async fn pay(claim: Claim) -> Result<Claim, AgentError> {
    Ok(claim)
}

workflow! {
    Claims(Claim) {
        assessment = assess -> route;
        route = match verdict {
            Verdict::Approve => payout,
            Verdict::Reject => fail,
            Verdict::Internal => fail,
        };
        payout = pay -> end;
    }
}

fn main() {}
