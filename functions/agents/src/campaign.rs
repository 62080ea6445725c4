//! Campaign creation: analyst → strategist → [strategy approval] → parallel content →
//! QA (revised at most twice) → [content approval] → scheduling, segmentation and a test
//! send → [deployment approval] → deploy.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, Approved, JsonShape, Prompt};

use crate::text::{clip, one_line, percent, thousands};

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

/// Inboxes cut subject lines off around here: QA refuses longer ones.
pub const SUBJECT_MAX_CHARS: usize = 78;
/// Sends in a month's calendar: one a week.
const MAX_SENDS: usize = 4;
const THEME_MAX_CHARS: usize = 60;
const OBJECTIVE_MAX_CHARS: usize = 200;
const RULE_MAX_CHARS: usize = 40;

/// Computes open and click rates per segment from the brand's past campaigns, and says
/// what they show.
#[agent(capabilities = ["campaign-analytics", "statistics"])]
pub async fn analyst(request: CampaignRequest) -> Result<CampaignAnalysis, AgentError> {
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
    Ok(CampaignAnalysis {
        summary: summarise(&request.brand_id, &segments, &monthly),
        brand_id: request.brand_id,
        month: request.selected_month,
        segments,
        monthly,
        best_segment: best,
    })
}

/// What the analysis shows, from its numbers alone: the totals, the best and the weakest
/// segment with their latest trend.
fn summarise(brand: &str, segments: &[SegmentMetrics], monthly: &[MonthMetrics]) -> String {
    let sends: u64 = monthly.iter().map(|m| m.sends).sum();
    let weighted = |rate: fn(&MonthMetrics) -> f64| {
        if sends == 0 {
            0.0
        } else {
            monthly
                .iter()
                .map(|m| rate(m) * m.sends as f64)
                .sum::<f64>()
                / sends as f64
        }
    };
    let span = match (monthly.first(), monthly.last()) {
        (Some(first), Some(last)) if first.month != last.month => {
            format!("{} to {}", first.month, last.month)
        }
        (Some(only), _) => only.month.clone(),
        _ => "no months".to_owned(),
    };
    let mut summary = format!(
        "{brand}: {} sends from {span}, {} opened, {} clicked.",
        thousands(sends),
        percent(weighted(|m| m.open_rate), 1),
        percent(weighted(|m| m.click_rate), 2),
    );
    let describe = |s: &SegmentMetrics| {
        format!(
            "{} ({} clicks, {:+.2} pts in the last month)",
            s.segment,
            percent(s.click_rate, 2),
            s.click_trend
        )
    };
    if let Some(best) = segments.first() {
        summary.push_str(&format!(" Best segment: {}.", describe(best)));
    }
    if let Some(weakest) = segments.last().filter(|_| segments.len() > 1) {
        summary.push_str(&format!(" Weakest: {}.", describe(weakest)));
    }
    summary
}

const STRATEGIST_SYSTEM: &str = "\
You are the campaign strategist of an email marketing team. From the per-segment performance \
of the brand's recent campaigns, decide next month's email plan.

