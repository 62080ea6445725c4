// Mistake: `.retri(...)` is not a modifier (typo for `.retry(...)`).
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
        charging = charge.retri(max_attempts = 3) -> end;
    }
}

fn main() {}
