// Mistakes: capabilities that a graph could not name exactly (mixed case, spaces, empty),
// one listed twice, a non-string, and an unknown setting.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent(capabilities = ["Pricing", "price lookup", "", "tax", "tax", 7])]
async fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent(name = "pricer")]
async fn price_again(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

fn main() {}
