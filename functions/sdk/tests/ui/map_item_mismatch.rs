// Mistake: a map runs an agent taking `LineItem` over a field whose elements are `String`s.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub notes: Vec<String>,
    pub lines: Vec<LineItem>,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct LineItem {
    pub sku: String,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Packed {
    pub box_id: String,
}

#[agent]
async fn pack_line(line: LineItem) -> Result<Packed, AgentError> {
    Ok(Packed { box_id: line.sku })
}

workflow! {
    Packing(Order) {
        pack_all = map(notes, max_concurrency = 4) { pack = pack_line } -> end;
    }
}

fn main() {}
