// Mistake: after a gate, a branch compares the decision with `"approved"`, which a gate never writes (`approve` or `reject`).
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

#[agent]
async fn archive(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Review(Order) {
        review = approval(subject = "Approve the order", timeout = 86400, on_reject = archiving) -> decide;
        decide = branch { approval.decision == "approved" => fulfilment, _ => archiving };
        fulfilment = fulfil -> end;
        archiving = archive -> end;
    }
}

fn main() {}
