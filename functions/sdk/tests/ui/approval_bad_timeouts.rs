// Mistake: an approval gate with `timeout = 0` (a gate must wait at least a second).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn fulfil(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Purchase(Order) {
        manager = approval(subject = "Manager sign-off", timeout = 0) -> fulfilment;
        fulfilment = fulfil -> end;
    }
}

fn main() {}
