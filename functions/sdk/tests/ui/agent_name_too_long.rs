// Mistake: a 60-character agent name, which makes the Lambda function name (`switchyard-` + name) longer than 64 characters.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn review_the_quarterly_enterprise_procurement_requests_for_all(
    order: Order,
) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Procurement(Order) {
        reviewing = review_the_quarterly_enterprise_procurement_requests_for_all -> end;
    }
}

fn main() {}
