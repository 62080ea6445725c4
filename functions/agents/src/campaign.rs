//! Campaign creation: analyst → strategist → [strategy approval] → parallel content →
//! QA (revised at most twice) → [content approval] → scheduling, segmentation and a test
//! send → [deployment approval] → deploy.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, Approved, Prompt};

/// The seed's `POST /runs/start {brand_id, selected_month, tenant_id}` body, minus the tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignRequest {
    pub brand_id: String,
    /// `YYYY-MM`.
    pub selected_month: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentMetrics {
    pub segment: String,
    pub campaigns: u32,
    pub sends: u64,
    pub open_rate: f64,
    pub click_rate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignAnalysis {
    pub brand_id: String,
    pub month: String,
    pub segments: Vec<SegmentMetrics>,
    pub best_segment: String,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalendarEntry {
    pub date: String,
    pub segment: String,
    pub theme: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignStrategy {
    pub brand_id: String,
    pub month: String,
    pub objective: String,
    pub calendar: Vec<CalendarEntry>,
    pub target_segments: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubjectLines {
    pub variant_a: String,
    pub variant_b: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailCopy {
    pub headline: String,
    pub body: String,
    pub call_to_action: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MockupSpec {
    pub layout: String,
    pub hero_image: String,
    pub palette: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonalizationRule {
    pub segment: String,
    pub field: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Personalization {
    pub rules: Vec<PersonalizationRule>,
}

/// The four creative outputs, in the order of the `content` step's branches.
pub type ContentDraft = (SubjectLines, EmailCopy, MockupSpec, Personalization);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QaFinding {
    pub field: String,
    pub rule: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QaReport {
    pub passed: bool,
    pub findings: Vec<QaFinding>,
    pub subject_lines: SubjectLines,
    pub copy: EmailCopy,
    pub mockup: MockupSpec,
    pub personalization: Personalization,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendSchedule {
    pub send_at: String,
    pub timezone: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AudienceSegments {
    pub segments: Vec<String>,
    pub estimated_recipients: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestSend {
    pub recipients: Vec<String>,
    pub delivered: u32,
}

/// Scheduling, segmentation and test send, in the order of the `prepare` step's branches.
pub type DeploymentParts = (SendSchedule, AudienceSegments, TestSend);

/// What the deployment approver sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentPlan {
    pub schedule: SendSchedule,
    pub audience: AudienceSegments,
    pub test_send: TestSend,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentReceipt {
    pub deployment_id: String,
    pub send_at: String,
    pub recipients: u64,
}

/// Computes open and click rates per segment from the brand's past campaigns.
#[agent]
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
    let segments = vec![
        SegmentMetrics {
            segment: "loyal".into(),
            campaigns: 4,
            sends: 40_000,
            open_rate: 0.41,
            click_rate: 0.062,
        },
        SegmentMetrics {
            segment: "new".into(),
            campaigns: 3,
            sends: 25_000,
            open_rate: 0.28,
            click_rate: 0.031,
        },
    ];
    let best = segments
        .iter()
        .max_by(|a, b| a.click_rate.total_cmp(&b.click_rate))
        .map(|s| s.segment.clone())
        .unwrap_or_default();
    let summary = ctx
        .model
        .complete(&Prompt::new(
            "You are a campaign analyst.",
            format!(
                "Summarise {} for {}",
                request.brand_id, request.selected_month
            ),
        ))
        .await?;
    Ok(CampaignAnalysis {
        brand_id: request.brand_id,
        month: request.selected_month,
        segments,
        best_segment: best,
        summary: summary.text,
    })
}

/// Builds the month's campaign calendar around the best-performing segments.
#[agent]
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
#[agent]
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
#[agent]
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
#[agent]
pub async fn mockup_designer(strategy: CampaignStrategy) -> Result<MockupSpec, AgentError> {
    Ok(MockupSpec {
        layout: "single-column".into(),
        hero_image: format!("{}-{}-hero.png", strategy.brand_id, strategy.month),
        palette: vec!["#0f172a".into(), "#f59e0b".into()],
    })
}

/// Derives personalization rules per target segment.
#[agent]
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
#[agent]
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
#[agent]
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
#[agent]
pub async fn scheduler(report: QaReport) -> Result<SendSchedule, AgentError> {
    let _ = report;
    Ok(SendSchedule {
        send_at: "09:00".into(),
        timezone: "America/New_York".into(),
    })
}

/// Resolves the audience segments.
#[agent]
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
#[agent]
pub async fn test_sender(report: QaReport) -> Result<TestSend, AgentError> {
    let _ = report;
    let recipients = vec!["qa@switchyard.test".to_owned()];
    Ok(TestSend {
        delivered: recipients.len() as u32,
        recipients,
    })
}

/// Puts the schedule, audience and test send together for the deployment approval.
#[agent]
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
#[agent]
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
