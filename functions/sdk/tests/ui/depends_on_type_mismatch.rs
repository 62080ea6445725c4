// Mistake: the tuple a stage writes is (Change, Change), in `depends_on` order; `review`
// depends on one step only, so it would read one `Change`: rustc reports it at `.depends_on`.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Feature {
    pub name: String,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Change {
    pub files: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Verdict {
    pub passed: bool,
}

#[agent]
async fn plan(feature: Feature) -> Result<Feature, AgentError> {
    Ok(feature)
}

#[agent]
async fn build_ui(_feature: Feature) -> Result<Change, AgentError> {
    Ok(Change { files: vec![] })
}

#[agent]
async fn build_api(_feature: Feature) -> Result<Change, AgentError> {
    Ok(Change { files: vec![] })
}

#[agent]
async fn review((_ui, _api): (Change, Change)) -> Result<Verdict, AgentError> {
    Ok(Verdict { passed: true })
}

workflow! {
    OneOfTwo(Feature) {
        lead = plan;
        ui = build_ui.depends_on(lead);
        check = review.depends_on(ui) -> end;
    }
}

fn main() {}
