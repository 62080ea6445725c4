//! Run inputs are checked against the workflow's input type, naming the bad field.

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchyard_sdk::{agent, workflow, AgentError, JsonShape};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Item {
    pub quantity: u32,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub id: String,
    pub items: Vec<Item>,
}

#[agent]
async fn take(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

workflow! {
    pub Orders(Order) {
        only = take -> end;
    }
}

fn check(value: serde_json::Value) -> Result<(), switchyard_sdk::InputError> {
    let registration = switchyard_sdk::workflows()
        .into_iter()
        .find(|w| w.name == "orders")
        .expect("registered");
    (registration.check_input)(value)
}

#[test]
fn a_fitting_input_passes() {
    assert_eq!(
        check(json!({ "id": "o1", "items": [{ "quantity": 2 }] })),
        Ok(())
    );
}

#[test]
fn a_missing_field_is_named() {
    assert_eq!(
        check(json!({ "items": [] })).map_err(|e| e.field),
        Err("id".to_owned())
    );
}

#[test]
fn a_wrong_type_deep_inside_is_named_by_path() {
    let error = check(json!({ "id": "o1", "items": [{ "quantity": "two" }] })).expect_err("bad");
    assert_eq!(error.field, "items[0].quantity");
    assert!(error.message.contains("invalid type"), "{}", error.message);
}
