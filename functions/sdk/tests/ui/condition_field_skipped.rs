// Mistake: a `branch` arm reads `internal`, a `#[serde(skip)]` field that never appears in the JSON.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
    #[serde(skip)]
    pub internal: bool,
}

#[agent]
async fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn audit(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn ship(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Checkout(Order) {
        pricing = price -> route;
        route = branch { internal => auditing, _ => shipping };
        auditing = audit -> end;
        shipping = ship -> end;
    }
}

fn main() {}
