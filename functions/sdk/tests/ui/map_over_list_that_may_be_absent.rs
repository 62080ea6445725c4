// Mistake: a map over `deals`, which serde leaves out of the JSON when it is empty (`skip_serializing_if`).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Deal {
    pub value: f64,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Pipeline {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deals: Vec<Deal>,
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
