// Mistake: `#[agent]` on a plain `fn`: agents must be `async fn`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

fn main() {}
