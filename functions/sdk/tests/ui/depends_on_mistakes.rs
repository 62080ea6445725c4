// Mistakes in `depends_on` graphs, each reported at the `.depends_on(...)` or name that makes
// it: a step depending on part of the stage before it (`api`'s output would be dropped); a
// dependency that is not a step; steps depending on each other in a cycle; `depends_on` on a
// routing step; and a step reading one `Change` where its agent takes the stage's
// `(Change, Change)` tuple (rustc's edge check).
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

workflow! {
    OneOfTwo(Feature) {
        lead = plan;
        ui = build_ui.depends_on(lead);
        check = review.depends_on(ui) -> end;
    }
}

fn main() {}
