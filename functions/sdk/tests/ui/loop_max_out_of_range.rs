// Mistake: a loop bound of 0 (loops run between 1 and 1000 times) and a map with max_items = 0.
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
        pricing = price -> again;
        again = loop(max = 0, exhausted = end) -> packing;
        packing = map(lines, max_items = 0) { pack = pack_line } -> end;
    }
}

fn main() {}
