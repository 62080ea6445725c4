//! Sales outreach: sales intelligence picks the deals worth a message, then one personalised
//! email is written per deal (at most `max_emails`), then a report totals the outreach.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{
    agent, workflow, AgentContext, AgentError, JsonShape, OutboundMessage, Prompt, Tool,
};

use crate::campaign::SUBJECT_MAX_CHARS;
use crate::text::{clip, thousands};

/// Most emails one run may write; the map step enforces it too.
pub const MAX_EMAILS: u32 = 50;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct OutreachRequest {
    /// e.g. `2024-Q4`.
    pub quarter: String,
    pub min_value: f64,
    pub stages: Vec<String>,
    pub max_emails: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Deal {
    pub deal_id: String,
    pub company: String,
    pub contact: String,
    pub email: String,
    pub stage: String,
    pub value: f64,
    pub close_quarter: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct DealList {
    pub quarter: String,
    pub deals: Vec<Deal>,
    /// Deals that matched but were left out by `max_emails`.
    pub skipped: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct OutreachEmail {
    pub deal_id: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The sender's id for the message, and where it went.
    pub message_id: String,
    pub channel: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct OutreachReport {
    pub emails: u32,
    pub recipients: Vec<String>,
}

/// The shipped CRM export (`data/crm.json`).
pub fn crm() -> Result<Vec<Deal>, AgentError> {
    serde_json::from_str(include_str!("../data/crm.json"))
        .map_err(|e| AgentError::Permanent(format!("the CRM dataset is unreadable: {e}")))
}

/// Filters the CRM's deals by quarter, stage and value, largest first, capped at `max_emails`.
#[agent(capabilities = ["lead-research"])]
pub async fn sales_intelligence(request: OutreachRequest) -> Result<DealList, AgentError> {
    if request.max_emails == 0 || request.max_emails > MAX_EMAILS {
        return Err(AgentError::InvalidInput(format!(
            "max_emails must be 1..={MAX_EMAILS}, got {}",
            request.max_emails
        )));
    }
    let mut deals: Vec<Deal> = crm()?
        .into_iter()
        .filter(|d| d.close_quarter == request.quarter && d.value >= request.min_value)
        .filter(|d| request.stages.is_empty() || request.stages.contains(&d.stage))
        .collect();
    deals.sort_by(|a, b| b.value.total_cmp(&a.value));
    let skipped = deals.len().saturating_sub(request.max_emails as usize) as u32;
    deals.truncate(request.max_emails as usize);
    Ok(DealList {
        quarter: request.quarter,
        deals,
        skipped,
    })
}

/// Reference customers the tool lists at most.
const MAX_REFERENCES: u32 = 5;

const EMAIL_SYSTEM: &str = "\
You are an account executive writing a short follow-up email to the contact of a deal. Write:
- subject: at most 60 characters, specific to their company, no spam words;
- body: 50 to 120 words of plain text, warm and direct, proposing one next step that fits the \
deal's stage (discovery: a call to understand their needs; proposal: walking through the \
proposal; negotiation: settling the open terms; closed-won: an onboarding check-in; \
closed-lost: staying in touch for later).
No greeting line (one is added), no signature and no placeholders. Never mention the deal's \
value, prices or stage names, and invent nothing about the company. The reference_customers \
tool lists customers who agreed to be named: mention at most one, and only where it helps.";

/// The email as the model writes it; the recipient and the greeting are the code's.
#[derive(Debug, Deserialize, JsonShape)]
struct EmailAnswer {
    subject: String,
    body: String,
}

/// The reference tool's arguments.
#[derive(Debug, Deserialize, JsonShape)]
struct ReferenceQuery {
    /// How many customers to list (at most `MAX_REFERENCES`).
    limit: u32,
}

/// A won customer the email may name.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct ReferenceCustomer {
    company: String,
    customer_since: String,
}

/// Won customers other than `company`, from the CRM, largest deal first.
fn reference_customers(company: &str, limit: u32) -> Result<Vec<ReferenceCustomer>, AgentError> {
    let mut won: Vec<Deal> = crm()?
        .into_iter()
        .filter(|d| d.stage == "closed-won" && d.company != company)
        .collect();
    won.sort_by(|a, b| b.value.total_cmp(&a.value));
    Ok(won
        .into_iter()
        .take(limit.clamp(1, MAX_REFERENCES) as usize)
        .map(|d| ReferenceCustomer {
            company: d.company,
            customer_since: d.close_quarter,
        })
        .collect())
}

/// The ways an email could give the deal's value away: `96000`, `96,000`, `96k`.
fn value_spellings(value: f64) -> Vec<String> {
    let whole = value.round() as u64;
    let mut spellings = vec![whole.to_string(), thousands(whole)];
    if whole >= 1_000 && whole % 1_000 == 0 {
        spellings.push(format!("{}k", whole / 1_000));
    }
    spellings
}

/// `body` without a greeting line the model wrote anyway (one is added).
fn without_greeting(body: &str) -> &str {
    let body = body.trim();
    let (first, rest) = body.split_once('\n').unwrap_or((body, ""));
    let greeting = first.trim_end().ends_with(',')
        && ["hi ", "hello ", "dear ", "hey "]
            .iter()
            .any(|g| first.to_lowercase().starts_with(g));
    if greeting {
        rest.trim()
    } else {
        body
    }
}

/// Writes one personalised email for a deal (the model may look up reference customers)
/// and sends it.
#[agent(capabilities = ["outreach-email"])]
pub async fn email_outreach(deal: Deal, ctx: AgentContext) -> Result<OutreachEmail, AgentError> {
    let company = deal.company.clone();
    let references = Tool::new(
        "reference_customers",
        "Lists won customers who agreed to be named as references, largest first.",
        move |query: ReferenceQuery| std::future::ready(reference_customers(&company, query.limit)),
    );
    let answer: EmailAnswer = ctx
        .model
        .chat(
            Prompt::new(
                EMAIL_SYSTEM,
                format!(
                    "Email to {} at {}\nDeal stage: {}\nExpected close: {}",
                    deal.contact, deal.company, deal.stage, deal.close_quarter
                ),
            )
            .temperature(0.7),
        )
        .tool(references)
        .ask()
        .await?;
    // The step retries `Agent.Retryable`: another draft may do.
    let body = without_greeting(&answer.body);
    if body.is_empty() {
        return Err(AgentError::Retryable(format!(
            "the email to {} has no body",
            deal.deal_id
        )));
    }
    if value_spellings(deal.value)
        .iter()
        .any(|v| body.contains(v.as_str()) || answer.subject.contains(v.as_str()))
    {
        return Err(AgentError::Retryable(format!(
            "the email to {} mentions the deal's value",
            deal.deal_id
        )));
    }
    let subject = match clip(&answer.subject, SUBJECT_MAX_CHARS) {
        blank if blank.is_empty() => format!("Next steps for {}", deal.company),
        subject => subject,
    };
    let message = OutboundMessage {
        to: deal.email,
        subject,
        body: format!("Hi {},\n\n{body}\n", deal.contact),
    };
    let receipt = ctx.sender.send(&message).await?;
    Ok(OutreachEmail {
        deal_id: deal.deal_id,
        to: message.to,
        subject: message.subject,
        body: message.body,
        message_id: receipt.message_id,
        channel: receipt.channel,
    })
}

/// Totals the outreach.
#[agent(capabilities = ["reporting"])]
pub async fn outreach_reporter(emails: Vec<OutreachEmail>) -> Result<OutreachReport, AgentError> {
    Ok(OutreachReport {
        emails: emails.len() as u32,
        recipients: emails.into_iter().map(|e| e.to).collect(),
    })
}

workflow! {
    /// Sales intelligence → one email per deal (capped) → report.
    pub SalesOutreach(OutreachRequest) {
        intelligence = sales_intelligence -> emails;
        emails = map(deals, max_concurrency = 4, max_items = 50) {
            write_email = email_outreach.retry(on = ["Agent.Retryable"], interval = 2, max_attempts = 3, backoff = 2.0, jitter = true)
        } -> report;
        report = outreach_reporter -> end;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scripted::{offline, with_model_and_outbox, ScriptedModel};

    fn initech() -> Deal {
        crm().expect("dataset")[0].clone()
    }

    #[tokio::test]
    async fn offline_the_email_goes_to_the_deals_contact_with_the_codes_greeting() {
        let deal = initech();
        let email = email_outreach(deal.clone(), offline("write_email"))
            .await
            .expect("writes");
        assert_eq!(
            (email.deal_id.as_str(), email.to.as_str()),
            ("D-1001", "peter@initech.test")
        );
        assert!(email.body.starts_with("Hi Peter,\n\n"), "{}", email.body);
        assert!(!email.subject.is_empty() && email.subject.chars().count() <= SUBJECT_MAX_CHARS);
    }

    #[tokio::test]
    async fn the_email_is_the_models_and_its_tool_lists_other_won_customers() {
        let model = ScriptedModel::answering(json!({
            "subject": "A next step for Initech",
            "body": "Hi Peter,\nCould we find 30 minutes next week to map your needs?",
        }));
        let (ctx, outbox) = with_model_and_outbox("write_email", model.clone());
        let email = email_outreach(initech(), ctx).await.expect("writes");
        assert_eq!(email.subject, "A next step for Initech");
        assert_eq!(
            email.body,
            "Hi Peter,\n\nCould we find 30 minutes next week to map your needs?\n"
        );
        assert_eq!(outbox.sent().len(), 1);
        let asked = &model.requests()[0];
        assert_eq!(asked.tools[0].name, "reference_customers");
        assert!(asked.prompt.user.contains("Deal stage: discovery"));
        assert!(
            !asked.prompt.user.contains("96000"),
            "the value stays out of the prompt"
        );
        let references = reference_customers("Hooli", 9).expect("lists");
        assert!(!references.is_empty() && references.len() <= MAX_REFERENCES as usize);
        assert!(references.iter().all(|r| r.company != "Hooli"));
        let won: Vec<String> = crm()
            .expect("dataset")
            .into_iter()
            .filter(|d| d.stage == "closed-won")
            .map(|d| d.company)
            .collect();
        assert!(references.iter().all(|r| won.contains(&r.company)));
    }

    #[tokio::test]
    async fn an_email_giving_the_value_away_or_saying_nothing_is_not_sent() {
        for body in ["Your 96,000 deal is nearly there.", "Hi Peter,\n  "] {
            let model = ScriptedModel::answering(json!({ "subject": "Initech", "body": body }));
            let (ctx, outbox) = with_model_and_outbox("write_email", model);
            let error = email_outreach(initech(), ctx).await.expect_err("refused");
            assert_eq!(error.error_name(), AgentError::RETRYABLE, "{body}");
            assert!(outbox.sent().is_empty());
        }
    }
}
