// Mistake: agents `score_lead` and `scoreLead`, which name the same AWS resources (CloudFormation ids fold case and `_`).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Lead {
    pub score: u32,
}

mod a {
    use super::*;

    #[agent]
    pub async fn score_lead(lead: Lead) -> Result<Lead, AgentError> {
        Ok(lead)
    }
}

mod b {
    use super::*;

    #[agent]
    #[allow(non_snake_case)]
    pub async fn scoreLead(lead: Lead) -> Result<Lead, AgentError> {
        Ok(lead)
    }
}

workflow! {
    Leads(Lead) {
        scoring = a::score_lead -> end;
    }
}

workflow! {
    Prospects(Lead) {
        scoring = b::scoreLead -> end;
    }
}

fn main() {}
