// Mistake: unknown setting keys: `attempts` in a retry (it is `max_attempts`) and `concurrency` in a map.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub lines: Vec<LineItem>,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct LineItem {
    pub sku: String,
}

#[agent]
async fn charge(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn pack_line(line: LineItem) -> Result<LineItem, AgentError> {
    Ok(line)
}

workflow! {
    Payment(Order) {
        charging = charge.retry(attempts = 3) -> packing;
        packing = map(lines, concurrency = 4) { pack = pack_line } -> end;
    }
}

fn main() {}
