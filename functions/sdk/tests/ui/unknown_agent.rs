// Mistake: a step calls an agent that does not exist (typo in the agent's name).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn validate_order(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Intake(Order) {
        check = validate_ordr -> end;
    }
}

fn main() {}
