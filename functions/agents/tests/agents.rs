//! The seed agents called directly, as the Lambda runtime calls them, with the offline
//! model and an in-memory outbox.

use switchyard_agents::{campaign, enterprise, movie, sales};
use switchyard_sdk::{AgentContext, AgentError, ApprovalDecision, Approved, RunContext};

fn ctx(step: &str) -> AgentContext {
    AgentContext::local(RunContext {
        run_id: "run-1".into(),
        tenant_id: "tenant".into(),
        workflow: "test".into(),
        step: step.into(),
        ..RunContext::default()
    })
    .0
}

#[tokio::test]
async fn the_analyst_computes_rates_and_trends_from_the_shipped_history() {
    let request = campaign::CampaignRequest {
        brand_id: "acme".into(),
        selected_month: "2024-11".into(),
    };
    let analysis = campaign::analyst(request).await.expect("acme has history");
    let months: Vec<&str> = analysis.monthly.iter().map(|m| m.month.as_str()).collect();
    assert_eq!(
        months,
        ["2024-05", "2024-06", "2024-07", "2024-08", "2024-09", "2024-10"]
    );
    // Recompute one segment by hand from the dataset.
    let history = campaign::campaign_history().expect("dataset parses");
    let loyal: Vec<_> = history
        .iter()
        .filter(|r| {
            r.brand_id == "acme" && r.segment == "loyal" && months.contains(&r.month.as_str())
        })
        .collect();
    let sends: u64 = loyal.iter().map(|r| r.sends).sum();
    let clicks: u64 = loyal.iter().map(|r| r.clicks).sum();
    let metrics = analysis
        .segments
        .iter()
        .find(|s| s.segment == "loyal")
        .expect("loyal segment");
    assert_eq!(metrics.sends, sends);
    assert!((metrics.click_rate - clicks as f64 / sends as f64).abs() < 1e-4);
    assert_eq!(metrics.campaigns as usize, loyal.len());
    // Segments come best click rate first, and the best is named.
    assert_eq!(analysis.best_segment, analysis.segments[0].segment);
    assert!(analysis
        .segments
        .windows(2)
        .all(|w| w[0].click_rate >= w[1].click_rate));
}