Answer with:
- objective: one sentence naming the segment to grow and a measurable target grounded in the \
numbers given (for example: lift the loyal segment's click rate from 5.1% to 5.5%).
- sends: the month's sends, most important first, at most four, one per segment. `segment` is \
exactly one of the segment names listed; `theme` is a creative theme of at most 60 characters \
suited to how that segment behaves.

Favour segments with high or rising click rates; include a declining segment only with a \
win-back theme. Use only the segments and numbers given: do not invent data.";

/// What the strategist decides. The calendar's dates are the code's, and only analysed
/// segments are kept.
#[derive(Debug, Deserialize, JsonShape)]
struct StrategyAnswer {
    objective: String,
    sends: Vec<PlannedSend>,
}

#[derive(Debug, Deserialize, JsonShape)]
struct PlannedSend {
    segment: String,
    theme: String,
}

/// The analysis as the strategist reads it.
fn strategy_brief(analysis: &CampaignAnalysis) -> String {
    let segments: Vec<String> = analysis
        .segments
        .iter()
        .map(|s| {
            format!(
                "- {}: {} campaigns, {} sends, {} opened, {} clicked, click rate {:+.2} pts in \
                 the last month",
                s.segment,
                s.campaigns,
                thousands(s.sends),
                percent(s.open_rate, 1),
                percent(s.click_rate, 2),
                s.click_trend
            )
        })
        .collect();
    let months: Vec<String> = analysis
        .monthly
        .iter()
        .map(|m| format!("{} {}", m.month, percent(m.click_rate, 2)))
        .collect();
    format!(
        "Email plan for {brand}, {month}\n\n\
         Segments, best click rate first:\n{segments}\n\n\
         Click rate by month: {months}\n\n\
         Analyst's summary: {summary}",
        brand = analysis.brand_id,
        month = analysis.month,
        segments = segments.join("\n"),
        months = months.join(", "),
        summary = analysis.summary,
    )
}

/// Decides the month's objective and each send's segment and theme; the code sets the
/// dates, one send a week.
#[agent(capabilities = ["campaign-strategy"])]
pub async fn strategist(
    analysis: CampaignAnalysis,
    ctx: AgentContext,
) -> Result<CampaignStrategy, AgentError> {
    let answer: StrategyAnswer = ctx
        .model
        .ask(Prompt::new(STRATEGIST_SYSTEM, strategy_brief(&analysis)).temperature(0.4))
        .await?;
    let mut sends = planned_sends(&analysis.segments, answer.sends);
    if sends.is_empty() {
        // No send names an analysed segment (the offline model's never do): every segment,
        // best click rate first.
        sends = analysis
            .segments
            .iter()
            .take(MAX_SENDS)
            .map(|s| (s.segment.clone(), format!("{} offer", s.segment)))
            .collect();
    }
    let objective = match clip(&answer.objective, OBJECTIVE_MAX_CHARS) {
        objective if objective.is_empty() => {
            format!("Grow clicks in the {} segment", analysis.best_segment)
        }
        objective => objective,
    };
    let calendar = sends
        .iter()
        .enumerate()
        .map(|(week, (segment, theme))| CalendarEntry {
            date: format!("{}-{:02}", analysis.month, 7 + 7 * week),
            segment: segment.clone(),
            theme: theme.clone(),
        })
        .collect();
    Ok(CampaignStrategy {
        brand_id: analysis.brand_id,
        month: analysis.month,
        objective,
        calendar,
        target_segments: sends.into_iter().map(|(segment, _)| segment).collect(),
    })
}

/// The model's sends that name an analysed segment, spelled as the analysis spells it: the
/// first send to each, at most `MAX_SENDS`, with a theme.
fn planned_sends(segments: &[SegmentMetrics], planned: Vec<PlannedSend>) -> Vec<(String, String)> {
    let mut sends: Vec<(String, String)> = Vec::new();
    for send in planned {
        let Some(known) = segments
            .iter()
            .find(|s| s.segment.eq_ignore_ascii_case(send.segment.trim()))
        else {
            continue;
        };
        if sends.iter().any(|(segment, _)| *segment == known.segment) {
            continue;
        }
        let theme = match clip(&send.theme, THEME_MAX_CHARS) {
            theme if theme.is_empty() => format!("{} offer", known.segment),
            theme => theme,
        };
        sends.push((known.segment.clone(), theme));
        if sends.len() == MAX_SENDS {
            break;
        }
    }
    sends
}

/// The strategy as the writers read it, under a first line naming the task.
fn campaign_brief(task: &str, strategy: &CampaignStrategy) -> String {
    let sends: Vec<String> = strategy
        .calendar
        .iter()
        .map(|e| format!("- {} to the {} segment: {}", e.date, e.segment, e.theme))
        .collect();
    format!(
        "{task} for {}, {}\n\nObjective: {}\n\nSends:\n{}",
        strategy.brand_id,
        strategy.month,
        strategy.objective,
        sends.join("\n")
    )
}

const SUBJECT_LINE_SYSTEM: &str = "\
You write email subject lines for A/B tests. Write two subject lines for the campaign below \
that test different angles (for example a concrete benefit against curiosity), so the test \
teaches the team something.

Both: under 60 characters (never over 78), sentence case, no words in capitals, at most one \
exclamation mark, no emoji, no spam words (free, guarantee, act now, winner), nothing the \
campaign does not promise.";

#[derive(Debug, Deserialize, JsonShape)]
struct SubjectLineAnswer {
    variant_a: String,
    variant_b: String,
}

/// Writes two subject lines for an A/B test.
#[agent(capabilities = ["copywriting", "subject-lines", "ab-testing"])]
pub async fn subject_line_writer(
    strategy: CampaignStrategy,
    ctx: AgentContext,
) -> Result<SubjectLines, AgentError> {
    let answer: SubjectLineAnswer = ctx
        .model
        .ask(
            Prompt::new(
                SUBJECT_LINE_SYSTEM,
                campaign_brief("Subject lines", &strategy),
            )
            .temperature(0.8),
        )
        .await?;
    // Length and distinctness are QA's to judge: a revision fixes them.
    Ok(SubjectLines {
        variant_a: one_line(&answer.variant_a),
        variant_b: one_line(&answer.variant_b),
    })
}

const COPYWRITER_SYSTEM: &str = "\
You are a senior email copywriter. Write the email for the campaign below.

- headline: at most 70 characters, one line.
- body: 60 to 120 words of plain text in two or three short paragraphs, speaking to the reader \
as \"you\"; it serves the objective and suits the segments it goes to. No greeting and no \
signature: they are added per reader.
- call_to_action: the button's text, two to five words, starting with a verb.

Plain, warm and specific. No prices, discounts, deadlines or claims the campaign does not give.";

#[derive(Debug, Deserialize, JsonShape)]
struct CopyAnswer {
    headline: String,
    body: String,
    call_to_action: String,
}

/// Writes the email copy.
#[agent(capabilities = ["copywriting", "email-copy"])]
pub async fn copywriter(
    strategy: CampaignStrategy,
    ctx: AgentContext,
) -> Result<EmailCopy, AgentError> {
    let answer: CopyAnswer = ctx
        .model
        .ask(
            Prompt::new(COPYWRITER_SYSTEM, campaign_brief("Email copy", &strategy))
                .max_tokens(1024)
                .temperature(0.7),
        )
        .await?;
    Ok(EmailCopy {
        headline: one_line(&answer.headline),
        body: answer.body.trim().to_owned(),
        call_to_action: one_line(&answer.call_to_action),
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

/// The draft's words, one labelled field a line (the body under its label).
fn draft_text(subject_lines: &SubjectLines, copy: &EmailCopy) -> String {
    format!(
        "Subject line A: {}\nSubject line B: {}\nHeadline: {}\nBody:\n{}\nCall to action: {}",
        subject_lines.variant_a,
        subject_lines.variant_b,
        copy.headline,
        copy.body,
        copy.call_to_action
    )
}

/// The guidelines the code checks itself, whatever the model says.
fn guideline_checks(subject_lines: &SubjectLines, copy: &EmailCopy) -> Vec<QaFinding> {
    let finding = |field: &str, rule: &str, message: &str| QaFinding {
        field: field.into(),
        rule: rule.into(),
        message: message.into(),
    };
    let mut findings = Vec::new();
    for (field, text) in [
        ("subject_lines.variant_a", &subject_lines.variant_a),
        ("subject_lines.variant_b", &subject_lines.variant_b),
    ] {
        if text.trim().is_empty() {
            findings.push(finding(field, "subject-required", "write a subject line"));
        } else if text.chars().count() > SUBJECT_MAX_CHARS {
            findings.push(finding(
                field,
                "subject-length",
                "subject lines stay under 78 characters",
            ));
        }
    }
    if !subject_lines.variant_a.trim().is_empty()
        && subject_lines
            .variant_a
            .trim()
            .eq_ignore_ascii_case(subject_lines.variant_b.trim())
    {
        findings.push(finding(
            "subject_lines.variant_b",
            "subject-distinct",
            "an A/B test needs two different subject lines",
        ));
    }
    if copy.call_to_action.trim().is_empty() {
        findings.push(finding(
            "copy.call_to_action",
            "cta-required",
            "every email needs a call to action",
        ));
    }
    findings
}

const QA_SYSTEM: &str = "\
You are the brand QA reviewer of an email team. Check the draft below against the brand \
guidelines:

1. Subject lines: under 78 characters, sentence case, at most one exclamation mark, no spam \
words (free, guarantee, act now, winner); the two variants test different angles.
2. Headline and body: they agree with each other; claims are specific, not exaggerated; no \
prices, discounts or deadlines; a plain, warm tone addressing the reader as \"you\".
3. Call to action: two to five words, starting with a verb.

Answer `pass` when the draft meets every guideline. Otherwise answer `fail` with one finding per \
problem: the field it is in, a short kebab-case rule name, and a message saying what to change. \
Report breaches of the guidelines, not matters of taste.";

/// The brand review's verdict.
#[derive(Debug, Deserialize, JsonShape)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Pass,
    Fail,
}

#[derive(Debug, Deserialize, JsonShape)]
struct ContentReview {
    verdict: Verdict,
    /// Read only when the verdict is `fail`.
    findings: Vec<ReviewFinding>,
}

#[derive(Debug, Deserialize, JsonShape)]
struct ReviewFinding {
    field: ContentField,
    rule: String,
    message: String,
}

/// The fields a finding may name: the ones a revision can change.
#[derive(Debug, Deserialize, JsonShape)]
#[serde(rename_all = "snake_case")]
enum ContentField {
    SubjectLineA,
    SubjectLineB,
    Headline,
    Body,
    CallToAction,
}

impl ContentField {
    /// Where the field is in the QA report.
    fn path(&self) -> &'static str {
        match self {
            ContentField::SubjectLineA => "subject_lines.variant_a",
            ContentField::SubjectLineB => "subject_lines.variant_b",
            ContentField::Headline => "copy.headline",
            ContentField::Body => "copy.body",
            ContentField::CallToAction => "copy.call_to_action",
        }
    }
}

/// A rule name as the findings spell them: lowercase words joined by `-`.
fn rule_name(rule: &str) -> String {
    let name = clip(rule, RULE_MAX_CHARS)
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if name.is_empty() {
        "brand-guidelines".to_owned()
    } else {
        name
    }
}

/// Checks the content against the brand guidelines: the code's checks, then the model's
/// review; it passes when neither finds a problem.
#[agent(capabilities = ["content-review", "brand-guidelines"])]
pub async fn qa_reviewer(
    (subject_lines, copy, mockup, personalization): ContentDraft,
    ctx: AgentContext,
) -> Result<QaReport, AgentError> {
    let mut findings = guideline_checks(&subject_lines, &copy);
    let review: ContentReview = ctx
        .model
        .ask(
            Prompt::new(
                QA_SYSTEM,
                format!(
                    "Email draft for brand review\n\n{}",
                    draft_text(&subject_lines, &copy)
                ),
            )
            .temperature(0.0),
        )
        .await?;
    if let Verdict::Fail = review.verdict {
        let named: Vec<QaFinding> = review
            .findings
            .into_iter()
            .map(|f| QaFinding {
                field: f.field.path().to_owned(),
                rule: rule_name(&f.rule),
                message: one_line(&f.message),
            })
            .filter(|f| !f.message.is_empty())
            .collect();
        if named.is_empty() {
            // A failing verdict stands even when the model named nothing to fix.
            findings.push(QaFinding {
                field: "copy".into(),
                rule: "brand-guidelines".into(),
                message: "the brand review failed the draft without naming a problem: check it \
                          against every guideline"
                    .into(),
            });
        }
        findings.extend(named);
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

const REVISER_SYSTEM: &str = "\
You revise campaign email content so it passes QA. Fix every finding listed; change nothing the \
findings do not concern, and keep the rest word for word. Subject lines stay under 78 characters \
and differ from each other; the call to action is two to five words starting with a verb; no \
prices, discounts or deadlines.";

/// The revised words; the design and personalization are not the reviser's to change.
#[derive(Debug, Deserialize, JsonShape)]
struct RevisedContent {
    variant_a: String,
    variant_b: String,
    headline: String,
    body: String,
    call_to_action: String,
}

/// Rewrites the content to address QA's findings.
#[agent(capabilities = ["copywriting", "revision"])]
pub async fn content_reviser(
    report: QaReport,
    ctx: AgentContext,
) -> Result<ContentDraft, AgentError> {
    let findings: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("- {} ({}): {}", f.field, f.rule, f.message))
        .collect();
    let revised: RevisedContent = ctx
        .model
        .ask(
            Prompt::new(
                REVISER_SYSTEM,
                format!(
                    "Revision: {} QA findings\n\nFindings:\n{}\n\nDraft:\n{}",
                    report.findings.len(),
                    findings.join("\n"),
                    draft_text(&report.subject_lines, &report.copy)
                ),
            )
            .max_tokens(1024)
            .temperature(0.3),
        )
        .await?;
    // A field the model left blank keeps its words; subject lines are held to QA's limit.
    let keep = |revised: &str, old: String| match revised.trim() {
        "" => old,
        text => text.to_owned(),
    };
    let call_to_action = match one_line(&keep(&revised.call_to_action, report.copy.call_to_action))
    {
        cta if cta.is_empty() => "Learn more".to_owned(),
        cta => cta,
    };
    Ok((
        SubjectLines {
            variant_a: clip(
                &keep(&revised.variant_a, report.subject_lines.variant_a),
                SUBJECT_MAX_CHARS,
            ),
            variant_b: clip(
                &keep(&revised.variant_b, report.subject_lines.variant_b),
                SUBJECT_MAX_CHARS,
            ),
        },
        EmailCopy {
            headline: one_line(&keep(&revised.headline, report.copy.headline)),
            body: keep(&revised.body, report.copy.body),
            call_to_action,
        },
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scripted::{offline, with_model, ScriptedModel};

    async fn acme_analysis() -> CampaignAnalysis {
        analyst(CampaignRequest {
            brand_id: "acme".into(),
            selected_month: "2024-11".into(),
        })
        .await
        .expect("acme has history")
    }

    fn draft(variant_a: &str, variant_b: &str, call_to_action: &str) -> ContentDraft {
        (
            SubjectLines {
                variant_a: variant_a.into(),
                variant_b: variant_b.into(),
            },
            EmailCopy {
                headline: "Your autumn picks".into(),
                body: "We picked these for you.".into(),
                call_to_action: call_to_action.into(),
            },
            MockupSpec {
                layout: "single-column".into(),
                hero_image: "acme-2024-11-hero.png".into(),
                palette: vec!["#0f172a".into()],
            },
            Personalization {
                rules: vec![PersonalizationRule {
                    segment: "loyal".into(),
                    field: "greeting".into(),
                    value: "Hello".into(),
                }],
            },
        )
    }

    #[tokio::test]
    async fn the_analysts_summary_is_its_own_numbers() {
        let analysis = acme_analysis().await;
        let best = &analysis.segments[0];
        assert!(
            analysis.summary.starts_with("acme: ")
                && analysis.summary.contains("from 2024-05 to 2024-10")
                && analysis.summary.contains(&format!(
                    "Best segment: {} ({} clicks",
                    best.segment,
                    percent(best.click_rate, 2)
                )),
            "{}",
            analysis.summary
        );
    }

    #[tokio::test]
    async fn offline_the_strategy_covers_the_analysed_segments_best_first_one_send_a_week() {
        let analysis = acme_analysis().await;
        let strategy = strategist(analysis.clone(), offline("strategize"))
            .await
            .expect("plans");
        assert_eq!(
            (strategy.brand_id.as_str(), strategy.month.as_str()),
            ("acme", "2024-11")
        );
        let analysed: Vec<&str> = analysis
            .segments
            .iter()
            .map(|s| s.segment.as_str())
            .collect();
        assert_eq!(strategy.target_segments, analysed);
        let dates: Vec<&str> = strategy.calendar.iter().map(|e| e.date.as_str()).collect();
        assert_eq!(dates, ["2024-11-07", "2024-11-14", "2024-11-21"]);
        assert!(!strategy.objective.is_empty());
    }

    #[tokio::test]
    async fn the_strategy_follows_the_models_plan_for_analysed_segments_only() {
        let analysis = acme_analysis().await;
        let model = ScriptedModel::answering(json!({
            "objective": "Win back lapsed readers, then grow loyal clicks",
            "sends": [
                { "segment": " LAPSED ", "theme": "We saved you a seat" },
                { "segment": "vip", "theme": "Not a segment we have" },
                { "segment": "loyal", "theme": "" },
                { "segment": "lapsed", "theme": "A second send to the same segment" },
            ],
        }));
        let strategy = strategist(analysis.clone(), with_model("strategize", model.clone()))
            .await
            .expect("plans");
        assert_eq!(
            strategy.objective,
            "Win back lapsed readers, then grow loyal clicks"
        );
        assert_eq!(strategy.target_segments, ["lapsed", "loyal"]);
        let calendar: Vec<(&str, &str, &str)> = strategy
            .calendar
            .iter()
            .map(|e| (e.date.as_str(), e.segment.as_str(), e.theme.as_str()))
            .collect();
        assert_eq!(
            calendar,
            [
                ("2024-11-07", "lapsed", "We saved you a seat"),
                ("2024-11-14", "loyal", "loyal offer"),
            ]
        );
        // The model read the analyst's numbers.
        let prompt = &model.user_prompts()[0];
        for segment in &analysis.segments {
            assert!(prompt.contains(&format!(
                "- {}: {} campaigns, {} sends",
                segment.segment,
                segment.campaigns,
                thousands(segment.sends)
            )));
        }
    }

    #[tokio::test]
    async fn offline_the_writers_give_one_line_subjects_and_a_whole_email() {
        let strategy = strategist(acme_analysis().await, offline("strategize"))
            .await
            .expect("plans");
        let lines = subject_line_writer(strategy.clone(), offline("content"))
            .await
            .expect("writes");
        for line in [&lines.variant_a, &lines.variant_b] {
            assert!(!line.is_empty() && !line.contains('\n'), "{line}");
            assert!(line.chars().count() <= SUBJECT_MAX_CHARS, "{line}");
        }
        assert_ne!(lines.variant_a, lines.variant_b);
        let copy = copywriter(strategy, offline("content"))
            .await
            .expect("writes");
        assert!(!copy.headline.is_empty() && !copy.body.is_empty());
        assert!(!copy.call_to_action.is_empty());
    }

    #[tokio::test]
    async fn offline_qa_passes_a_draft_that_meets_the_checked_rules() {
        let report = qa_reviewer(
            draft("Your autumn picks", "Picked for you", "Shop now"),
            offline("qa"),
        )
        .await
        .expect("reviews");
        assert!(report.passed && report.findings.is_empty(), "{report:?}");
    }

    #[tokio::test]
    async fn qa_fails_the_draft_when_the_model_does_and_keeps_the_content_as_it_was() {
        let model = ScriptedModel::answering(json!({
            "verdict": "fail",
            "findings": [{
                "field": "call_to_action",
                "rule": "CTA starts with a verb",
                "message": "Start the button text with a verb.",
            }],
        }));
        let sent = draft("Your autumn picks", "Picked for you", "Our picks");
        let report = qa_reviewer(sent.clone(), with_model("qa", model.clone()))
            .await
            .expect("reviews");
        assert!(!report.passed);
        let findings: Vec<(&str, &str)> = report
            .findings
            .iter()
            .map(|f| (f.field.as_str(), f.rule.as_str()))
            .collect();
        assert_eq!(
            findings,
            [("copy.call_to_action", "cta-starts-with-a-verb")]
        );
        assert_eq!(
            (
                report.subject_lines,
                report.copy,
                report.mockup,
                report.personalization
            ),
            sent
        );
        assert!(model.user_prompts()[0].contains("Call to action: Our picks"));
    }

    #[tokio::test]
    async fn qa_keeps_the_rules_the_code_checks_whatever_the_model_says() {
        // The model passes it; the code's own checks do not.
        let model = ScriptedModel::answering(json!({ "verdict": "pass", "findings": [] }));
        let report = qa_reviewer(draft(&"x".repeat(90), "", ""), with_model("qa", model))
            .await
            .expect("reviews");
        let rules: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(
            rules,
            ["subject-length", "subject-required", "cta-required"]
        );
        assert!(!report.passed);
        // A failing verdict without findings still fails the draft.
        let model = ScriptedModel::answering(json!({ "verdict": "fail", "findings": [] }));
        let report = qa_reviewer(draft("A", "B", "Shop now"), with_model("qa", model))
            .await
            .expect("reviews");
        assert!(!report.passed);
        assert_eq!(report.findings[0].rule, "brand-guidelines");
    }

    #[tokio::test]
    async fn the_reviser_rewrites_the_words_within_the_limits_and_keeps_the_rest() {
        let (subject_lines, copy, mockup, personalization) =
            draft("Your autumn picks", "Your autumn picks", "Shop now");
        let report = QaReport {
            passed: false,
            findings: guideline_checks(&subject_lines, &copy),
            subject_lines,
            copy,
            mockup: mockup.clone(),
            personalization: personalization.clone(),
        };
        let model = ScriptedModel::answering(json!({
            "variant_a": "Your autumn picks",
            "variant_b": format!("Fresh {} picks", "autumn ".repeat(20)),
            "headline": " ",
            "body": "New body.",
            "call_to_action": "",
        }));
        let (lines, copy, kept_mockup, kept_personalization) =
            content_reviser(report, with_model("revise", model.clone()))
                .await
                .expect("revises");
        assert!(model.user_prompts()[0].contains("- subject_lines.variant_b (subject-distinct)"));
        assert!(
            lines.variant_b.chars().count() <= SUBJECT_MAX_CHARS,
            "{}",
            lines.variant_b
        );
        assert!(lines.variant_b.starts_with("Fresh autumn"));
        assert_eq!(
            copy.headline, "Your autumn picks",
            "a blank field keeps its words"
        );
        assert_eq!(copy.body, "New body.");
        assert_eq!(copy.call_to_action, "Shop now");
        assert_eq!(
            (kept_mockup, kept_personalization),
            (mockup, personalization)
        );
    }
}
