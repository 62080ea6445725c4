// Mistake: a `branch` without a `_ => target` arm: a run where no condition holds would fail.
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
async fn express(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn standard(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Shipping(Order) {
        pricing = price -> route;
        route = branch {
            total > 1000.0 => fast,
            total <= 100.0 => slow,
        };
        fast = express -> end;
        slow = standard -> end;
    }
}

fn main() {}
