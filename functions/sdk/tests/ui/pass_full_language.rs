// Not a mistake: one declaration using every construct of the language, which must compile and run.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::ir::{Condition, Literal, StepId, StepKind, Target};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, Approved, WorkflowDef};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Order {
    pub id: String,
    pub total: f64,
    pub rush: bool,
    pub lines: Vec<LineItem>,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct LineItem {
    pub sku: String,
    pub quantity: u32,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Credit {
    pub limit: f64,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Stock {
    pub available: bool,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Packed {
    pub sku: String,
    pub box_id: String,
}

#[derive(Clone, Copy, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Repack,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Inspection {
    pub verdict: Verdict,
    pub hold: bool,
    pub boxes: Vec<Packed>,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Shipment {
    pub tracking: String,
}

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Notice {
    pub message: String,
}

/// Checks the order is well formed.
#[agent(model = "bedrock:anthropic.claude-3-haiku-20240307-v1:0")]
async fn validate_order(order: Order, _ctx: AgentContext) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn credit_check(order: Order) -> Result<Credit, AgentError> {
    Ok(Credit { limit: order.total })
}

#[agent]
async fn stock_check(order: Order) -> Result<Stock, AgentError> {
    Ok(Stock {
        available: !order.lines.is_empty(),
    })
}

#[agent]
async fn merge_checks(checks: (Credit, Stock)) -> Result<Order, AgentError> {
    let (credit, stock) = checks;
    Ok(Order {
        id: String::new(),
        total: credit.limit,
        rush: stock.available,
        lines: Vec::new(),
    })
}

#[agent]
async fn pack_line(line: LineItem) -> Result<Packed, AgentError> {
    Ok(Packed {
        box_id: format!("box-{}", line.quantity),
        sku: line.sku,
    })
}

#[agent]
async fn inspector(boxes: Vec<Packed>) -> Result<Inspection, AgentError> {
    Ok(Inspection {
        verdict: Verdict::Pass,
        hold: false,
        boxes,
    })
}

#[agent]
async fn repacker(inspection: Inspection) -> Result<Inspection, AgentError> {
    Ok(inspection)
}

#[agent]
async fn give_up_packing(inspection: Inspection) -> Result<Notice, AgentError> {
    Ok(Notice {
        message: format!("{} boxes could not be packed", inspection.boxes.len()),
    })
}

#[agent]
async fn shipper(inspection: Inspection) -> Result<Shipment, AgentError> {
    Ok(Shipment {
        tracking: format!("{}", inspection.boxes.len()),
    })
}

/// Also reached from the gate's `on_reject`: `Approved<Order>` flows into `Order`.
#[agent]
async fn notify_failure(order: Order) -> Result<Notice, AgentError> {
    Ok(Notice {
        message: format!("order {} failed", order.id),
    })
}

/// Reads the decision of the gate.
#[agent]
async fn record_decision(order: Approved<Order>) -> Result<Order, AgentError> {
    Ok(order.subject)
}

workflow! {
    /// Every construct of the language in one workflow.
    pub FullLanguage(Order) {
        budget(tokens = 250_000, usd = 2.5);
        intake = validate_order
            .retry(on = ["Agent.Retryable", "Model.InvalidOutput"], interval = 2, max_attempts = 3, backoff = 2.0, max_delay = 30, jitter = true)
            .timeout(60)
            .catch(on = ["Agent.Permanent", "Budget.Exceeded"], then = notify)
            -> lookup;
        lookup = parallel { credit = credit_check.retry(max_attempts = 2), stock = stock_check } -> join;
        join = merge_checks -> route;
        route = branch { total > 1000.0 && !rush => review, rush || total <= 0.0 => notify, _ => pack_all };
        review = approval(
            subject = "Approve a large order",
            summary = [total as "Total (USD)", id, lines],
            timeout = 86400,
            choices = ["standard", "express"],
            approvers = ["sales@switchyard.test"],
            on_reject = notify,
            on_timeout = fail,
        ) -> record;
        record = record_decision -> pack_all;
        pack_all = map(lines, max_items = 100, max_concurrency = 4) { pack = pack_line.timeout(30) } -> inspect;
        inspect = inspector -> verdict;
        verdict = match verdict { Verdict::Pass => ship, Verdict::Repack => again };
        again = loop(max = 3, exhausted = give_up) -> repack;
        repack = repacker -> verdict;
        give_up = give_up_packing -> fail;
        ship = shipper.when(!hold) -> end;
        notify = notify_failure -> end;
    }
}

fn main() {
    let workflow = <FullLanguage as WorkflowDef>::definition();
    assert_eq!(<FullLanguage as WorkflowDef>::NAME, "full-language");
    assert_eq!(workflow.name, "full-language");
    assert_eq!(
        workflow.comment.as_deref(),
        Some("Every construct of the language in one workflow.")
    );
    assert_eq!(workflow.steps.len(), 14);
    assert_eq!(
        workflow.budget,
        Some(switchyard_sdk::ir::Budget {
            tokens: Some(250_000),
            usd: Some(2.5)
        })
    );
    assert_eq!(
        <validate_order as switchyard_sdk::Agent>::MODEL,
        Some("bedrock:anthropic.claude-3-haiku-20240307-v1:0")
    );
    assert_eq!(workflow.start, StepId(0));
    assert_eq!(workflow.step(workflow.start).name, "intake");
    assert_eq!(workflow.loops().count(), 1);
    assert_eq!(workflow.approval_gates().count(), 1);
    let (_, gate) = workflow.approval_gates().next().expect("a gate");
    let labels: Vec<&str> = gate.summary.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, ["Total (USD)", "Id", "Lines"]);
    assert!(workflow
        .steps
        .iter()
        .any(|s| s.name == "ship" && s.when.is_some()));
    match &workflow.step(StepId(0)).kind {
        StepKind::Task { call, catch, next } => {
            assert_eq!(call.agent, "validate_order");
            assert_eq!(call.timeout_seconds, Some(60));
            assert_eq!(call.retry.len(), 1);
            assert_eq!(call.retry[0].max_delay_seconds, Some(30));
            assert!(call.retry[0].jitter);
            assert_eq!(
                catch.as_ref().map(|c| c.fallback),
                Some(Target::Step(StepId(13)))
            );
            assert_eq!(*next, Target::Step(StepId(1)));
        }
        other => panic!("intake should be a task, got {other:?}"),
    }
    match &workflow.step(StepId(8)).kind {
        StepKind::Branch {
            arms,
            default,
            exhaustive_enum,
        } => {
            assert_eq!(arms.len(), 2);
            // The arm compares with the variant's serialised name, honouring `rename_all`.
            match &arms[0].condition {
                Condition::Compare { value, .. } => {
                    assert_eq!(*value, Literal::String("pass".into()))
                }
                other => panic!("a match arm compares the field, got {other:?}"),
            }
            assert_eq!(*default, None);
            assert_eq!(exhaustive_enum.as_deref(), Some("Verdict"));
        }
        other => panic!("verdict should be a branch, got {other:?}"),
    }
    match &workflow.step(StepId(6)).kind {
        StepKind::Map {
            max_items,
            max_concurrency,
            ..
        } => {
            assert_eq!(*max_items, Some(100));
            assert_eq!(*max_concurrency, 4);
        }
        other => panic!("pack_all should be a map, got {other:?}"),
    }
    assert_eq!(switchyard_sdk::ir::validate(&workflow), Ok(()));
}
