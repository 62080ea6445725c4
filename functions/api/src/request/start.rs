//! `POST /runs/start`: which workflow, with what input, as which tenant.

use serde::Deserialize;
use serde_json::{Map, Value};
use switchyard_sdk::WorkflowRegistration;
use switchyard_state::{Budget, ExecutionInput};

use super::body::{decode, json_object, required};
use super::budget::BudgetBody;
use crate::error::ApiError;

/// Step Functions refuses execution inputs over 256 KiB.
pub const MAX_EXECUTION_INPUT: usize = 256 * 1024;
/// The workflow the campaign seed's `{brand_id, selected_month, tenant_id}` body starts.
pub const CAMPAIGN_WORKFLOW: &str = "campaign-creation";
const CAMPAIGN_FIELDS: [&str; 2] = ["brand_id", "selected_month"];

/// `{workflow, input, tenant_id?, auto_approve?, budget?}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    workflow: Option<String>,
    input: Option<Value>,
    tenant_id: Option<String>,
    auto_approve: Option<bool>,
    budget: Option<BudgetBody>,
}

/// The campaign seed's `{brand_id, selected_month, tenant_id?, auto_approve?, budget?}`:
/// every other field is the input, checked as the workflow's.
#[derive(Deserialize)]
struct CampaignSeed {
    tenant_id: Option<String>,
    auto_approve: Option<bool>,
    budget: Option<BudgetBody>,
    #[serde(flatten)]
    input: Map<String, Value>,
}

/// A validated `POST /runs/start`.
#[derive(Debug)]
pub struct StartRun {
    pub workflow: &'static str,
    pub input: Value,
    /// Passed into the execution input; `false` makes gates wait even where the deployment
    /// auto-approves in development.
    pub auto_approve: Option<bool>,
    /// The limits given for this run, over the workflow's declared ones.
    pub budget: Option<Budget>,
}

impl StartRun {
    /// The envelope every state machine starts on.
    pub fn execution_input(&self, tenant: &str) -> ExecutionInput {
        let mut input = ExecutionInput::new(tenant, self.input.clone());
        input.auto_approve = self.auto_approve;
        input
    }
}

/// Where the run input sits in the body: under `input`, or the body itself (the seed form).
#[derive(Clone, Copy)]
enum InputAt {
    Input,
    Body,
}

impl InputAt {
    /// Where in the body a field of the run input is: `check_input` names it relative to
    /// the input (`input` meaning the whole).
    fn path(self, field: &str) -> String {
        match (self, field) {
            (InputAt::Input, "input") => "input".to_owned(),
            (InputAt::Input, f) if f.starts_with('[') => format!("input{f}"),
            (InputAt::Input, f) => format!("input.{f}"),
            (InputAt::Body, "input") => "body".to_owned(),
            (InputAt::Body, f) => f.to_owned(),
        }
    }
}

