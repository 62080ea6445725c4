// Mistake: an approval gate without `timeout`: the run could wait for a person forever.
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
        sign_off = approval(subject = "Approve the purchase", on_reject = fail) -> fulfilment;
        fulfilment = fulfil -> end;
    }
}

fn main() {}
