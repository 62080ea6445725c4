// Mistake: a retry policy whose backoff shrinks the delay (0.5) and whose interval is 0; both are reported.
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
        charging = charge.retry(interval = 0, max_attempts = 3, backoff = 0.5) -> end;
    }
}

fn main() {}
