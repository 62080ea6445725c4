// Passes: the dev-team graph with `depends_on`: plan, then ui ‖ api, then review.
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
    Team(Feature) {
        lead = plan;
        ui = build_ui.depends_on(lead);
        api = build_api.depends_on(lead);
        check = review.depends_on(ui, api) -> end;
    }
}

fn main() {
    use switchyard_sdk::WorkflowDef;
    let graph = Team::definition();
    let names: Vec<&str> = graph.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["lead", "ui_and_api", "check"]);
}
