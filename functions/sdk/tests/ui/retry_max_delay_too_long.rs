// Mistake: a retry `max_delay` of 40,000,000 seconds, above Step Functions' limit of 31,622,400 (a year and a day).
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
        charging = charge.retry(on = ["Agent.Retryable"], max_delay = 40000000) -> end;
    }
}

fn main() {}
