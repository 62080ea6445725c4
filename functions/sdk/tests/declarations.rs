//! What `#[agent(model = ...)]` and a workflow's `budget(...)` declare, as the runtime and
//! the compiler read them.

use serde::{Deserialize, Serialize};
use switchyard_sdk::ir::Budget;
use switchyard_sdk::{agent, workflow, Agent, AgentError, JsonShape, WorkflowDef};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Draft {
    pub text: String,
}

/// Drafts with a pinned model.
#[agent(capabilities = ["drafting"], model = "anthropic:claude-3-5-haiku-latest")]
async fn pinned_drafter(draft: Draft) -> Result<Draft, AgentError> {
    Ok(draft)
}

/// Drafts with whatever the deployment's primary model is.
#[agent]
async fn plain_drafter(draft: Draft) -> Result<Draft, AgentError> {
    Ok(draft)
}

workflow! {
    /// Two drafts, within a budget.
    pub Drafting(Draft) {
        budget(tokens = 200_000, usd = 5.0);
        first = pinned_drafter -> second;
        second = plain_drafter -> end;
    }
}

workflow! {
    /// A budget in dollars alone.
    pub CheapDrafting(Draft) {
        budget(usd = 2);
        only = plain_drafter -> end;
    }
}

#[test]
fn an_agents_declared_model_is_its_constant_and_its_registration() {
    assert_eq!(
        pinned_drafter::MODEL,
        Some("anthropic:claude-3-5-haiku-latest")
    );
    assert_eq!(plain_drafter::MODEL, None);
    let registration = |name| {
        switchyard_sdk::agents()
            .into_iter()
            .find(|a| a.name == name)
            .expect("registered")
    };
    assert_eq!(
        registration("pinned_drafter").model,
        Some("anthropic:claude-3-5-haiku-latest")
    );
    assert_eq!(registration("pinned_drafter").capabilities, ["drafting"]);
    assert_eq!(registration("plain_drafter").model, None);
}

#[test]
fn a_workflows_budget_is_in_its_definition() {
    assert_eq!(
        Drafting::definition().budget,
        Some(Budget {
            tokens: Some(200_000),
            usd: Some(5.0)
        })
    );
    assert_eq!(
        CheapDrafting::definition().budget,
        Some(Budget {
            tokens: None,
            usd: Some(2.0)
        })
    );
}
