//! The approval-request function every gate's `.waitForTaskToken` task invokes.

use lambda_runtime::Diagnostic;
use serde::Deserialize;
use serde_json::{json, Value};
use switchyard_sdk::ir::{MAX_SUMMARY_FIELDS, MAX_SUMMARY_LABEL_CHARS};
use switchyard_sdk::RunContext;
use switchyard_state::{ApprovalRecord, ApprovalStatus, StateError, SummaryField};

use super::links::LinkSigner;
use super::{
    now_secs, ApprovalStore, Approver, Decision, DecisionError, DecisionRequest, APPROVE, REJECT,
};
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
    /// The fields its page shows first (`approval(summary = [...])`).
    #[serde(default)]
    pub summary: Vec<SummaryPointer>,
}

/// A summary field as the gate sends it: its label and where its value is in the input.
#[derive(Debug, Deserialize)]
pub struct SummaryPointer {
    pub label: String,
    /// A JSON Pointer (`/strategy/headline`), computed from serde's keys at build.
    pub pointer: String,
}

/// A summary value as one line of text: a string as it is, anything else as its JSON, and
/// a dash where there is no value.
pub fn field_text(field: &SummaryField) -> String {
    match field.value.as_deref() {
        None => "—".to_owned(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::String(text)) => text,
            _ => text.to_owned(),
        },
    }
}

/// The most bytes of JSON a request keeps of its gate's whole input (its `summary`), shortened
/// the same way: the page shows it below the declared summary.
pub const MAX_SUBJECT_BYTES: usize = 1_500;

/// What is being decided, as the request stores it: the gate's whole input as JSON,
/// shortened to about [`MAX_SUBJECT_BYTES`] (still valid JSON, so the page reads it as fields
/// and lists).
pub fn input_summary(input: &Value) -> String {
    let mut budget = MAX_SUBJECT_BYTES;
    shortened(input, &mut budget).to_string()
}

/// The most bytes of JSON one summary value keeps: a summary is what a person reads first,
/// and twelve of them stay far below DynamoDB's 400 KB item.
pub const MAX_SUMMARY_VALUE_BYTES: usize = 2_000;

/// The gate's summary read from its input: each value as JSON text, shortened to about
/// [`MAX_SUMMARY_VALUE_BYTES`]; no value where the input has none (absent or `null`).
///
/// A gate's input over the offload threshold keeps only its top-level scalar fields inline
/// (see [`crate::payload`]); a value elsewhere in it is not read here, so it shows as absent.
pub fn summary_fields(input: &Value, fields: &[SummaryPointer]) -> Vec<SummaryField> {
    fields
        .iter()
        .take(MAX_SUMMARY_FIELDS)
        .map(|field| SummaryField {
            label: field.label.chars().take(MAX_SUMMARY_LABEL_CHARS).collect(),
            value: input
                .pointer(&field.pointer)
                .filter(|value| !value.is_null())
                .map(|value| {
                    let mut budget = MAX_SUMMARY_VALUE_BYTES;
                    shortened(value, &mut budget).to_string()
                }),
        })
        .collect()
}

/// The least room an entry of a list or object needs to be kept rather than counted.
const MIN_ENTRY_BYTES: usize = 8;

/// `value` in about `budget` bytes of JSON, still valid JSON: long text ends in `…`, a long
/// list or object keeps its first entries and says how many more there were.
fn shortened(value: &Value, budget: &mut usize) -> Value {
    match value {
        Value::String(text) => Value::String(shortened_text(text, budget)),
        Value::Array(items) => {
            *budget = budget.saturating_sub(2);
            let mut kept = Vec::new();
            for (index, item) in items.iter().enumerate() {
                if *budget < MIN_ENTRY_BYTES {
                    kept.push(Value::String(format!("… {} more", items.len() - index)));
                    break;
                }
                kept.push(shortened(item, budget));
                *budget = budget.saturating_sub(1);
            }
            Value::Array(kept)
        }
        Value::Object(fields) => {
            *budget = budget.saturating_sub(2);
            let mut kept = serde_json::Map::new();
            for (index, (key, field)) in fields.iter().enumerate() {
                if *budget < MIN_ENTRY_BYTES {
                    kept.insert(
                        "…".to_owned(),
                        Value::String(format!("{} more", fields.len() - index)),
                    );
                    break;
                }
                let key = shortened_text(key, budget);
                *budget = budget.saturating_sub(1);
                let field = shortened(field, budget);
                *budget = budget.saturating_sub(1);
                kept.insert(key, field);
            }
            Value::Object(kept)
        }
        scalar => {
            *budget = budget.saturating_sub(scalar.to_string().len());
            scalar.clone()
        }
    }
}

