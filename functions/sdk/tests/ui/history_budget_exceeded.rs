// Mistake: a revise loop of up to 1000 cycles around a map of up to 100,000 items, far beyond the 25,000-event history budget.
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

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Inspection {
    pub ok: bool,
    pub lines: Vec<LineItem>,
}

#[agent]
async fn pack_line(line: LineItem) -> Result<LineItem, AgentError> {
    Ok(line)
}

#[agent]
async fn inspector(lines: Vec<LineItem>) -> Result<Inspection, AgentError> {
    Ok(Inspection { ok: true, lines })
}

#[agent]
async fn repacker(inspection: Inspection) -> Result<Order, AgentError> {
    Ok(Order { lines: inspection.lines })
}

workflow! {
    Packing(Order) {
        packing = map(lines, max_items = 100000) { pack = pack_line } -> check;
        check = inspector -> decide;
        decide = branch { ok => end, _ => again };
        again = loop(max = 1000, exhausted = fail) -> repack;
        repack = repacker -> packing;
    }
}

fn main() {}
