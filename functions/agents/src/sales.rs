//! Sales outreach: sales intelligence picks the deals worth a message, then one personalised
//! email is written per deal (at most `max_emails`), then a report totals the outreach.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{
    agent, workflow, AgentContext, AgentError, JsonShape, OutboundMessage, Prompt,
};

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

/// Writes one personalised email for a deal and sends it.
#[agent(capabilities = ["outreach-email"])]
pub async fn email_outreach(deal: Deal, ctx: AgentContext) -> Result<OutreachEmail, AgentError> {
    let body = ctx
        .model
        .complete(&Prompt::new(
            "Write a short sales email.",
            format!(
                "{} at {} ({} stage)",
                deal.contact, deal.company, deal.stage
            ),
        ))
        .await?;
    let message = OutboundMessage {
        to: deal.email,
        subject: format!("Next steps for {}", deal.company),
        body: format!("Hi {},\n\n{}\n", deal.contact, body.text),
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
