// Mistake: `#[agent]` on a function that returns its output directly instead of a `Result`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::agent;

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn price(order: Order) -> Order {
    order
}

fn main() {}
