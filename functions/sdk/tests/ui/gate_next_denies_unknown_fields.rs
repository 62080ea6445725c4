// Mistake: the step after an approval gate takes `Order`, which is `deny_unknown_fields`, but the gate adds `approval`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn fulfil(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Purchase(Order) {
        review = approval(subject = "Approve the order", timeout = 86400) -> fulfilment;
        fulfilment = fulfil -> end;
    }
}

fn main() {}
