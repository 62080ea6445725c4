// Mistake: a map over `deals`, an `Option<Vec<Deal>>` that may be `null` rather than a list.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Deal {
    pub value: f64,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Pipeline {
    pub deals: Option<Vec<Deal>>,
}

#[agent]
async fn score_deal(deal: Deal) -> Result<Deal, AgentError> {
    Ok(deal)
}

workflow! {
    Deals(Pipeline) {
        scoring = map(deals) { one = score_deal } -> end;
    }
}

fn main() {}
