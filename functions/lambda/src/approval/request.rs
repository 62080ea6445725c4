//! The approval-request function every gate's `.waitForTaskToken` task invokes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::Diagnostic;
use serde::Deserialize;
use serde_json::{json, Value};
use switchyard_sdk::{ApprovalDecision, RunContext};

use super::links::LinkSigner;
use super::{now_secs, APPROVE, REJECT};
use crate::store::summarize;
use crate::{required_var, ConfigError};

/// What a gate sends (see the ASL back end).
#[derive(Debug, Deserialize)]
pub struct ApprovalEvent {
    pub task_token: String,
    pub input: Value,
    pub context: RunContext,
    pub gate: Gate,
    /// The run's start input; `"auto_approve": false` there opts out of dev auto-approval.
    #[serde(default)]
    pub execution_input: Value,
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
    #[error("a gate's input must be a JSON object (a struct) so the decision can be added to it; got {0}")]
    SubjectNotObject(&'static str),
}

impl From<ApprovalError> for Diagnostic {
    fn from(error: ApprovalError) -> Diagnostic {
        let error_type = match error {
            ApprovalError::Malformed(_) => "Approval.Malformed",
            ApprovalError::SubjectNotObject(_) => "Approval.SubjectNotObject",
            ApprovalError::Store(_) | ApprovalError::Resume(_) => "Approval.Unavailable",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Where approvers hear about a request. The links are always on the stored request (the
/// CLI, the API and tests read them there); a webhook posts them to chat too.
pub enum Notifier {
    RecordOnly,
    /// A Slack-compatible incoming webhook.
    Webhook {
        url: String,
        http: reqwest::Client,
    },
}

impl Notifier {
    pub fn from_env() -> Notifier {
        match std::env::var("APPROVAL_WEBHOOK_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(url) => Notifier::Webhook {
                url,
                http: reqwest::Client::new(),
            },
            None => Notifier::RecordOnly,
        }
    }

    async fn notify(&self, subject: &str, summary: &str, run_id: &str, links: &[(String, String)]) {
        let Notifier::Webhook { url, http } = self else {
            return;
        };
        let buttons: Vec<Value> = links
            .iter()
            .map(|(decision, link)| json!({ "type": "button", "text": { "type": "plain_text", "text": decision }, "url": link }))
            .collect();
        let text = format!("Approval needed for run {run_id}: {subject}");
        let body = json!({
            "text": text,
            "blocks": [
                { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{subject}*\nrun `{run_id}`\n```{summary}```") } },
                { "type": "actions", "elements": buttons },
            ],
        });
        // A lost notification must not lose the request: the links stay on the record.
        match http.post(url).json(&body).send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => tracing::warn!(
                status = response.status().as_u16(),
                "approval webhook refused the notification"
            ),
            Err(e) => tracing::warn!(error = %e, "approval webhook unreachable"),
        }
    }
}

pub struct ApprovalRequests {
    dynamodb: aws_sdk_dynamodb::Client,
    sfn: aws_sdk_sfn::Client,
    table: String,
    signer: LinkSigner,
    notifier: Notifier,
    auto_approve: bool,
}

impl ApprovalRequests {
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let development = std::env::var("APP_ENVIRONMENT").is_ok_and(|e| e == "development");
        let auto = std::env::var("AUTO_APPROVE_IN_DEV").is_ok_and(|v| v == "true" || v == "1");
        let secret = required_var("APPROVAL_LINK_SECRET")?;
        let base = required_var("APPROVAL_CALLBACK_URL")?;
        Ok(ApprovalRequests {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
            table: required_var("APPROVALS_TABLE")?,
            signer: LinkSigner::new(secret.as_bytes(), &base)
                .ok_or(ConfigError::WeakSecret("APPROVAL_LINK_SECRET"))?,
            notifier: Notifier::from_env(),
            // Never in production, whatever AUTO_APPROVE_IN_DEV says.
            auto_approve: development && auto,
        })
    }

    pub async fn handle(&self, payload: Value) -> Result<Value, ApprovalError> {
        let event: ApprovalEvent = serde_json::from_value(payload)?;
        // The decision is written into the data as `approval`: only an object can take it.
        // Fail here, clearly, rather than at the gate's ResultPath after someone decided.
        let kind = match &event.input {
            Value::Object(_) => None,
            Value::Array(_) => {
                Some("a list (a parallel step's tuple? put a struct-building step before the gate)")
            }
            _ => Some("a scalar"),
        };
        if let Some(kind) = kind {
            return Err(ApprovalError::SubjectNotObject(kind));
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let now = now_secs();
        let expires = now + event.gate.timeout_seconds;
        let summary = summarize(&event.input, 500);
        let decisions: Vec<String> = if event.gate.choices.is_empty() {
            vec![APPROVE.to_owned()]
        } else {
            event.gate.choices.clone()
        }
        .into_iter()
        .chain([REJECT.to_owned()])
        .collect();
        let links: Vec<(String, String)> = decisions
            .iter()
            .map(|d| (d.clone(), self.signer.link(&request_id, d, expires)))
            .collect();
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let list = |v: &[String]| AttributeValue::L(v.iter().map(|x| s(x)).collect());
        let mut item = HashMap::from([
            ("request_id".to_owned(), s(&request_id)),
            ("run_id".to_owned(), s(&event.context.run_id)),
            ("tenant_id".to_owned(), s(&event.context.tenant_id)),
            ("workflow".to_owned(), s(&event.context.workflow)),
            ("gate".to_owned(), s(&event.context.step)),
            ("subject".to_owned(), s(&event.gate.subject)),
            ("summary".to_owned(), s(&summary)),
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
            (
                "links".to_owned(),
                AttributeValue::M(links.iter().map(|(d, l)| (d.clone(), s(l))).collect()),
            ),
        ]);
        let run_opts_out = event.execution_input["auto_approve"] == Value::Bool(false);
        let decision = (self.auto_approve && !run_opts_out).then(|| ApprovalDecision {
            decision: APPROVE.to_owned(),
            approver: Some("auto-approver".to_owned()),
            notes: Some("AUTO_APPROVE_IN_DEV".to_owned()),
            choice: event.gate.choices.first().cloned(),
            auto_approved: true,
        });
        if decision.is_some() {
            item.insert("status".to_owned(), s("approved"));
            item.insert(
                "decision".to_owned(),
                s(event
                    .gate
                    .choices
                    .first()
                    .map(String::as_str)
                    .unwrap_or(APPROVE)),
            );
            item.insert("decided_by".to_owned(), s("auto-approver"));
            item.insert("decided_at".to_owned(), AttributeValue::N(now.to_string()));
            item.insert("auto_approved".to_owned(), AttributeValue::Bool(true));
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
        match decision {
            Some(decision) => {
                let output = serde_json::to_string(&decision)?;
                self.sfn
                    .send_task_success()
                    .task_token(&event.task_token)
                    .output(output)
                    .send()
                    .await
                    .map_err(|e| {
                        ApprovalError::Resume(
                            aws_sdk_sfn::error::DisplayErrorContext(e).to_string(),
                        )
                    })?;
            }
            None => {
                self.notifier
                    .notify(&event.gate.subject, &summary, &event.context.run_id, &links)
                    .await
            }
        }
        Ok(json!({ "request_id": request_id }))
    }
}