/// `{workflow, input, tenant_id?, auto_approve?, budget?}`, or the campaign seed's
/// `{brand_id, selected_month, tenant_id?, auto_approve?, budget?}`.
pub fn start_run(
    body: &[u8],
    tenant: &str,
    workflows: &[&'static WorkflowRegistration],
) -> Result<StartRun, ApiError> {
    let body = json_object(body)?;
    let seed_form =
        !body.contains_key("workflow") && CAMPAIGN_FIELDS.iter().any(|f| body.contains_key(*f));
    let (start, at) = if seed_form {
        let seed: CampaignSeed = decode(body)?;
        let start = StartBody {
            workflow: Some(CAMPAIGN_WORKFLOW.to_owned()),
            input: Some(Value::Object(seed.input)),
            tenant_id: seed.tenant_id,
            auto_approve: seed.auto_approve,
            budget: seed.budget,
        };
        (start, InputAt::Body)
    } else {
        (decode::<StartBody>(body)?, InputAt::Input)
    };
    let name = required(
        start.workflow,
        "workflow",
        "required: the workflow to start (or send the campaign form {brand_id, selected_month})",
    )?;
    let input = start
        .input
        .ok_or_else(|| ApiError::bad_field("input", "required: the run input"))?;
    if start.tenant_id.is_some_and(|claimed| claimed != tenant) {
        return Err(ApiError::TenantMismatch);
    }
    let budget = start
        .budget
        .map(|budget| budget.check("budget"))
        .transpose()
        .map_err(|(field, message)| ApiError::bad_field(field, message))?;
    // The runtime's offload marker is its own to write: refused anywhere in a client's input.
    if switchyard_lambda::payload::contains_reference(&input) {
        return Err(ApiError::bad_field(
            at.path("input"),
            format!(
                "`{}` is reserved for the platform's payload references",
                switchyard_lambda::payload::REFERENCE_KEY
            ),
        ));
    }
    let registration =
        workflows
            .iter()
            .find(|w| w.name == name)
            .ok_or_else(|| ApiError::UnknownWorkflow {
                name: name.clone(),
                known: workflows.iter().map(|w| w.name.to_owned()).collect(),
            })?;
    (registration.check_input)(input.clone()).map_err(|e| ApiError::InvalidInput {
        field: at.path(&e.field),
        message: e.message,
    })?;
    let start = StartRun {
        workflow: registration.name,
        input,
        auto_approve: start.auto_approve,
        budget,
    };
    if start.execution_input(tenant).to_json().len() > MAX_EXECUTION_INPUT {
        return Err(ApiError::TooLarge {
            field: "input",
            limit: MAX_EXECUTION_INPUT,
        });
    }
    Ok(start)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn workflows() -> Vec<&'static WorkflowRegistration> {
        switchyard_agents::link();
        switchyard_sdk::workflows()
    }

    fn start(body: Value) -> Result<StartRun, ApiError> {
        start_run(body.to_string().as_bytes(), "tenant-a", &workflows())
    }

    fn refusal(body: Value) -> (u16, String, Option<String>) {
        let error = start(body).expect_err("refused");
        (
            error.status(),
            error.code().to_owned(),
            error.field().map(str::to_owned),
        )
    }

    #[test]
    fn a_start_names_workflow_and_input() {
        let run = start(json!({
            "workflow": "self-test",
            "input": { "fail_times": 0, "numbers": [1] },
            "auto_approve": false,
        }))
        .expect("valid");
        assert_eq!(run.workflow, "self-test");
        assert_eq!(
            serde_json::to_value(run.execution_input("tenant-a")).ok(),
            Some(json!({
                "data": { "fail_times": 0, "numbers": [1] },
                "meta": { "tenant_id": "tenant-a" },
                "auto_approve": false,
            }))
        );
        let without =
            start(json!({ "workflow": "gate-test", "input": { "topic": "t" } })).expect("valid");
        assert!(!without
            .execution_input("t")
            .to_json()
            .contains("auto_approve"));
    }

    #[test]
    fn the_campaign_seed_form_starts_campaign_creation() {
        let run = start(
            json!({ "brand_id": "acme", "selected_month": "2024-11", "tenant_id": "tenant-a" }),
        )
        .expect("valid");
        assert_eq!(run.workflow, CAMPAIGN_WORKFLOW);
        assert_eq!(
            run.input,
            json!({ "brand_id": "acme", "selected_month": "2024-11" })
        );
        for body in [
            json!({ "brand_id": "acme" }),
            json!({ "brand_id": "acme", "selected_month": 202411 }),
        ] {
            let (status, code, field) = refusal(body.clone());
            assert_eq!(
                (status, code.as_str(), field.as_deref()),
                (400, "invalid_input", Some("selected_month")),
                "{body}"
            );
        }
        let (status, code, field) =
            refusal(json!({ "brand_id": "acme", "selected_month": "2024-11", "auto_approve": 1 }));
        assert_eq!(
            (status, code.as_str(), field.as_deref()),
            (400, "bad_request", Some("auto_approve"))
        );
    }

    #[test]
    fn bad_inputs_name_the_field_in_the_body() {
        let (status, code, field) = refusal(json!({
            "workflow": "campaign-creation",
            "input": { "brand_id": "acme", "selected_month": 11 },
        }));
        assert_eq!((status, code.as_str()), (400, "invalid_input"));
        assert_eq!(field.as_deref(), Some("input.selected_month"));
        let (_, _, field) =
            refusal(json!({ "workflow": "campaign-creation", "input": { "brand_id": "acme" } }));
        assert_eq!(field.as_deref(), Some("input.selected_month"));
        let (_, _, field) = refusal(json!({ "workflow": "campaign-creation", "input": "text" }));
        assert_eq!(field.as_deref(), Some("input"));
        let (_, _, field) = refusal(json!({
            "workflow": "enterprise-coordinator",
            "input": {
                "request_id": "R-1", "department": "eng", "requester": "ada",
                "items": [{ "description": "x", "quantity": "four", "unit_price": 1.0 }],
            },
        }));
        assert_eq!(field.as_deref(), Some("input.items[0].quantity"));
    }

    #[test]
    fn payload_references_in_a_clients_input_are_refused() {
        let forged =
            json!({ "bucket": "switchyard-payloads", "key": "runs/other/x.json", "bytes": 1 });
        for body in [
            json!({ "workflow": "gate-test", "input": { "topic": "t", "$payload": forged } }),
            json!({ "workflow": "self-test", "input": { "$payload": forged } }),
            json!({ "brand_id": "acme", "selected_month": "2024-11", "$payload": forged }),
            json!({ "workflow": "gate-test", "input": { "topic": "t", "deep": [{ "$payload": forged }] } }),
        ] {
            let (status, code, field) = refusal(body.clone());
            assert_eq!((status, code.as_str()), (400, "bad_request"), "{body}");
            assert!(field.is_some_and(|f| f == "input" || f == "body"), "{body}");
        }
    }

    #[test]
    fn start_refusals() {
        let cases = [
            (json!({ "input": {} }), 400, "bad_request", "workflow"),
            (json!({}), 400, "bad_request", "workflow"),
            (
                json!({ "workflow": "self-test" }),
                400,
                "bad_request",
                "input",
            ),
            (
                json!({ "workflow": 3, "input": {} }),
                400,
                "bad_request",
                "workflow",
            ),
            (
                json!({ "workflow": "nope", "input": {} }),
                400,
                "unknown_workflow",
                "workflow",
            ),
            (
                json!({ "workflow": "self-test", "inputs": {} }),
                400,
                "bad_request",
                "inputs",
            ),
            (
                json!({ "workflow": "gate-test", "input": {"topic": "t"}, "auto_approve": "yes" }),
                400,
                "bad_request",
                "auto_approve",
            ),
            (
                json!({ "workflow": "gate-test", "input": {"topic": "t"}, "tenant_id": 7 }),
                400,
                "bad_request",
                "tenant_id",
            ),
            (
                json!({ "workflow": "gate-test", "input": {"topic": "t"}, "tenant_id": "tenant-b" }),
                403,
                "forbidden",
                "tenant_id",
            ),
            (
                json!({ "brand_id": "acme", "selected_month": "2024-11", "tenant_id": "tenant-b" }),
                403,
                "forbidden",
                "tenant_id",
            ),
            (
                json!({ "workflow": "gate-test", "input": { "topic": "x".repeat(MAX_EXECUTION_INPUT) } }),
                413,
                "payload_too_large",
                "input",
            ),
        ];
        for (body, status, code, field) in cases {
            let error = start(body.clone()).expect_err("refused");
            assert_eq!(
                (error.status(), error.code(), error.field()),
                (status, code, Some(field)),
                "{body}"
            );
        }
    }

    #[test]
    fn a_budget_given_at_start_is_checked_limit_by_limit() {
        let input = json!({ "topic": "t" });
        let run =
            start(json!({ "workflow": "gate-test", "input": input, "budget": { "tokens": 10 } }))
                .expect("valid");
        assert_eq!(
            run.budget,
            Some(Budget {
                tokens: Some(10),
                usd: None
            })
        );
        let run = start(json!({ "workflow": "gate-test", "input": input, "budget": null }))
            .expect("valid");
        assert_eq!(run.budget, None);
        let seeded = start(json!({
            "brand_id": "acme", "selected_month": "2024-11", "budget": { "usd": 0.5 },
        }))
        .expect("valid");
        assert_eq!(
            (seeded.budget.and_then(|b| b.usd), &seeded.input),
            (
                Some(0.5),
                &json!({ "brand_id": "acme", "selected_month": "2024-11" })
            )
        );
        for (budget, field) in [
            (json!({ "usd": -1.0 }), "budget.usd"),
            (json!({ "usd": 0 }), "budget.usd"),
            (json!({ "usd": "5" }), "budget.usd"),
            (json!({ "tokens": 0 }), "budget.tokens"),
            (json!({ "tokens": -5 }), "budget.tokens"),
            (json!({ "tokens": 1.5 }), "budget.tokens"),
            (json!({ "tokens": 10, "dollars": 1 }), "budget.dollars"),
            (json!({}), "budget"),
            (json!(100), "budget"),
        ] {
            let (status, code, refused) = refusal(
                json!({ "workflow": "gate-test", "input": input, "budget": budget.clone() }),
            );
            assert_eq!(
                (status, code.as_str(), refused.as_deref()),
                (400, "bad_request", Some(field)),
                "{budget}"
            );
        }
    }

    #[test]
    fn malformed_bodies_are_400_naming_the_body() {
        for body in ["", "{", "[1]", "\"text\""] {
            let error = start_run(body.as_bytes(), "t", &workflows()).expect_err("refused");
            assert_eq!(
                (error.status(), error.code(), error.field()),
                (400, "malformed_json", Some("body")),
                "{body:?}"
            );
        }
    }
}
