//! Campaign creation: analyst → strategist → [strategy approval] → parallel content →
//! QA (revised at most twice) → [content approval] → scheduling, segmentation and a test
//! send → [deployment approval] → deploy.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, Approved, JsonShape, Prompt};

/// The seed's `POST /runs/start {brand_id, selected_month, tenant_id}` body, minus the tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct CampaignRequest {
    pub brand_id: String,
    /// `YYYY-MM`; anything else is refused when the run input is checked.
    #[serde(deserialize_with = "year_month")]
    pub selected_month: String,
}

fn year_month<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    let bytes = text.as_bytes();
    let well_formed = bytes.len() == 7
        && bytes[4] == b'-'
        && bytes[..4].iter().chain(&bytes[5..]).all(u8::is_ascii_digit)
        && matches!(
            &text[5..],
            "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
        );
    if well_formed {
        Ok(text)
    } else {
        Err(serde::de::Error::custom(format!(
            "expected a month as YYYY-MM, got `{text}`"
        )))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct SegmentMetrics {
    pub segment: String,
    pub campaigns: u32,
    pub sends: u64,
    pub open_rate: f64,
    pub click_rate: f64,
    /// Click rate in the latest analysed month minus the month before (percentage points).
    pub click_trend: f64,
}

/// Months of history the analyst looks back over.
pub const ANALYSIS_MONTHS: usize = 6;

/// One past campaign send, a row of the shipped `data/campaign_history.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignRecord {
    pub brand_id: String,
    pub month: String,
    pub segment: String,
    pub sends: u64,
    pub opens: u64,
    pub clicks: u64,
}

/// The shipped campaign history.
pub fn campaign_history() -> Result<Vec<CampaignRecord>, AgentError> {
    include_str!("../data/campaign_history.csv")
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            let number = |index: usize| -> Result<u64, AgentError> {
                fields
                    .get(index)
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| {
                        AgentError::Permanent(format!(
                            "campaign history row {}: column {index} is not a number",
                            i + 2
                        ))
                    })
            };
            if fields.len() != 7 {
                return Err(AgentError::Permanent(format!(
                    "campaign history row {} has {} columns, expected 7",
                    i + 2,
                    fields.len()
                )));
            }
            Ok(CampaignRecord {
                brand_id: fields[0].to_owned(),
                month: fields[1].to_owned(),
                segment: fields[2].to_owned(),
                sends: number(4)?,
                opens: number(5)?,
                clicks: number(6)?,
            })
        })
        .collect()
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        // Four decimals: rates are shown as percentages with two.
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
    }
}

