// Mistake: a task step without `-> next`: where the run goes after it is not said.
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
        pricing = price -> shipping;
        shipping = ship;
    }
}

fn main() {}
