// Mistake: `review` depends on part of the stage before it (`ui` but not `api`), so
// `api`'s output would be dropped; and a dependency that is not a step.
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
    Partial(Feature) {
        lead = plan;
        ui = build_ui.depends_on(lead);
        api = build_api.depends_on(lead);
        check = review.depends_on(ui) -> end;
    }
}

workflow! {
    Unknown(Feature) {
        lead = plan;
        ui = build_ui.depends_on(leed) -> end;
    }
}

fn main() {}
