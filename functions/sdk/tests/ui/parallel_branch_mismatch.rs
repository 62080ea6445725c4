// Mistake: a parallel branch's agent takes `Invoice`, but the parallel step receives `Order`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub total: f64,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Invoice {
    pub number: String,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Check {
    pub ok: bool,
}

#[agent]
async fn validate(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn fraud_check(_order: Order) -> Result<Check, AgentError> {
    Ok(Check { ok: true })
}

#[agent]
async fn invoice_audit(_invoice: Invoice) -> Result<Check, AgentError> {
    Ok(Check { ok: true })
}

workflow! {
    Checks(Order) {
        intake = validate -> checks;
        checks = parallel { fraud = fraud_check, audit = invoice_audit } -> end;
    }
}

fn main() {}
