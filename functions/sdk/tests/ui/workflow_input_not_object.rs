// Mistake: a workflow whose input is a `Vec<Order>` (a JSON list): a run's input must be a JSON object.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn price_all(orders: Vec<Order>) -> Result<Vec<Order>, AgentError> {
    Ok(orders)
}

workflow! {
    Batch(Vec<Order>) {
        pricing = price_all -> end;
    }
}

fn main() {}
