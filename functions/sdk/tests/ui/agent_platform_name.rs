// Mistake: an agent named `api`, which would deploy as the platform's own Run API function.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn api(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Checkout(Order) {
        calling = api -> end;
    }
}

fn main() {}
