// Mistake: an approval gate with a `heartbeat`: gates send no heartbeats, so the setting is refused.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn fulfil(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Purchase(Order) {
        review = approval(subject = "Approve the order", timeout = 86400, heartbeat = 3600) -> fulfilment;
        fulfilment = fulfil -> end;
    }
}

fn main() {}
