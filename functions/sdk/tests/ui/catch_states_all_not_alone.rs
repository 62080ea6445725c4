// Mistake: `.catch(on = ["States.ALL", "Agent.Permanent"], ...)`: `States.ALL` must be the only error a catcher names.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn charge(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn refund(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Payment(Order) {
        charging = charge.catch(on = ["States.ALL", "Agent.Permanent"], then = fallback) -> end;
        fallback = refund -> end;
    }
}

fn main() {}
