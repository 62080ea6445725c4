//! Dev-team graph: a tech lead plans, frontend and backend build in parallel, QA tests the
//! pair, and a debugger runs only when QA found defects.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, JsonShape, Prompt};

use crate::text::{one_line, tidy};

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

/// Tasks a side of the plan holds at most: the first, most important, are kept.
const MAX_TASKS: usize = 6;
const MAX_DEFECTS: usize = 10;

const TECH_LEAD_SYSTEM: &str = "\
You are the tech lead of a web team. Split the feature below into tasks for the frontend and \
the backend developers, who work in parallel. Each task is one imperative sentence naming the \
change (the component, endpoint, table or test it touches); one to five tasks per side, most \
important first; each side covers its own tests. Both sides get at least one task: when a side \
has nothing to build, its task is the contract or test change that keeps it in step.";

/// The tech lead's plan: the tasks only; the feature is the request's.
#[derive(Debug, Deserialize, JsonShape)]
struct PlanAnswer {
    frontend_tasks: Vec<String>,
    backend_tasks: Vec<String>,
}

/// Splits a feature into frontend and backend tasks.
#[agent(capabilities = ["planning"])]
pub async fn tech_lead(
    request: FeatureRequest,
    ctx: AgentContext,
) -> Result<FeaturePlan, AgentError> {
    let plan: PlanAnswer = ctx
        .model
        .ask(
            Prompt::new(
                TECH_LEAD_SYSTEM,
                format!(
                    "Feature: {}\nRepository: {}",
                    one_line(&request.feature),
                    request.repository
                ),
            )
            .temperature(0.2),
        )
        .await?;
    let frontend_tasks = tidy(plan.frontend_tasks, MAX_TASKS);
    let backend_tasks = tidy(plan.backend_tasks, MAX_TASKS);
    // Both developers run whatever the plan says: a side without a task would build nothing.
    for (side, tasks) in [("frontend", &frontend_tasks), ("backend", &backend_tasks)] {
        if tasks.is_empty() {
            return Err(AgentError::Permanent(format!(
                "the tech lead's plan gives the {side} no task"
            )));
        }
    }
    Ok(FeaturePlan {
        feature: request.feature,
        frontend_tasks,
        backend_tasks,
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

const QA_ENGINEER_SYSTEM: &str = "\
You are the QA engineer of a web team. Review the frontend and backend changes below as one \
feature: do the two sides fit together (every frontend call has a backend endpoint, the data \
they exchange agrees), does each change cover its own tasks, and does each side carry its \
tests? Answer `pass` when they can ship together. Otherwise answer `fail` with the defects: one \
sentence each, naming the component and what is wrong. Defects are read only on `fail`.";

/// The QA engineer's verdict.
#[derive(Debug, Deserialize, JsonShape)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Pass,
    Fail,
}

#[derive(Debug, Deserialize, JsonShape)]
struct TestReport {
    verdict: Verdict,
    defects: Vec<String>,
}

fn change_text(change: &Change) -> String {
    format!(
        "{} change: {}\nFiles: {}",
        change.component,
        change.summary,
        change.files.join(", ")
    )
}

/// Tests both changes together: the code's checks, then the model's review; they pass
/// when neither finds a defect.
#[agent(capabilities = ["testing"])]
pub async fn qa_engineer(
    (frontend, backend): (Change, Change),
    ctx: AgentContext,
) -> Result<QaResult, AgentError> {
    let mut defects: Vec<String> = [&frontend, &backend]
        .iter()
        .filter(|c| c.files.is_empty())
        .map(|c| format!("{} change touches no files", c.component))
        .collect();
    let report: TestReport = ctx
        .model
        .ask(
            Prompt::new(
                QA_ENGINEER_SYSTEM,
                format!(
                    "Changes to test\n\n{}\n\n{}",
                    change_text(&frontend),
                    change_text(&backend)
                ),
            )
            .temperature(0.0),
        )
        .await?;
    if let Verdict::Fail = report.verdict {
        match tidy(report.defects, MAX_DEFECTS) {
            // A failing verdict stands even when the model named nothing.
            named if named.is_empty() => {
                defects.push("QA failed the changes without naming a defect".to_owned())
            }
            named => defects.extend(named),
        }
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scripted::{offline, with_model, ScriptedModel};

    fn request() -> FeatureRequest {
        FeatureRequest {
            feature: "dark mode".into(),
            repository: "acme/web".into(),
        }
    }

    fn change(component: &str, files: &[&str]) -> Change {
        Change {
            component: component.into(),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            summary: format!("{component} work"),
        }
    }

    #[tokio::test]
    async fn offline_the_plan_gives_both_sides_tasks_and_qa_passes_the_pair() {
        let plan = tech_lead(request(), offline("plan")).await.expect("plans");
        assert_eq!(plan.feature, "dark mode");
        assert!(!plan.frontend_tasks.is_empty() && !plan.backend_tasks.is_empty());
        let frontend = frontend_dev(plan.clone()).await.expect("builds");
        let backend = backend_dev(plan).await.expect("builds");
        let result = qa_engineer((frontend.clone(), backend.clone()), offline("qa"))
            .await
            .expect("tests");
        assert!(result.passed && result.defects.is_empty(), "{result:?}");
        assert_eq!(result.changes, [frontend, backend]);
    }

    #[tokio::test]
    async fn the_plan_is_the_models_tasks_and_a_side_without_one_is_refused() {
        let model = ScriptedModel::answering(json!({
            "frontend_tasks": ["Add a theme toggle to the header", " "],
            "backend_tasks": ["Store the theme in user settings"],
        }));
        let plan = tech_lead(request(), with_model("plan", model.clone()))
            .await
            .expect("plans");
        assert_eq!(plan.frontend_tasks, ["Add a theme toggle to the header"]);
        assert_eq!(plan.backend_tasks, ["Store the theme in user settings"]);
        assert!(model.user_prompts()[0].starts_with("Feature: dark mode"));
        let lopsided = ScriptedModel::answering(json!({
            "frontend_tasks": ["Add a theme toggle"],
            "backend_tasks": [],
        }));
        assert!(matches!(
            tech_lead(request(), with_model("plan", lopsided)).await,
            Err(AgentError::Permanent(_))
        ));
    }

    #[tokio::test]
    async fn qa_fails_the_pair_when_the_model_finds_a_defect() {
        let model = ScriptedModel::answering(json!({
            "verdict": "fail",
            "defects": ["frontend calls /api/theme, which the backend does not serve"],
        }));
        let pair = (change("frontend", &["a.tsx"]), change("backend", &["a.rs"]));
        let result = qa_engineer(pair, with_model("qa", model.clone()))
            .await
            .expect("tests");
        assert!(!result.passed);
        assert_eq!(
            result.defects,
            ["frontend calls /api/theme, which the backend does not serve"]
        );
        assert!(model.user_prompts()[0].contains("Files: a.rs"));
        // The code's own check holds whatever the model says.
        let pass = ScriptedModel::answering(json!({ "verdict": "pass", "defects": ["ignored"] }));
        let pair = (change("frontend", &[]), change("backend", &["a.rs"]));
        let result = qa_engineer(pair, with_model("qa", pass))
            .await
            .expect("tests");
        assert_eq!(result.defects, ["frontend change touches no files"]);
    }
}
