// Mistake: a `match` on `kind`, whose enum is `#[serde(untagged)]`: its unit variants all serialize as `null`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
#[serde(untagged)]
pub enum Kind {
    A,
    B,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Ticket {
    pub kind: Kind,
}

#[agent]
async fn triage(ticket: Ticket) -> Result<Ticket, AgentError> {
    Ok(ticket)
}

#[agent]
async fn handle_a(ticket: Ticket) -> Result<Ticket, AgentError> {
    Ok(ticket)
}

#[agent]
async fn handle_b(ticket: Ticket) -> Result<Ticket, AgentError> {
    Ok(ticket)
}

workflow! {
    Tickets(Ticket) {
        triaging = triage -> route;
        route = match kind { Kind::A => first, Kind::B => second };
        first = handle_a -> end;
        second = handle_b -> end;
    }
}

fn main() {}
