// Mistake: `.retry(on = ["States.Runtime"])`: Step Functions never retries `States.Runtime`, it always fails the run.
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
        charging = charge.retry(on = ["States.Runtime"]) -> end;
    }
}

fn main() {}