#[tokio::test]
async fn the_analyst_refuses_unknown_brands_and_bad_months() {
    let unknown = campaign::CampaignRequest {
        brand_id: "nobody".into(),
        selected_month: "2024-11".into(),
    };
    let error = campaign::analyst(unknown).await.expect_err("no history");
    assert_eq!(error.error_name(), AgentError::INVALID_INPUT);
    let bad = campaign::CampaignRequest {
        brand_id: "acme".into(),
        selected_month: "November".into(),
    };
    assert!(matches!(
        campaign::analyst(bad).await,
        Err(AgentError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn qa_finds_overlong_subject_lines_and_the_reviser_fixes_them() {
    let draft = (
        campaign::SubjectLines {
            variant_a: "x".repeat(90),
            variant_b: "short".into(),
        },
        campaign::EmailCopy {
            headline: "h".into(),
            body: "b".into(),
            call_to_action: String::new(),
        },
        campaign::MockupSpec {
            layout: "l".into(),
            hero_image: "i".into(),
            palette: vec![],
        },
        campaign::Personalization { rules: vec![] },
    );
    let report = campaign::qa_reviewer(draft, ctx("qa"))
        .await
        .expect("qa runs");
    assert!(!report.passed);
    let rules: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["subject-length", "cta-required"]);
    let revised = campaign::content_reviser(report, ctx("revise"))
        .await
        .expect("revises");
    assert!(
        campaign::qa_reviewer(revised, ctx("qa"))
            .await
            .expect("qa runs")
            .passed
    );
}

#[tokio::test]
async fn sales_intelligence_filters_the_crm_by_quarter_stage_and_value_largest_first() {
    let request = sales::OutreachRequest {
        quarter: "2024-Q4".into(),
        min_value: 20_000.0,
        stages: vec!["proposal".into(), "negotiation".into()],
        max_emails: 50,
    };
    let list = sales::sales_intelligence(request).await.expect("filters");
    let crm = sales::crm().expect("dataset parses");
    let expected = crm
        .iter()
        .filter(|d| {
            d.close_quarter == "2024-Q4"
                && d.value >= 20_000.0
                && ["proposal", "negotiation"].contains(&d.stage.as_str())
        })
        .count();
    assert_eq!(list.deals.len(), expected);
    assert!(expected > 1);
    assert!(list.deals.windows(2).all(|w| w[0].value >= w[1].value));
    let capped = sales::sales_intelligence(sales::OutreachRequest {
        quarter: "2024-Q4".into(),
        min_value: 0.0,
        stages: vec![],
        max_emails: 2,
    })
    .await
    .expect("filters");
    assert_eq!(capped.deals.len(), 2);
    assert!(capped.skipped > 0);
    let too_many = sales::OutreachRequest {
        quarter: "2024-Q4".into(),
        min_value: 0.0,
        stages: vec![],
        max_emails: 51,
    };
    assert!(matches!(
        sales::sales_intelligence(too_many).await,
        Err(AgentError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn email_outreach_sends_one_personalised_email_through_the_sender() {
    let (context, outbox) = AgentContext::local(RunContext {
        run_id: "r".into(),
        step: "write_email".into(),
        ..RunContext::default()
    });
    let deal = sales::crm().expect("dataset")[0].clone();
    let email = sales::email_outreach(deal.clone(), context)
        .await
        .expect("writes");
    let sent = outbox.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, deal.email);
    assert!(sent[0].body.starts_with(&format!("Hi {}", deal.contact)));
    assert_eq!(email.channel, "memory");
}

#[tokio::test]
async fn the_story_is_approved_only_after_a_revision_and_the_chosen_concept_reaches_the_cast() {
    let brief = movie::MovieBrief {
        title: "T".into(),
        logline: "L".into(),
        genre: "noir".into(),
        episodes: 2,
    };
    let story = movie::story_writer(brief, ctx("write_story"))
        .await
        .expect("writes");
    let review = movie::story_reviewer(story, ctx("review_story"))
        .await
        .expect("reviews");
    assert_eq!(review.verdict, movie::StoryVerdict::NeedsRevision);
    let revised = movie::story_reviser(review, ctx("revise_story"))
        .await
        .expect("revises");
    let review = movie::story_reviewer(revised, ctx("review_story"))
        .await
        .expect("reviews");
    assert_eq!(review.verdict, movie::StoryVerdict::Approved);
    let board = movie::concept_artist(review, ctx("concepts"))
        .await
        .expect("concepts");
    assert_eq!(board.concepts.len(), 4);
    let decision = ApprovalDecision {
        decision: "approve".into(),
        approver: None,
        notes: None,
        choice: Some("concept-2".into()),
        auto_approved: false,
    };
    let cast = movie::character_designer(
        Approved {
            subject: board,
            approval: decision,
        },
        ctx("characters"),
    )
    .await
    .expect("casts");
    assert_eq!(cast.concept, "concept-2");
    assert_eq!(cast.episodes.len(), 2);
}

#[tokio::test]
async fn the_coordinator_classifies_and_totals_requests() {
    let request = enterprise::PurchaseRequest {
        request_id: "R".into(),
        department: "d".into(),
        requester: "r".into(),
        items: vec![enterprise::LineItem {
            description: "Flight to Oslo".into(),
            quantity: 2,
            unit_price: 450.0,
        }],
    };
    let classified = enterprise::request_classifier(request, ctx("classify"))
        .await
        .expect("classifies");
    assert_eq!(classified.category, enterprise::Category::Travel);
    assert_eq!(classified.total, 900.0);
}

#[tokio::test]
async fn the_cache_test_agent_asks_with_a_tool_and_the_cache_on() {
    use switchyard_agents::self_test;
    let input = self_test::CacheTestInput {
        topic: "Quarterly results".into(),
    };
    // The offline model calls the tool, then answers with a brief that fits the type.
    let brief = self_test::cached_brief(input, ctx("brief"))
        .await
        .expect("the offline model answers");
    assert!(brief.title.contains("Quarterly results"), "{brief:?}");
}
