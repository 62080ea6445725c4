// Mistakes in a gate's `summary`, each reported at its path: a typo (rustc suggests the
// field); a field serde never writes; a field inside an enum, behind an `Option` or inside a
// value Switchyard cannot see; and, at a second gate, one JSON value listed twice under two
// Rust paths (`subject.headline` is `headline`: `Approved` flattens its subject).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Budget {
    pub amount: f64,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub enum Channel {
    Email { list: String },
    Sms,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Plan {
    pub headline: String,
    #[serde(skip)]
    pub internal_notes: String,
    pub channel: Channel,
    pub backup: Option<Budget>,
    pub extra: serde_json::Value,
}

#[agent]
async fn drafter(plan: Plan) -> Result<Plan, AgentError> {
    Ok(plan)
}

#[agent]
async fn publisher(plan: Plan) -> Result<Plan, AgentError> {
    Ok(plan)
}

workflow! {
    Review(Plan) {
        draft = drafter -> approve;
        approve = approval(
            subject = "Approve the plan",
            summary = [headlin, internal_notes, channel.list, backup.amount, extra.score],
            timeout = 3600,
        ) -> confirm;
        confirm = approval(
            subject = "Confirm the plan",
            summary = [headline, approval.decision, subject.headline as "Title"],
            timeout = 3600,
        ) -> publish;
        publish = publisher -> end;
    }
}

fn main() {}
