// Mistake: `.retry(on = ["Agent.Retriable"])` names an error nothing raises (a misspelling of `Agent.Retryable`).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn charge(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Payment(Order) {
        charging = charge.retry(on = ["Agent.Retriable"]) -> end;
    }
}

fn main() {}
