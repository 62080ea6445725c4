// Mistake: a map over `scores`, a `HashMap` that serializes as a JSON object, not a list.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Item {
    pub score: u32,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Board {
    pub scores: std::collections::HashMap<String, Item>,
}

#[agent]
async fn check_score(entry: (String, Item)) -> Result<Item, AgentError> {
    Ok(entry.1)
}

workflow! {
    Scoring(Board) {
        checking = map(scores) { one = check_score } -> end;
    }
}

fn main() {}
