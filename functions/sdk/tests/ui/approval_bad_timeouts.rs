// Mistake: approval gates with `timeout = 0`, and with a heartbeat not shorter than the timeout.
use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn fulfil(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Purchase(Order) {
        manager = approval(subject = "Manager sign-off", timeout = 0) -> fulfilment;
        fulfilment = fulfil -> finance;
        finance = approval(subject = "Finance sign-off", timeout = 3600, heartbeat = 3600) -> end;
    }
}

fn main() {}
