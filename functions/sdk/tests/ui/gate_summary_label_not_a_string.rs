// Mistake: a summary label is a string literal (`total as "Total"`), not a name.
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

workflow! {
    Checkout(Order) {
        pricing = price -> approve;
        approve = approval(subject = "Approve", summary = [total as Total], timeout = 60) -> end;
    }
}

fn main() {}
