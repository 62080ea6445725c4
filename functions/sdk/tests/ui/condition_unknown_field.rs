// Mistake: a `.when(...)` guard reads `totl`, which is not a field of the step's input (`total` is).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn audit(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Checkout(Order) {
        pricing = price -> auditing;
        auditing = audit.when(totl > 5000.0) -> end;
    }
}

fn main() {}
