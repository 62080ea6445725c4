// Mistake: two different agents named `score`, each used by a different workflow (agent names are global: they name Lambda functions).
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Lead {
    pub score: u32,
}

mod first {
    use super::*;

    #[agent]
    pub async fn score(lead: Lead) -> Result<Lead, AgentError> {
        Ok(lead)
    }
}

mod second {
    use super::*;

    #[agent]
    pub async fn score(lead: Lead) -> Result<Lead, AgentError> {
        Ok(lead)
    }
}

workflow! {
    Leads(Lead) {
        scoring = first::score -> end;
    }
}

workflow! {
    Prospects(Lead) {
        scoring = second::score -> end;
    }
}

fn main() {}
