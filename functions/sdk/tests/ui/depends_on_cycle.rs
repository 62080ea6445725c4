// Mistakes: steps that depend on each other in a cycle, and `depends_on` on a routing step.
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
    Cycle(Feature) {
        lead = plan.depends_on(ui);
        ui = build_ui.depends_on(lead) -> end;
    }
}

workflow! {
    OnRouting(Feature) {
        lead = plan -> pick;
        pick = branch { name == "x" => ui, _ => api }.depends_on(lead);
        ui = build_ui -> end;
        api = build_api -> end;
    }
}

fn main() {}
