//! Dev-team graph: a tech lead plans, frontend and backend build in parallel, QA tests the
//! pair, and a debugger runs only when QA found defects.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, JsonShape, Prompt};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct FeatureRequest {
    pub feature: String,
    pub repository: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct FeaturePlan {
    pub feature: String,
    pub frontend_tasks: Vec<String>,
    pub backend_tasks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Change {
    pub component: String,
    pub files: Vec<String>,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct QaResult {
    pub passed: bool,
    pub defects: Vec<String>,
    pub changes: Vec<Change>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct DebugReport {
    pub fixed: Vec<String>,
    pub changes: Vec<Change>,
}

/// Splits a feature into frontend and backend tasks.
#[agent(capabilities = ["planning"])]
pub async fn tech_lead(
    request: FeatureRequest,
    ctx: AgentContext,
) -> Result<FeaturePlan, AgentError> {
    let plan = ctx
        .model
        .complete(&Prompt::new(
            "You are a tech lead.",
            format!("Plan: {}", request.feature),
        ))
        .await?;
    Ok(FeaturePlan {
        feature: request.feature.clone(),
        frontend_tasks: vec![format!("UI for {}", request.feature), plan.text.clone()],
        backend_tasks: vec![format!("API for {}", request.feature)],
    })
}

/// Implements the frontend tasks.
#[agent(capabilities = ["frontend"])]
pub async fn frontend_dev(plan: FeaturePlan) -> Result<Change, AgentError> {
    Ok(Change {
        component: "frontend".into(),
        files: plan
            .frontend_tasks
            .iter()
            .enumerate()
            .map(|(i, _)| format!("web/src/feature_{i}.tsx"))
            .collect(),
        summary: plan.frontend_tasks.join("; "),
    })
}

/// Implements the backend tasks.
#[agent(capabilities = ["backend"])]
pub async fn backend_dev(plan: FeaturePlan) -> Result<Change, AgentError> {
    Ok(Change {
        component: "backend".into(),
        files: plan
            .backend_tasks
            .iter()
            .enumerate()
            .map(|(i, _)| format!("api/src/feature_{i}.rs"))
            .collect(),
        summary: plan.backend_tasks.join("; "),
    })
}

/// Tests both changes together.
#[agent(capabilities = ["testing"])]
pub async fn qa_engineer((frontend, backend): (Change, Change)) -> Result<QaResult, AgentError> {
    let defects: Vec<String> = [&frontend, &backend]
        .iter()
        .filter(|c| c.files.is_empty())
        .map(|c| format!("{} change touches no files", c.component))
        .collect();
    Ok(QaResult {
        passed: defects.is_empty(),
        defects,
        changes: vec![frontend, backend],
    })
}

/// Fixes what QA found.
#[agent(capabilities = ["debugging"])]
pub async fn debugger(result: QaResult) -> Result<DebugReport, AgentError> {
    Ok(DebugReport {
        fixed: result.defects,
        changes: result.changes,
    })
}

workflow! {
    /// frontend ‖ backend → qa → debugger (only when QA found defects).
    pub DevTeam(FeatureRequest) {
        plan = tech_lead;
        frontend = frontend_dev.depends_on(plan);
        backend = backend_dev.depends_on(plan);
        qa = qa_engineer.depends_on(frontend, backend);
        debug = debugger.depends_on(qa).when(!passed) -> end;
    }
}
