// Mistake: workflows `OrderFlow` and `Orderflow`, which name the same AWS resources (CloudFormation ids fold case).
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
    OrderFlow(Order) {
        pricing = price -> end;
    }
}

workflow! {
    Orderflow(Order) {
        pricing = price -> end;
    }
}

fn main() {}
