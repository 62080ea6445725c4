// Mistake: an approval gate whose input is a `Vec<String>` (a JSON list): the decision can only be added to an object.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn list_skus(order: Order) -> Result<Vec<String>, AgentError> {
    Ok(vec![order.total.to_string()])
}

workflow! {
    Purchase(Order) {
        listing = list_skus -> review;
        review = approval(subject = "Approve the SKUs", timeout = 86400) -> end;
    }
}

fn main() {}
