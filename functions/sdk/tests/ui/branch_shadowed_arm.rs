// Mistake: the `branch` arm `total > 500.0` can never be taken: every such total already matches `total > 100.0`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn review(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn escalate(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn ship(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Checkout(Order) {
        route = branch { total > 100.0 => reviewing, total > 500.0 => escalation, _ => shipping };
        reviewing = review -> end;
        escalation = escalate -> end;
        shipping = ship -> end;
    }
}

fn main() {}
