// Mistake: a `.when(...)` guard compares `total` with a number, but `serialize_with` writes it as a string.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

fn as_text<S: serde::Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_string())
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    #[serde(serialize_with = "as_text")]
    pub total: f64,
}

#[agent]
async fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn audit(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Checkout(Order) {
        pricing = price -> auditing;
        auditing = audit.when(total > 5000.0) -> end;
    }
}

fn main() {}
