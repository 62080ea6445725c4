// Mistake: `#[agent]` given arguments, on a generic fn, on a fn with three parameters, and on one with none.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, AgentContext, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent(name = "pricing")]
async fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn generic<T>(order: T) -> Result<T, AgentError> {
    Ok(order)
}

#[agent]
async fn too_many(order: Order, _ctx: AgentContext, _extra: u32) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn nothing() -> Result<Order, AgentError> {
    Ok(Order { total: 0.0 })
}

fn main() {}
