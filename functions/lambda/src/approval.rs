//! The approval-request function every gate's `.waitForTaskToken` task invokes: it records
//! the request and its task token server-side, and in development may approve at once.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::Diagnostic;
use serde::Deserialize;
use serde_json::{json, Value};
use switchyard_sdk::{ApprovalDecision, RunContext};

use crate::store::summarize;
use crate::{required_var, ConfigError};

/// What a gate sends (see the ASL back end).
#[derive(Debug, Deserialize)]
pub struct ApprovalEvent {
    pub task_token: String,
    pub input: Value,
    pub context: RunContext,
    pub gate: Gate,
}

#[derive(Debug, Deserialize)]
pub struct Gate {
    pub subject: String,
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub approvers: Vec<String>,
    pub timeout_seconds: u64,
    pub on_reject: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("approval event is malformed: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("could not store the approval request: {0}")]
    Store(String),
    #[error("could not resume the run: {0}")]
    Resume(String),
}

impl From<ApprovalError> for Diagnostic {
    fn from(error: ApprovalError) -> Diagnostic {
        let error_type = match error {
            ApprovalError::Malformed(_) => "Approval.Malformed",
            ApprovalError::Store(_) | ApprovalError::Resume(_) => "Approval.Unavailable",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

pub struct ApprovalRequests {
    dynamodb: aws_sdk_dynamodb::Client,
    sfn: aws_sdk_sfn::Client,
    table: String,
    auto_approve: bool,
}

impl ApprovalRequests {
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let development = std::env::var("APP_ENVIRONMENT").is_ok_and(|e| e == "development");
        let auto = std::env::var("AUTO_APPROVE_IN_DEV").is_ok_and(|v| v == "true" || v == "1");
        Ok(ApprovalRequests {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
            table: required_var("APPROVALS_TABLE")?,
            // Never in production, whatever AUTO_APPROVE_IN_DEV says.
            auto_approve: development && auto,
        })
    }

    pub async fn handle(&self, payload: Value) -> Result<Value, ApprovalError> {
        let event: ApprovalEvent = serde_json::from_value(payload)?;
        let request_id = uuid::Uuid::new_v4().to_string();
        let now = unix_now();
        let expires = now + event.gate.timeout_seconds;
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let list = |v: &[String]| AttributeValue::L(v.iter().map(|x| s(x)).collect());
        let mut item = HashMap::from([
            ("request_id".to_owned(), s(&request_id)),
            ("run_id".to_owned(), s(&event.context.run_id)),
            ("tenant_id".to_owned(), s(&event.context.tenant_id)),
            ("workflow".to_owned(), s(&event.context.workflow)),
            ("gate".to_owned(), s(&event.context.step)),
            ("subject".to_owned(), s(&event.gate.subject)),
            ("summary".to_owned(), s(&summarize(&event.input, 500))),
            ("choices".to_owned(), list(&event.gate.choices)),
            ("approvers".to_owned(), list(&event.gate.approvers)),
            ("on_reject".to_owned(), s(&event.gate.on_reject)),
            ("task_token".to_owned(), s(&event.task_token)),
            ("status".to_owned(), s("pending")),
            ("created_at".to_owned(), AttributeValue::N(now.to_string())),
            (
                "expires_at".to_owned(),
                AttributeValue::N(expires.to_string()),
            ),
        ]);
        let decision = self.auto_approve.then(|| ApprovalDecision {
            decision: "approve".to_owned(),
            approver: Some("auto-approver".to_owned()),
            notes: Some("AUTO_APPROVE_IN_DEV".to_owned()),
            choice: event.gate.choices.first().cloned(),
            auto_approved: true,
        });
        if decision.is_some() {
            item.insert("status".to_owned(), s("approved"));
            item.insert("decided_by".to_owned(), s("auto-approver"));
            item.insert("decided_at".to_owned(), AttributeValue::N(now.to_string()));
        }
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(request_id)")
            .send()
            .await
            .map_err(|e| {
                ApprovalError::Store(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;
        tracing::info!(
            run_id = %event.context.run_id,
            step = %event.context.step,
            tenant_id = %event.context.tenant_id,
            request_id = %request_id,
            auto_approved = decision.is_some(),
            "approval requested"
        );
        if let Some(decision) = decision {
            let output = serde_json::to_string(&decision)?;
            self.sfn
                .send_task_success()
                .task_token(&event.task_token)
                .output(output)
                .send()
                .await
                .map_err(|e| {
                    ApprovalError::Resume(aws_sdk_sfn::error::DisplayErrorContext(e).to_string())
                })?;
        }
        Ok(json!({ "request_id": request_id }))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
