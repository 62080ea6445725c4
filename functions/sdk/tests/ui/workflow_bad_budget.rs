// Mistakes: budgets a run could never be held to: a zero, a negative and a non-numeric
// limit, an unknown key, a budget that limits nothing, and a second budget.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Note {
    pub text: String,
}

#[agent]
async fn annotate(note: Note) -> Result<Note, AgentError> {
    Ok(note)
}

workflow! {
    ZeroTokens(Note) {
        budget(tokens = 0, usd = -1.5);
        only = annotate -> end;
    }
}

workflow! {
    WordyBudget(Note) {
        budget(tokens = "lots", dollars = 5);
        only = annotate -> end;
    }
}

workflow! {
    NoLimit(Note) {
        budget();
        only = annotate -> end;
    }
}

workflow! {
    TwoBudgets(Note) {
        budget(tokens = 1_000);
        only = annotate -> end;
        budget(usd = 1.0);
    }
}

fn main() {}
