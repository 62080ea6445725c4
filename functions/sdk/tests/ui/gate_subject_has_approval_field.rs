// Mistake: an approval gate whose input already has an `approval` field (`sign_off`, renamed), which the decision would overwrite.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
    #[serde(rename = "approval")]
    pub sign_off: String,
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
