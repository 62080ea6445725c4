// Mistake: a step name longer than the 80 characters Step Functions allows for state names.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[agent]
async fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Checkout(Order) {
        compute_the_price_of_the_order_including_taxes_discounts_shipping_and_handling_fees = price -> end;
    }
}

fn main() {}
