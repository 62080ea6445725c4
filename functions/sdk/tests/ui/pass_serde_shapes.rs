// Not a mistake: conditions, matches, maps and a gate's summary over data whose JSON differs from its Rust
// names in every way serde allows. Each emitted path must be the one serde writes.
use serde::{Deserialize, Serialize};
use switchyard_sdk::ir::{Condition, Literal, StepKind};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, workflow, AgentError, WorkflowDef};

#[derive(Clone, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_total: f64,
    pub r#type: String,
    #[serde(rename = "lines")]
    pub line_items: Vec<Line>,
    #[serde(flatten)]
    pub customer: Customer,
    pub state: State,
    pub route: Route,
    pub code: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub thread: Comment,
    /// A type from another crate, declared.
    #[shape(string)]
    pub placed_at: std::net::Ipv4Addr,
}

/// A recursive type: fine to carry, and its other fields can be routed on.
#[derive(Clone, Serialize, Deserialize, JsonShape)]
pub struct Comment {
    pub votes: i64,
    pub replies: Vec<Comment>,
}

#[derive(Clone, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "kebab-case")]
pub struct Customer {
    pub is_vip: bool,
    pub customer_tier: u8,
}

#[derive(Clone, Serialize, Deserialize, JsonShape)]
pub struct Line {
    pub sku: String,
}

#[derive(Clone, Copy, Serialize, Deserialize, JsonShape)]
#[serde(tag = "t", content = "c")]
pub enum State {
    #[serde(rename = "open-state")]
    Open,
    Closed,
    Other(u32),
}

#[derive(Clone, Copy, Serialize, Deserialize, JsonShape)]
pub enum Route {
    #[serde(rename = "fast_lane")]
    Fast,
    Slow,
}

/// A newtype that serializes as its string.
#[derive(Clone, Serialize, Deserialize, JsonShape)]
#[serde(transparent)]
pub struct Code(pub String);

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[derive(Clone, Serialize, Deserialize, JsonShape)]
pub struct Checked {
    pub ok: bool,
}

#[agent]
async fn check_line(line: Line) -> Result<Checked, AgentError> {
    Ok(Checked { ok: !line.sku.is_empty() })
}

#[agent]
async fn pass_on(order: Order) -> Result<Order, AgentError> {
    Ok(order)
}

#[agent]
async fn audit(order: Order) -> Result<Checked, AgentError> {
    Ok(Checked { ok: order.order_total > 0.0 })
}

#[agent]
async fn weigh(pair: (Order, Checked)) -> Result<Order, AgentError> {
    Ok(pair.0)
}

workflow! {
    pub Shapes(Order) {
        start = pass_on -> triage;
        triage = branch {
            order_total > 100.0 && r#type == "bulk" => by_state,
            customer.is_vip || customer.customer_tier >= 3 => by_route,
            thread.votes > 10 => both,
            _ => both,
        };
        by_state = match state { State::Open => gate, State::Closed => both, _ => both };
        by_route = match route { Route::Fast => gate, Route::Slow => both };
        gate = approval(
            subject = "Approve",
            summary = [order_total as "Total", r#type, customer.is_vip as "VIP", customer.customer_tier, note, state, placed_at],
            timeout = 60,
        ) -> after_gate;
        after_gate = branch { order_total > 1000.0 && subject.r#type == "bulk" => both, _ => both_again };
        both_again = pass_on -> both;
        both = parallel { order = pass_on, audit = audit } -> weighing;
        weighing = weigh -> lines;
        lines = map(line_items, max_items = 10) { each = check_line }.when(code == "x") -> end;
    }
}

fn paths(condition: &Condition, out: &mut Vec<(String, Literal)>) {
    match condition {
        Condition::Compare { field, value, .. } => out.push((field.0.join("."), value.clone())),
        Condition::And(all) | Condition::Or(all) => all.iter().for_each(|c| paths(c, out)),
        Condition::Not(inner) => paths(inner, out),
    }
}

fn step_paths(name: &str) -> Vec<(String, Literal)> {
    let workflow = <Shapes as WorkflowDef>::definition();
    let step = workflow.steps.iter().find(|s| s.name == name).expect("step");
    let mut out = Vec::new();
    if let Some(when) = &step.when {
        paths(when, &mut out);
    }
    if let StepKind::Branch { arms, .. } = &step.kind {
        arms.iter().for_each(|arm| paths(&arm.condition, &mut out));
    }
    out
}

fn main() {
    let s = |v: &str| Literal::String(v.to_owned());
    assert_eq!(
        step_paths("triage"),
        vec![
            ("orderTotal".into(), Literal::Float(100.0)),
            ("type".into(), s("bulk")),
            ("is-vip".into(), Literal::Bool(true)),
            ("customer-tier".into(), Literal::Integer(3)),
            ("thread.votes".into(), Literal::Integer(10)),
        ]
    );
    assert_eq!(
        step_paths("by_state"),
        vec![("state.t".into(), s("open-state")), ("state.t".into(), s("Closed"))]
    );
    assert_eq!(
        step_paths("by_route"),
        vec![("route".into(), s("fast_lane")), ("route".into(), s("Slow"))]
    );
    // After the gate the subject's fields sit beside `approval`: `order_total` and
    // `subject.r#type` address the same JSON object.
    assert_eq!(
        step_paths("after_gate"),
        vec![("orderTotal".into(), Literal::Float(1000.0)), ("type".into(), s("bulk"))]
    );
    assert_eq!(step_paths("lines"), vec![("code".into(), s("x"))]);
    assert_eq!(
        switchyard_sdk::shape::json_path::<Order>(&["placed_at"]),
        vec!["placedAt".to_owned()]
    );
    let workflow = <Shapes as WorkflowDef>::definition();
    // A gate's summary reads serde's keys too; a field serde may omit (`note`) is allowed:
    // the page shows it as absent.
    let (_, gate) = workflow.approval_gates().next().expect("a gate");
    let summary: Vec<(&str, String)> = gate
        .summary
        .iter()
        .map(|f| (f.label.as_str(), f.path.0.join(".")))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Total", "orderTotal".to_owned()),
            ("Type", "type".to_owned()),
            ("VIP", "is-vip".to_owned()),
            ("Customer tier", "customer-tier".to_owned()),
            ("Note", "note".to_owned()),
            ("State", "state".to_owned()),
            ("Placed at", "placedAt".to_owned()),
        ]
    );
    let lines = workflow.steps.iter().find(|s| s.name == "lines").expect("map");
    match &lines.kind {
        StepKind::Map { items, .. } => assert_eq!(items.0, vec!["lines".to_owned()]),
        other => panic!("lines is a map, got {other:?}"),
    }
}