/// Open and click rates by segment and by month for the `ANALYSIS_MONTHS` months before
/// `month`, from `history`.
pub fn analyse(
    history: &[CampaignRecord],
    brand: &str,
    month: &str,
) -> Result<(Vec<SegmentMetrics>, Vec<MonthMetrics>), AgentError> {
    let mut months: Vec<&str> = history
        .iter()
        .filter(|r| r.brand_id == brand && r.month.as_str() < month)
        .map(|r| r.month.as_str())
        .collect();
    months.sort_unstable();
    months.dedup();
    let months: Vec<&str> = months
        .iter()
        .rev()
        .take(ANALYSIS_MONTHS)
        .rev()
        .copied()
        .collect();
    if months.is_empty() {
        return Err(AgentError::InvalidInput(format!(
            "no campaign history for brand `{brand}` before {month}"
        )));
    }
    let rows: Vec<&CampaignRecord> = history
        .iter()
        .filter(|r| r.brand_id == brand && months.contains(&r.month.as_str()))
        .collect();
    let monthly = months
        .iter()
        .map(|m| {
            let (sends, opens, clicks) = rows
                .iter()
                .filter(|r| r.month == *m)
                .fold((0, 0, 0), |(s, o, c), r| {
                    (s + r.sends, o + r.opens, c + r.clicks)
                });
            MonthMetrics {
                month: (*m).to_owned(),
                sends,
                open_rate: rate(opens, sends),
                click_rate: rate(clicks, sends),
            }
        })
        .collect();
    let mut names: Vec<&str> = rows.iter().map(|r| r.segment.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let click_rate_in = |segment: &str, month: Option<&&str>| -> f64 {
        let Some(month) = month else { return 0.0 };
        let (sends, clicks) = rows
            .iter()
            .filter(|r| r.segment == segment && r.month == *month)
            .fold((0, 0), |(s, c), r| (s + r.sends, c + r.clicks));
        rate(clicks, sends)
    };
    let mut segments: Vec<SegmentMetrics> = names
        .iter()
        .map(|segment| {
            let own: Vec<&&CampaignRecord> =
                rows.iter().filter(|r| r.segment == *segment).collect();
            let sends = own.iter().map(|r| r.sends).sum();
            let latest = click_rate_in(segment, months.last());
            let before = click_rate_in(
                segment,
                months.len().checked_sub(2).and_then(|i| months.get(i)),
            );
            SegmentMetrics {
                segment: (*segment).to_owned(),
                campaigns: own.len() as u32,
                sends,
                open_rate: rate(own.iter().map(|r| r.opens).sum(), sends),
                click_rate: rate(own.iter().map(|r| r.clicks).sum(), sends),
                click_trend: ((latest - before) * 10_000.0).round() / 100.0,
            }
        })
        .collect();
    segments.sort_by(|a, b| b.click_rate.total_cmp(&a.click_rate));
    Ok((segments, monthly))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct MonthMetrics {
    pub month: String,
    pub sends: u64,
    pub open_rate: f64,
    pub click_rate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct CampaignAnalysis {
    pub brand_id: String,
    pub month: String,
    /// Per segment over the analysed months, best click rate first.
    pub segments: Vec<SegmentMetrics>,
    /// Oldest first.
    pub monthly: Vec<MonthMetrics>,
    pub best_segment: String,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct CalendarEntry {
    pub date: String,
    pub segment: String,
    pub theme: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct CampaignStrategy {
    pub brand_id: String,
    pub month: String,
    pub objective: String,
    pub calendar: Vec<CalendarEntry>,
    pub target_segments: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct SubjectLines {
    pub variant_a: String,
    pub variant_b: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct EmailCopy {
    pub headline: String,
    pub body: String,
    pub call_to_action: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct MockupSpec {
    pub layout: String,
    pub hero_image: String,
    pub palette: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct PersonalizationRule {
    pub segment: String,
    pub field: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Personalization {
    pub rules: Vec<PersonalizationRule>,
}

/// The four creative outputs, in the order of the `content` step's branches.
pub type ContentDraft = (SubjectLines, EmailCopy, MockupSpec, Personalization);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct QaFinding {
    pub field: String,
    pub rule: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct QaReport {
    pub passed: bool,
    pub findings: Vec<QaFinding>,
    pub subject_lines: SubjectLines,
    pub copy: EmailCopy,
    pub mockup: MockupSpec,
    pub personalization: Personalization,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct SendSchedule {
    pub send_at: String,
    pub timezone: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct AudienceSegments {
    pub segments: Vec<String>,
    pub estimated_recipients: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct TestSend {
    pub recipients: Vec<String>,
    pub delivered: u32,
}

/// Scheduling, segmentation and test send, in the order of the `prepare` step's branches.
pub type DeploymentParts = (SendSchedule, AudienceSegments, TestSend);

/// What the deployment approver sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct DeploymentPlan {
    pub schedule: SendSchedule,
    pub audience: AudienceSegments,
    pub test_send: TestSend,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct DeploymentReceipt {
    pub deployment_id: String,
    pub send_at: String,
    pub recipients: u64,
}

/// Computes open and click rates per segment from the brand's past campaigns.
#[agent(capabilities = ["campaign-analytics", "statistics"])]
pub async fn analyst(
    request: CampaignRequest,
    ctx: AgentContext,
) -> Result<CampaignAnalysis, AgentError> {
    if request.selected_month.len() != 7 || request.selected_month.as_bytes().get(4) != Some(&b'-')
    {
        return Err(AgentError::InvalidInput(format!(
            "selected_month must be YYYY-MM, got `{}`",
            request.selected_month
        )));
    }
    let (segments, monthly) = analyse(
        &campaign_history()?,
        &request.brand_id,
        &request.selected_month,
    )?;
    let best = segments
        .first()
        .map(|s| s.segment.clone())
        .unwrap_or_default();
    let summary = ctx
        .model
        .complete(&Prompt::new(
            "You are a campaign analyst.",
            format!(
                "Campaign performance of {} before {}\n{}",
                request.brand_id,
                request.selected_month,
                segments
                    .iter()
                    .map(|s| format!(
                        "{}: open {:.1}%, click {:.2}% ({:+.2} pts month over month)",
                        s.segment,
                        s.open_rate * 100.0,
                        s.click_rate * 100.0,
                        s.click_trend
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        ))
        .await?;
    Ok(CampaignAnalysis {
        brand_id: request.brand_id,
        month: request.selected_month,
        segments,
        monthly,
        best_segment: best,
        summary: summary.text,
    })
}

/// Builds the month's campaign calendar around the best-performing segments.
#[agent(capabilities = ["campaign-strategy"])]
pub async fn strategist(analysis: CampaignAnalysis) -> Result<CampaignStrategy, AgentError> {
    let calendar = analysis
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| CalendarEntry {
            date: format!("{}-{:02}", analysis.month, 7 + 7 * i),
            segment: s.segment.clone(),
            theme: format!("{} offer", s.segment),
        })
        .collect();
    Ok(CampaignStrategy {
        brand_id: analysis.brand_id,
        month: analysis.month,
        objective: format!("Grow clicks in the {} segment", analysis.best_segment),
        calendar,
        target_segments: analysis.segments.into_iter().map(|s| s.segment).collect(),
    })
}

/// Writes two subject lines for an A/B test.
#[agent(capabilities = ["copywriting", "subject-lines", "ab-testing"])]
pub async fn subject_line_writer(
    strategy: CampaignStrategy,
    ctx: AgentContext,
) -> Result<SubjectLines, AgentError> {
    let a = ctx
        .model
        .complete(&Prompt::new(
            "Write a subject line.",
            format!("{}: {}", strategy.brand_id, strategy.objective),
        ))
        .await?;
    let b = ctx
        .model
        .complete(&Prompt::new(
            "Write a different subject line.",
            format!("{}: {}", strategy.brand_id, strategy.objective),
        ))
        .await?;
    Ok(SubjectLines {
        variant_a: a.text,
        variant_b: b.text,
    })
}

/// Writes the email copy.
#[agent(capabilities = ["copywriting", "email-copy"])]
pub async fn copywriter(
    strategy: CampaignStrategy,
    ctx: AgentContext,
) -> Result<EmailCopy, AgentError> {
    let body = ctx
        .model
        .complete(&Prompt::new(
            "Write email copy.",
            strategy.objective.clone(),
        ))
        .await?;
    Ok(EmailCopy {
        headline: strategy.objective,
        body: body.text,
        call_to_action: "Shop now".into(),
    })
}

/// Specifies the design mockup.
#[agent(capabilities = ["design"])]
pub async fn mockup_designer(strategy: CampaignStrategy) -> Result<MockupSpec, AgentError> {
    Ok(MockupSpec {
        layout: "single-column".into(),
        hero_image: format!("{}-{}-hero.png", strategy.brand_id, strategy.month),
        palette: vec!["#0f172a".into(), "#f59e0b".into()],
    })
}

/// Derives personalization rules per target segment.
#[agent(capabilities = ["personalization"])]
pub async fn personalizer(strategy: CampaignStrategy) -> Result<Personalization, AgentError> {
    Ok(Personalization {
        rules: strategy
            .target_segments
            .iter()
            .map(|s| PersonalizationRule {
                segment: s.clone(),
                field: "greeting".into(),
                value: format!("Hello, {s} customer"),
            })
            .collect(),
    })
}

/// Checks the content against the brand guidelines.
#[agent(capabilities = ["content-review", "brand-guidelines"])]
pub async fn qa_reviewer(
    (subject_lines, copy, mockup, personalization): ContentDraft,
) -> Result<QaReport, AgentError> {
    let mut findings = Vec::new();
    for (field, text) in [
        ("subject_lines.variant_a", &subject_lines.variant_a),
        ("subject_lines.variant_b", &subject_lines.variant_b),
    ] {
        if text.chars().count() > 78 {
            findings.push(QaFinding {
                field: field.into(),
                rule: "subject-length".into(),
                message: "subject lines stay under 78 characters".into(),
            });
        }
    }
    if copy.call_to_action.is_empty() {
        findings.push(QaFinding {
            field: "copy.call_to_action".into(),
            rule: "cta-required".into(),
            message: "every email needs a call to action".into(),
        });
    }
    Ok(QaReport {
        passed: findings.is_empty(),
        findings,
        subject_lines,
        copy,
        mockup,
        personalization,
    })
}

/// Rewrites the content to address QA's findings.
#[agent(capabilities = ["copywriting", "revision"])]
pub async fn content_reviser(report: QaReport) -> Result<ContentDraft, AgentError> {
    let shorten = |s: String| s.chars().take(70).collect::<String>();
    let mut copy = report.copy;
    if copy.call_to_action.is_empty() {
        copy.call_to_action = "Learn more".into();
    }
    Ok((
        SubjectLines {
            variant_a: shorten(report.subject_lines.variant_a),
            variant_b: shorten(report.subject_lines.variant_b),
        },
        copy,
        report.mockup,
        report.personalization,
    ))
}

/// Picks the send time.
#[agent(capabilities = ["scheduling"])]
pub async fn scheduler(report: QaReport) -> Result<SendSchedule, AgentError> {
    let _ = report;
    Ok(SendSchedule {
        send_at: "09:00".into(),
        timezone: "America/New_York".into(),
    })
}

/// Resolves the audience segments.
#[agent(capabilities = ["segmentation"])]
pub async fn segmenter(report: QaReport) -> Result<AudienceSegments, AgentError> {
    let segments: Vec<String> = report
        .personalization
        .rules
        .iter()
        .map(|r| r.segment.clone())
        .collect();
    Ok(AudienceSegments {
        estimated_recipients: 12_500 * segments.len() as u64,
        segments,
    })
}

/// Sends the email to the internal seed list.
#[agent(capabilities = ["test-send"])]
pub async fn test_sender(report: QaReport) -> Result<TestSend, AgentError> {
    let _ = report;
    let recipients = vec!["qa@switchyard.test".to_owned()];
    Ok(TestSend {
        delivered: recipients.len() as u32,
        recipients,
    })
}

/// Puts the schedule, audience and test send together for the deployment approval.
#[agent(capabilities = ["deployment-planning"])]
pub async fn deployment_planner(
    (schedule, audience, test_send): DeploymentParts,
) -> Result<DeploymentPlan, AgentError> {
    if test_send.delivered == 0 {
        return Err(AgentError::Permanent("the test send reached nobody".into()));
    }
    Ok(DeploymentPlan {
        schedule,
        audience,
        test_send,
    })
}

/// Deploys the approved campaign.
#[agent(capabilities = ["campaign-deploy"])]
pub async fn deployer(
    plan: Approved<DeploymentPlan>,
    ctx: AgentContext,
) -> Result<DeploymentReceipt, AgentError> {
    let DeploymentPlan {
        schedule, audience, ..
    } = plan.subject;
    Ok(DeploymentReceipt {
        deployment_id: format!("dep-{}", ctx.run.run_id),
        send_at: schedule.send_at,
        recipients: audience.estimated_recipients,
    })
}

workflow! {
    /// Monthly email campaign for a brand, with strategy, content and deployment approvals.
    pub CampaignCreation(CampaignRequest) {
        analyze = analyst.retry(max_attempts = 2) -> strategize;
        strategize = strategist -> approve_strategy;
        approve_strategy = approval(
            subject = "Approve the campaign strategy",
            summary = [objective, month, target_segments as "Segments", calendar],
            timeout = 86400,
            on_reject = fail,
            on_timeout = fail,
        ) -> content;
        content = parallel {
            subject_lines = subject_line_writer,
            copy = copywriter,
            mockup = mockup_designer,
            personalization = personalizer,
        } -> qa;
        qa = qa_reviewer -> qa_passed;
        qa_passed = branch { passed => approve_content, _ => revisions };
        revisions = loop(max = 2, exhausted = approve_content) -> revise;
        revise = content_reviser -> qa;
        approve_content = approval(
            subject = "Approve the campaign content",
            timeout = 86400,
            on_reject = rework,
            on_timeout = fail,
        ) -> prepare;
        rework = loop(max = 2, exhausted = fail) -> revise;
        prepare = parallel {
            schedule = scheduler,
            segments = segmenter,
            test_send = test_sender,
        } -> plan_deployment;
        plan_deployment = deployment_planner -> approve_deployment;
        approve_deployment = approval(
            subject = "Approve the deployment",
            timeout = 86400,
            on_reject = fail,
            on_timeout = fail,
        ) -> deploy;
        deploy = deployer -> end;
    }
}
