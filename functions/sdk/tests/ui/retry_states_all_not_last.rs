// Mistake: a `.retry(on = ["States.ALL"])` before another `.retry(...)`: `States.ALL` must be the last retrier.
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
        charging = charge
            .retry(on = ["States.ALL"], max_attempts = 2)
            .retry(on = ["Agent.Retryable"], max_attempts = 3)
            -> end;
    }
}

fn main() {}