/// `text` in at most `budget` bytes as a JSON string (quotes and escapes counted), cut on a
/// character and ended with `…` when it does not fit.
fn shortened_text(text: &str, budget: &mut usize) -> String {
    let room = budget.saturating_sub(2);
    let whole: usize = text.chars().map(json_len).sum();
    if whole <= room {
        *budget = budget.saturating_sub(whole + 2);
        return text.to_owned();
    }
    // Leave room for the `…` (three bytes).
    let mut used = 0;
    let cut = text
        .char_indices()
        .find(|(_, ch)| {
            used += json_len(*ch);
            used > room.saturating_sub(3)
        })
        .map_or(text.len(), |(at, _)| at);
    *budget = 0;
    format!("{}…", &text[..cut])
}

/// The bytes serde_json writes for `ch` inside a string.
fn json_len(ch: char) -> usize {
    match ch {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("approval event is malformed: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("could not store the approval request: {0}")]
    Store(#[from] StateError),
    #[error("could not auto-approve: {0}")]
    Decide(#[from] DecisionError),
    #[error("a gate's input must be a JSON object (a struct) so the decision can be added to it; got {0}")]
    SubjectNotObject(&'static str),
}

impl From<ApprovalError> for Diagnostic {
    fn from(error: ApprovalError) -> Diagnostic {
        let (error_type, error_message) = match &error {
            ApprovalError::Malformed(_) => ("Approval.Malformed", error.to_string()),
            ApprovalError::SubjectNotObject(_) => ("Approval.SubjectNotObject", error.to_string()),
            // The AWS text stays in the logs; a run's failure cause is the tenant's to read.
            ApprovalError::Store(_) | ApprovalError::Decide(_) => {
                tracing::error!(error = %error, "approval request failed");
                (
                    "Approval.Unavailable",
                    crate::agent::INFRASTRUCTURE_MESSAGE.to_owned(),
                )
            }
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message,
        }
    }
}

/// What a notification says: the request and its links.
pub struct Notice<'a> {
    pub subject: &'a str,
    pub summary: &'a str,
    /// The gate's declared summary, shown before the rest.
    pub fields: &'a [SummaryField],
    pub run_id: &'a str,
    /// Designated approvers (email recipients when there are any).
    pub approvers: &'a [String],
    /// `(decision, signed link)` pairs.
    pub links: &'a [(String, String)],
}

/// One way approvers hear about a request. The links are always on the stored request too
/// (the CLI, the API and tests read them there), so a lost notification loses nothing.
pub enum Channel {
    /// A Slack-compatible incoming webhook.
    Webhook { url: String, http: reqwest::Client },
    /// Email through SES, from a verified sender, to the gate's approvers or the defaults.
    Email {
        ses: aws_sdk_ses::Client,
        from: String,
        default_to: Vec<String>,
    },
}

/// The channels configured by `APPROVAL_WEBHOOK_URL`, `APPROVAL_EMAIL_FROM` and
/// `APPROVAL_EMAIL_TO` (comma-separated).
pub fn channels_from_env(config: &aws_config::SdkConfig) -> Vec<Channel> {
    let var = |name| {
        std::env::var(name)
            .ok()
            .filter(|v: &String| !v.trim().is_empty())
    };
    let mut channels = Vec::new();
    if let Some(url) = var("APPROVAL_WEBHOOK_URL") {
        channels.push(Channel::Webhook {
            url,
            http: reqwest::Client::new(),
        });
    }
    if let Some(from) = var("APPROVAL_EMAIL_FROM") {
        let default_to = var("APPROVAL_EMAIL_TO")
            .map(|to| {
                to.split(',')
                    .map(|a| a.trim().to_owned())
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        channels.push(Channel::Email {
            ses: aws_sdk_ses::Client::new(config),
            from,
            default_to,
        });
    }
    channels
}

impl Channel {
    pub async fn notify(&self, notice: &Notice<'_>) {
        let result = match self {
            Channel::Webhook { url, http } => webhook(http, url, notice).await,
            Channel::Email {
                ses,
                from,
                default_to,
            } => email(ses, from, default_to, notice).await,
        };
        if let Err(error) = result {
            tracing::warn!(run_id = notice.run_id, error = %error, "approval notification failed");
        }
    }
}

/// Text made inert for Slack's mrkdwn: no links, mentions (`<!channel>`, `<http://..|..>`)
/// or breaking out of a code span.
pub fn escape_mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'")
}

/// At most `limit` characters of `text`, ending in `…` when cut: a Slack section holds 3,000.
fn first_chars(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The Slack-compatible message: the subject, the summary, one button per decision (none on
/// a gate with designated approvers: their links go to them alone).
pub fn webhook_message(notice: &Notice<'_>) -> Value {
    let buttons: Vec<Value> = notice
        .links
        .iter()
        .map(|(decision, link)| json!({ "type": "button", "text": { "type": "plain_text", "text": decision }, "url": link }))
        .collect();
    let subject = escape_mrkdwn(notice.subject);
    let fields: String = notice
        .fields
        .iter()
        .map(|field| {
            // A label or value cannot end the bold or code markup around it.
            format!(
                "*{}:* {}\n",
                escape_mrkdwn(&field.label).replace('*', "'"),
                escape_mrkdwn(&first_chars(&field_text(field), 100))
            )
        })
        .collect();
    let mut blocks = vec![
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!(
        "*{}*\nrun `{}`\n{}```{}```",
        subject,
        escape_mrkdwn(notice.run_id),
        fields,
        escape_mrkdwn(&first_chars(notice.summary, 500))
    ) } }),
    ];
    if buttons.is_empty() {
        blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": "The designated approvers were sent their own links." }] }));
    } else {
        blocks.push(json!({ "type": "actions", "elements": buttons }));
    }
    json!({
        "text": format!("Approval needed for run {}: {}", escape_mrkdwn(notice.run_id), subject),
        "blocks": blocks,
    })
}

async fn webhook(http: &reqwest::Client, url: &str, notice: &Notice<'_>) -> Result<(), String> {
    let response = http
        .post(url)
        .json(&webhook_message(notice))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "webhook answered HTTP {}",
            response.status().as_u16()
        ))
    }
}

async fn email(
    ses: &aws_sdk_ses::Client,
    from: &str,
    default_to: &[String],
    notice: &Notice<'_>,
) -> Result<(), String> {
    use aws_sdk_ses::types::{Body, Content, Destination, Message};
    let to = if notice.approvers.is_empty() {
        default_to
    } else {
        notice.approvers
    };
    if to.is_empty() {
        return Ok(());
    }
    let links: String = notice
        .links
        .iter()
        .map(|(decision, link)| format!("{decision}: {link}\n"))
        .collect();
    let fields: String = notice
        .fields
        .iter()
        .map(|field| format!("{}: {}\n", field.label, field_text(field)))
        .collect();
    let text = format!(
        "Run {} waits for your decision: {}\n\n{fields}\n{}\n\nOpen one link to review and confirm:\n{links}",
        notice.run_id, notice.subject, notice.summary
    );
    let content = |data: String| {
        Content::builder()
            .data(data)
            .charset("UTF-8")
            .build()
            .map_err(|e| e.to_string())
    };
    let message = Message::builder()
        .subject(content(format!("Approval needed: {}", notice.subject))?)
        .body(Body::builder().text(content(text)?).build())
        .build();
    ses.send_email()
        .source(from)
        .destination(
            Destination::builder()
                .set_to_addresses(Some(to.to_vec()))
                .build(),
        )
        .message(message)
        .send()
        .await
        .map(drop)
        .map_err(|e| aws_sdk_ses::error::DisplayErrorContext(e).to_string())
}

pub struct ApprovalRequests {
    store: ApprovalStore,
    signer: LinkSigner,
    channels: Vec<Channel>,
    auto_approve: bool,
}

impl ApprovalRequests {
    /// At cold start: settings from the environment, the link secret(s) from SSM Parameter
    /// Store (see [`super::secret`]).
    pub async fn from_env(config: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let development = std::env::var("APP_ENVIRONMENT").is_ok_and(|e| e == "development");
        let auto = std::env::var("AUTO_APPROVE_IN_DEV").is_ok_and(|v| v == "true" || v == "1");
        let base = required_var("APPROVAL_CALLBACK_URL")?;
        Ok(ApprovalRequests {
            store: ApprovalStore::from_env(config)?,
            signer: super::secret::load_signer(config, &base).await?,
            channels: channels_from_env(config),
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
        let summary = input_summary(&event.input);
        let summary_fields = summary_fields(&event.input, &event.gate.summary);
        let decisions: Vec<String> = if event.gate.choices.is_empty() {
            vec![APPROVE.to_owned()]
        } else {
            event.gate.choices.clone()
        }
        .into_iter()
        .chain([REJECT.to_owned()])
        .collect();
        // A gate with designated approvers gets one set of links per approver, each naming
        // them inside the signature; the request stores none (an API key holder must not
        // pick up someone's links). Otherwise one shared set, stored on the request.
        let approver_links: Vec<(String, Vec<(String, String)>)> = event
            .gate
            .approvers
            .iter()
            .map(|approver| {
                let links = decisions
                    .iter()
                    .map(|d| {
                        let link = self.signer.approver_link(&request_id, d, approver, expires);
                        (d.clone(), link)
                    })
                    .collect();
                (approver.clone(), links)
            })
            .collect();
        let links: Vec<(String, String)> = if event.gate.approvers.is_empty() {
            decisions
                .iter()
                .map(|d| (d.clone(), self.signer.link(&request_id, d, expires)))
                .collect()
        } else {
            Vec::new()
        };
        let record = ApprovalRecord {
            request_id: request_id.clone(),
            run_id: event.context.run_id.clone(),
            tenant_id: event.context.tenant_id.clone(),
            workflow: event.context.workflow.clone(),
            gate: event.context.step.clone(),
            subject: event.gate.subject.clone(),
            summary: summary.clone(),
            summary_fields,
            choices: event.gate.choices.clone(),
            approvers: event.gate.approvers.clone(),
            on_reject: Some(event.gate.on_reject.clone()),
            status: ApprovalStatus::Pending,
            created_at: now,
            expires_at: expires,
            links: links.iter().cloned().collect(),
            decision: None,
            decided_by: None,
            approver_verified: None,
            decided_at: None,
            notes: None,
            auto_approved: false,
        };
        self.store
            .state()
            .approvals()
            .create(&record, &event.task_token)
            .await?;
        let run_opts_out = event.execution_input["auto_approve"] == Value::Bool(false);
        let auto = self.auto_approve && !run_opts_out;
        tracing::info!(
            run_id = %event.context.run_id,
            step = %event.context.step,
            tenant_id = %event.context.tenant_id,
            request_id = %request_id,
            auto_approve = auto,
            "approval requested"
        );
        match auto {
            true => {
                // The auto-approver decides through the same path as people, picking what
                // a person would: the first choice, or `approve`.
                let picked = event
                    .gate
                    .choices
                    .first()
                    .map(String::as_str)
                    .unwrap_or(APPROVE);
                let request = DecisionRequest {
                    request_id: request_id.clone(),
                    decision: Decision::from(picked),
                    approver: Approver::Automatic,
                    notes: Some("AUTO_APPROVE_IN_DEV".to_owned()),
                };
                self.store.decide(&request, None).await?;
            }
            false => {
                let notice = Notice {
                    subject: &event.gate.subject,
                    summary: &summary,
                    fields: &record.summary_fields,
                    run_id: &event.context.run_id,
                    approvers: &event.gate.approvers,
                    links: &links,
                };
                for channel in &self.channels {
                    match channel {
                        Channel::Email { .. } if !approver_links.is_empty() => {
                            for (approver, links) in &approver_links {
                                let own = Notice {
                                    approvers: std::slice::from_ref(approver),
                                    links,
                                    ..notice
                                };
                                channel.notify(&own).await;
                            }
                        }
                        _ => channel.notify(&notice).await,
                    }
                }
            }
        }
        Ok(json!({ "request_id": request_id }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn notice<'a>(links: &'a [(String, String)]) -> Notice<'a> {
        Notice {
            subject: "Ship it?",
            summary: "{\"total\":1}",
            fields: &[],
            run_id: "run-7",
            approvers: &[],
            links,
        }
    }

    fn pointers(pointers: &[&str]) -> Vec<SummaryPointer> {
        pointers
            .iter()
            .map(|p| SummaryPointer {
                label: p.trim_start_matches('/').to_owned(),
                pointer: (*p).to_owned(),
            })
            .collect()
    }

    #[test]
    fn summary_values_are_read_by_pointer_and_absent_where_the_input_has_none() {
        let input = json!({
            "total": 12.5,
            "request": { "department": "IT", "lines": [{ "sku": "a" }] },
            "note": null,
            "pair": ["x", 2],
            "a/b": true,
        });
        let fields = summary_fields(
            &input,
            &pointers(&[
                "/total",
                "/request/department",
                "/request/lines",
                "/missing",
                "/note",
                "/pair/1",
                "/a~1b",
            ]),
        );
        let values: Vec<Option<&str>> = fields.iter().map(|f| f.value.as_deref()).collect();
        assert_eq!(
            values,
            vec![
                Some("12.5"),
                Some("\"IT\""),
                Some(r#"[{"sku":"a"}]"#),
                None,
                None,
                Some("2"),
                Some("true"),
            ]
        );
        assert_eq!(fields[1].label, "request/department");
    }

    /// The stored text: valid JSON, within the limit (and a marker's length).
    fn stored(value: Value) -> Value {
        let fields = summary_fields(&json!({ "v": value }), &pointers(&["/v"]));
        let text = fields[0].value.clone().expect("a value");
        assert!(
            text.len() <= MAX_SUMMARY_VALUE_BYTES + 24,
            "{} bytes",
            text.len()
        );
        serde_json::from_str(&text).expect("valid JSON")
    }

    #[test]
    fn long_values_are_shortened_inside_and_stay_json() {
        let text = "é\"\n".repeat(2_000);
        let shown = stored(json!(text));
        let shown = shown.as_str().expect("still a string");
        assert!(shown.ends_with('…') && text.starts_with(shown.trim_end_matches('…')));

        let items: Vec<String> = (0..1_000).map(|i| format!("item-{i}")).collect();
        let shown = stored(json!(items));
        let shown = shown.as_array().expect("still a list");
        let more = shown.last().and_then(Value::as_str).expect("a count");
        assert_eq!(more, format!("… {} more", 1_000 - (shown.len() - 1)));
        assert_eq!(shown[0], "item-0");

        let object: serde_json::Map<String, Value> =
            (0..500).map(|i| (format!("key-{i}"), json!(i))).collect();
        let shown = stored(Value::Object(object));
        let kept = shown.as_object().expect("still an object");
        assert!(
            kept["…"].as_str().is_some_and(|m| m.ends_with(" more")),
            "{kept:?}"
        );

        let nested = json!({ "plan": { "body": "x".repeat(5_000), "tags": ["a", "b"] } });
        let shown = stored(nested);
        assert!(shown["plan"]["body"]
            .as_str()
            .is_some_and(|b| b.ends_with('…')));
    }

    #[test]
    fn the_whole_input_is_kept_as_json_shortened_inside() {
        let input = json!({ "objective": "x".repeat(5_000), "month": "2024-11" });
        let text = input_summary(&input);
        assert!(text.len() <= MAX_SUBJECT_BYTES + 24, "{} bytes", text.len());
        let kept: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(kept["month"], "2024-11");
        assert!(kept["objective"].as_str().is_some_and(|o| o.ends_with('…')));
    }

    #[test]
    fn a_summary_keeps_its_declared_bounds_whatever_it_is_sent() {
        let many: Vec<String> = (0..20).map(|i| format!("/{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut sent = pointers(&many);
        sent[0].label = "L".repeat(500);
        let fields = summary_fields(&json!({}), &sent);
        assert_eq!(fields.len(), MAX_SUMMARY_FIELDS);
        assert_eq!(fields[0].label.chars().count(), MAX_SUMMARY_LABEL_CHARS);
    }

    #[test]
    fn infrastructure_failures_do_not_reach_the_run_in_detail() {
        let detail = "AccessDenied: arn:aws:dynamodb:us-east-1:123456789012:table/approvals";
        let diagnostic = Diagnostic::from(ApprovalError::Decide(DecisionError::Resume {
            detail: detail.into(),
            source: detail.into(),
        }));
        assert_eq!(diagnostic.error_type, "Approval.Unavailable");
        assert!(
            !diagnostic.error_message.contains("arn:aws"),
            "{}",
            diagnostic.error_message
        );
    }

    #[test]
    fn the_webhook_message_cannot_inject_mrkdwn() {
        let links = [("approve".to_owned(), "https://x/a".to_owned())];
        let mut hostile = notice(&links);
        hostile.subject = "<!channel> pay <https://evil.test|here>";
        hostile.summary = "``` *bold* <@U123> & more";
        let message = webhook_message(&hostile);
        let section = message["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap_or_default();
        let text = message["text"].as_str().unwrap_or_default();
        for rendered in [section, text] {
            assert!(
                !rendered.contains("<!channel>") && !rendered.contains("<https://evil"),
                "{rendered}"
            );
        }
        assert!(
            !section.contains("<@U123>") && section.contains("&amp; more"),
            "{section}"
        );
        assert_eq!(
            section.matches("```").count(),
            2,
            "the summary stays in its code block: {section}"
        );
    }

    #[test]
    fn the_webhook_message_lists_the_summary_before_the_rest_inertly() {
        let fields = [
            SummaryField {
                label: "Total".into(),
                value: Some("12.5".into()),
            },
            SummaryField {
                label: "Who*".into(),
                value: Some(r#""<!channel> `x`""#.into()),
            },
            SummaryField {
                label: "Note".into(),
                value: None,
            },
        ];
        let notice = Notice {
            fields: &fields,
            ..notice(&[])
        };
        let message = webhook_message(&notice);
        let section = message["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(
            section.contains("*Total:* 12.5\n*Who':* &lt;!channel&gt; 'x'\n*Note:* —\n```"),
            "{section}"
        );
    }

    #[test]
    fn designated_gates_post_no_links_to_the_shared_webhook() {
        let message = webhook_message(&notice(&[]));
        assert_eq!(message["blocks"][1]["type"], "context");
    }

    #[test]
    fn the_webhook_message_has_one_button_per_decision() {
        let links = [
            ("approve".to_owned(), "https://x/a".to_owned()),
            ("reject".to_owned(), "https://x/r".to_owned()),
        ];
        let message = webhook_message(&notice(&links));
        assert!(message["text"]
            .as_str()
            .is_some_and(|t| t.contains("run-7") && t.contains("Ship it?")));
        let buttons = &message["blocks"][1]["elements"];
        assert_eq!(buttons[0]["url"], "https://x/a");
        assert_eq!(buttons[1]["text"]["text"], "reject");
    }

    /// A one-request HTTP server that returns the request it received.
    async fn capture_one() -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut received = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let n = socket.read(&mut buffer).await.expect("read");
                received.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&received).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                            .await
                            .expect("write");
                        return text;
                    }
                }
                if n == 0 {
                    return text;
                }
            }
        });
        (url, server)
    }

    #[tokio::test]
    async fn the_webhook_channel_posts_the_message_as_json() {
        let (url, server) = capture_one().await;
        let links = [("approve".to_owned(), "https://x/a".to_owned())];
        Channel::Webhook {
            url,
            http: reqwest::Client::new(),
        }
        .notify(&notice(&links))
        .await;
        let request = server.await.expect("server");
        assert!(request.starts_with("POST /hook HTTP/1.1"), "{request}");
        assert!(request
            .to_ascii_lowercase()
            .contains("content-type: application/json"));
        let body = request
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let json: Value = serde_json::from_str(body).expect("JSON body");
        assert_eq!(json["blocks"][1]["elements"][0]["url"], "https://x/a");
    }
}
