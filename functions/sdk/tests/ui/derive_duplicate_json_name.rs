// Mistake: a struct whose fields `a` and `b` are both renamed to the JSON key `id`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    #[serde(rename = "id")]
    pub a: String,
    #[serde(rename = "id")]
    pub b: String,
}

#[agent]
async fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Checkout(Order) {
        pricing = price -> end;
    }
}

fn main() {}
