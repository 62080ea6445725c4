// Mistake: two `branch` arms with the same condition `region == "eu"`; the second can never be taken.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub region: String,
}

#[agent]
async fn ship_eu(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn ship_vat(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn ship_world(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    Shipping(Order) {
        route = branch { region == "eu" => eu, region == "eu" => vat, _ => world };
        eu = ship_eu -> end;
        vat = ship_vat -> end;
        world = ship_world -> end;
    }
}

fn main() {}
