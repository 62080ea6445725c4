// Mistake: an agent named `café`: Lambda function names and CloudFormation ids take only ASCII.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn café(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Coffee(Order) {
        brewing = café -> end;
    }
}

fn main() {}
