// Mistake: an agent timeout of one hour: Lambda functions run for at most 900 seconds.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
    pub limit: f64,
    pub rush: bool,
    pub lines: Vec<LineItem>,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct LineItem {
    pub sku: String,
}

#[agent]
async fn price(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn ship(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn pack_line(line: LineItem) -> Result<LineItem, AgentError> {
    Ok(line)
}

workflow! {
    Checkout(Order) {
        shipping = ship.timeout(3600) -> end;
    }
}

fn main() {}
