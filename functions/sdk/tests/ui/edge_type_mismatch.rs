// Mistake: an edge feeds a step's output (`Invoice`) into an agent that takes something else (`Order`).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Invoice {
    pub number: String,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Shipment {
    pub tracking: String,
}

#[agent]
async fn bill(order: Order) -> Result<Invoice, AgentError> {
    Ok(Invoice {
        number: format!("{}", order.total),
    })
}

#[agent]
async fn ship(_order: Order) -> Result<Shipment, AgentError> {
    Ok(Shipment {
        tracking: String::new(),
    })
}

workflow! {
    Checkout(Order) {
        billing = bill -> shipping;
        shipping = ship -> end;
    }
}

fn main() {}
