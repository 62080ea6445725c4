// Mistake: several mistakes in one workflow (unknown target, bad retry backoff, agent timeout 0, unreachable steps, unknown approval setting), all reported by one build.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn bill(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn ship(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn auditor(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Checkout(Order) {
        billing = bill.retry(max_attempts = 3, backoff = 0.5) -> shiping;
        shipping = ship.timeout(0) -> end;
        audit = auditor -> end;
        notify = approval(subject = "Tell the customer", timeout = 60, escalate = true) -> end;
    }
}

fn main() {}
