// Mistake: `Order`, an agent's input, derives `Serialize` and `Deserialize` but not `JsonShape`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Checkout(Order) {
        pricing = price -> end;
    }
}

fn main() {}
