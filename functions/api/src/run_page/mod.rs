//! A run's page, for people: the run's header and totals, the workflow as a picture with
//! each step coloured by its state ([`svg`], [`status`]), the step attempts, the gates with
//! their decision buttons, and the output or the failure. Rendered on the server with
//! `maud` (which escapes everything it is given), complete without JavaScript; a small
//! script shipped inline ([`SCRIPT`], allowed by its hash and nothing else) polls the page's
//! state every 2 s while the run may still move.

pub mod format;
mod status;
mod svg;

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Serialize;
use sha2::{Digest, Sha256};
use switchyard_lambda::approval::callback::{json_value, summary};
use switchyard_sdk::ir::{StepKind, Workflow};
use switchyard_state::RunTotals;

use crate::backend::{
    ApprovalRecord, ApprovalStatus, ParkedRecord, RunRecord, RunStatus, StepRecord, StepStatus,
};
use status::{colours, NodeState, RunStates, END, FAIL, START};

/// The page's script: polls the state and updates the page.
const SCRIPT: &str = include_str!("live.js");

/// The step table's columns, and which hold numbers (right-aligned).
const COLUMNS: [&str; 9] = [
    "step",
    "item",
    "attempt",
    "agent",
    "status",
    "latency",
    "tokens in / out",
    "cost",
    "error",
];
const NUMERIC_COLUMNS: [usize; 5] = [1, 2, 5, 6, 7];
/// The status column, which shows a coloured pill.
const STATUS_COLUMN: usize = 4;

/// What the page may load and run: its own styles, its one script (by hash), and requests
/// for its state to its own origin. Nothing from elsewhere, no forms, never framed.
pub fn content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let hash = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
        format!(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; \
             connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'"
        )
    })
}

/// Everything one run's page shows, as read for one request.
pub struct RunPage<'a> {
    pub run: &'a RunRecord,
    pub steps: &'a [StepRecord],
    /// As clients see them (links only on pending requests).
    pub approvals: &'a [ApprovalRecord],
    /// While the run is paused: the steps waiting at their boundary.
    pub parked: &'a [ParkedRecord],
    /// The workflow's definition, when the API knows it (every declared workflow; graphs
    /// recorded with theirs).
    pub workflow: Option<&'a Workflow>,
    /// Where the script polls, view token included.
    pub state_url: &'a str,
    /// When the view link stops working (epoch ms).
    pub link_expires_at: u64,
    /// Epoch ms.
    pub now: u64,
}

/// What the script polls: the nodes' states, the header's figures and the table's rows.
#[derive(Serialize)]
pub struct PageState {
    run_id: String,
    status: RunStatus,
    /// The run cannot move any more: the script stops (and reloads once).
    ended: bool,
    header: std::collections::BTreeMap<&'static str, String>,
    nodes: Vec<NodeJson>,
    rows: Vec<Row>,
    numeric_columns: [usize; 5],
    /// The pending gates' request ids: when they change, the page reloads for its buttons.
    gates: String,
}

#[derive(Serialize)]
struct NodeJson {
    key: String,
    state: &'static str,
    detail: String,
}

/// One step attempt as the table shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct Row {
    class: String,
    cells: Vec<String>,
}

impl RunPage<'_> {
    fn live(&self) -> bool {
        status::is_live(self.run.status)
    }

    fn states(&self) -> RunStates {
        match self.workflow {
            Some(workflow) => RunStates::derive(workflow, self.run, self.steps, self.approvals)
                .with_parked(workflow, self.parked),
            None => RunStates::default(),
        }
    }

    /// The header's figures, by the `data-field` the script updates.
    fn figures(&self) -> Vec<(&'static str, &'static str, String)> {
        let totals = RunTotals::of(self.steps);
        let run = self.run;
        let duration = match run.finished_at {
            Some(end) => format::duration(end.saturating_sub(run.created_at)),
            None if self.live() => format!(
                "{} so far",
                format::duration(self.now.saturating_sub(run.created_at))
            ),
            None => "-".to_owned(),
        };
        vec![
            ("started", "Started", format::timestamp(run.created_at)),
            (
                "ended",
                "Ended",
                run.finished_at
                    .map(format::timestamp)
                    .unwrap_or_else(|| "-".to_owned()),
            ),
            ("duration", "Duration", duration),
            (
                "tokens",
                "Tokens in / out",
                format!(
                    "{} / {}",
                    format::count(totals.tokens_in),
                    format::count(totals.tokens_out)
                ),
            ),
            ("cost", "Cost", format::cost(totals.cost_usd)),
            (
                "attempts",
                "Step attempts",
                format::count(totals.step_attempts),
            ),
        ]
    }

    fn rows(&self) -> Vec<Row> {
        let mut steps: Vec<&StepRecord> = self.steps.iter().collect();
        steps.sort_by(|a, b| (a.started_at, &a.step_key).cmp(&(b.started_at, &b.step_key)));
        steps
            .into_iter()
            .map(|step| {
                let (state, status) = match step.status {
                    StepStatus::Running if self.live() => (NodeState::Running, "running"),
                    StepStatus::Running => (NodeState::Failed, "stopped"),
                    StepStatus::Succeeded => (NodeState::Succeeded, "succeeded"),
                    StepStatus::Failed => (NodeState::Failed, "failed"),
                };
                let error = match (&step.error_name, &step.error_message) {
                    (Some(name), Some(message)) => {
                        format!("{name}: {}", message.chars().take(300).collect::<String>())
                    }
                    (Some(name), None) => name.clone(),
                    _ => String::new(),
                };
                Row {
                    class: state.class(),
                    cells: vec![
                        match step.round {
                            Some(round) => format!("{} · round {round}", step.step),
                            None => step.step.clone(),
                        },
                        step.item.map(|i| i.to_string()).unwrap_or_default(),
                        // People count attempts from 1; the records from 0.
                        (step.attempt + 1).to_string(),
                        step.agent.clone().unwrap_or_default(),
                        status.to_owned(),
                        step.latency_ms.map(format::duration).unwrap_or_default(),
                        format!(
                            "{} / {}",
                            format::count(step.tokens_in),
                            format::count(step.tokens_out)
                        ),
                        format::cost(step.cost_usd),
                        error,
                    ],
                }
            })
            .collect()
    }

    fn pending(&self) -> impl Iterator<Item = &ApprovalRecord> {
        let live = self.live();
        self.approvals
            .iter()
            .filter(move |a| live && a.status == ApprovalStatus::Pending)
    }

    fn gates_signature(&self) -> String {
        let mut ids: Vec<&str> = self.pending().map(|a| a.request_id.as_str()).collect();
        ids.sort_unstable();
        ids.join(",")
    }

    /// Every node of the picture with its state.
    fn node_states(&self) -> Vec<NodeJson> {
        let Some(workflow) = self.workflow else {
            return Vec::new();
        };
        let states = self.states();
        let mut keys: Vec<String> = vec![START.into(), END.into(), FAIL.into()];
        for step in &workflow.steps {
            keys.push(step.name.clone());
            match &step.kind {
                StepKind::Parallel { branches, .. } => {
                    keys.extend(branches.iter().map(|b| b.name.clone()))
                }
                StepKind::Map { item, .. } => keys.push(item.name.clone()),
                _ => {}
            }
        }
        keys.into_iter()
            .map(|key| {
                let status = states.get(&key);
                NodeJson {
                    key,
                    state: status.state.name(),
                    detail: status.detail,
                }
            })
            .collect()
    }

    pub fn state(&self) -> PageState {
        let mut header: std::collections::BTreeMap<&'static str, String> = self
            .figures()
            .into_iter()
            .map(|(field, _, value)| (field, value))
            .collect();
        header.insert("status", self.run.status.as_str().to_owned());
        PageState {
            run_id: self.run.run_id.clone(),
            status: self.run.status,
            ended: !self.live(),
            header,
            nodes: self.node_states(),
            rows: self.rows(),
            numeric_columns: NUMERIC_COLUMNS,
            gates: self.gates_signature(),
        }
    }

    pub fn html(&self) -> String {
        let run = self.run;
        let live = self.live();
        let title = format!("{} · {}", run.workflow, run.status);
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="robots" content="noindex";
                    title { (title) }
                    style { (PreEscaped(style())) }
                }
                body data-state-url=(self.state_url) data-live=(live) data-gates=(self.gates_signature()) {
                    main {
                        (self.header())
                        // What waits for a person comes first.
                        @let waiting = self.pending().next().is_some();
                        @if waiting {
                            (self.gates())
                        }
                        (self.picture())
                        (self.outcome())
                        @if !waiting {
                            (self.gates())
                        }
                        (self.table())
                        (self.input())
                        footer {
                            p #live {
                                @if live {
                                    "Updates every 2 seconds while the run is live."
                                } @else {
                                    "The run has ended; this page no longer changes."
                                }
                                " This link works until " (format::timestamp(self.link_expires_at)) "."
                            }
                        }
                    }
                    @if live {
                        script { (PreEscaped(SCRIPT)) }
                    }
                }
            }
        };
        page.into_string()
    }

    fn header(&self) -> Markup {
        let run = self.run;
        html! {
            header.run {
                div.title {
                    h1 { (run.workflow) }
                    span class={ "badge run-" (run.status) } data-field="status" { (run.status) }
                }
                p.run-id { "Run " code { (run.run_id) } }
                dl.facts {
                    @for (field, label, value) in self.figures() {
                        div {
                            dt { (label) }
                            dd data-field=(field) { (value) }
                        }
                    }
                }
            }
        }
    }

    fn picture(&self) -> Markup {
        html! {
            section.card.graph {
                h2 { "Workflow" }
                @match self.workflow {
                    Some(workflow) => {
                        (svg::legend())
                        div.picture { (svg::render(workflow, &self.states())) }
                    }
                    None => {
                        p.muted { "No picture: this deployment does not know the workflow's definition." }
                    }
                }
            }
        }
    }

    fn gates(&self) -> Markup {
        if self.approvals.is_empty() {
            return html! {};
        }
        let mut approvals: Vec<&ApprovalRecord> = self.approvals.iter().collect();
        approvals.sort_by_key(|a| (a.created_at, a.request_id.as_str()));
        let live = self.live();
        html! {
            section.card.gates {
                h2 { "Approval gates" }
                @for approval in approvals {
                    @let pending = live && approval.status == ApprovalStatus::Pending;
                    div class=(if pending { "gate pending" } else { "gate" }) {
                        div.gate-head {
                            h3 { (approval.subject) }
                            span.gate-name { "gate " code { (approval.gate) } }
                        }
                        @if pending {
                            p.muted { "Waiting for a decision until " (format::timestamp(approval.expires_at.saturating_mul(1000))) "." }
                            (summary(&approval.summary))
                            @if approval.links.is_empty() {
                                p.muted {
                                    "The designated approvers (" (approval.approvers.join(", "))
                                    ") have their own links."
                                }
                            } @else {
                                div.decisions {
                                    @for decision in approval.allowed_decisions() {
                                        @if let Some(link) = approval.links.get(decision.as_str()) {
                                            a class=(decision_class(decision.as_str())) href=(link) rel="noreferrer" {
                                                (decision_label(decision.as_str()))
                                            }
                                        }
                                    }
                                }
                            }
                        } @else {
                            p { (decided(approval, live)) }
                        }
                    }
                }
            }
        }
    }

    fn outcome(&self) -> Markup {
        let run = self.run;
        html! {
            @if run.status == RunStatus::Succeeded {
                section.card.output {
                    h2 { "Output" }
                    @match run.output.as_deref() {
                        Some(text) => {
                            @match serde_json::from_str::<serde_json::Value>(text) {
                                Ok(value) => div.summary { (json_value(&value)) },
                                Err(_) => pre { (text) },
                            }
                        }
                        None => p.muted { (run.output_summary.as_deref().unwrap_or("The output was not kept with the run.")) },
                    }
                }
            }
            @if run.status == RunStatus::Failed {
                section.card.failure {
                    h2 { "Failure" }
                    p.error-name { code { (run.failure_error.as_deref().unwrap_or("unknown error")) } }
                    @if let Some(cause) = &run.failure_cause {
                        (summary(cause))
                    }
                }
            }
        }
    }

    fn input(&self) -> Markup {
        html! {
            @if let Some(input) = &self.run.input_summary {
                details.card.input {
                    summary { "Input" }
                    (summary(input))
                }
            }
        }
    }

    fn table(&self) -> Markup {
        let rows = self.rows();
        html! {
            section.card.steps {
                h2 { "Step attempts" }
                table {
                    thead {
                        tr {
                            @for (index, column) in COLUMNS.iter().enumerate() {
                                @if NUMERIC_COLUMNS.contains(&index) {
                                    th.num { (column) }
                                } @else {
                                    th { (column) }
                                }
                            }
                        }
                    }
                    tbody #steps-body {
                        @for row in &rows {
                            tr {
                                @for (index, cell) in row.cells.iter().enumerate() {
                                    @if NUMERIC_COLUMNS.contains(&index) {
                                        td.num { (cell) }
                                    } @else if index == STATUS_COLUMN {
                                        td { span class={ "pill " (row.class) } { (cell) } }
                                    } @else {
                                        td { (cell) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if rows.is_empty() {
                    p.muted { "No step has started yet." }
                }
            }
        }
    }
}

fn decision_class(decision: &str) -> &'static str {
    match decision {
        switchyard_state::REJECT => "button reject",
        _ => "button approve",
    }
}

fn decision_label(decision: &str) -> String {
    match decision {
        switchyard_state::APPROVE => "Approve".to_owned(),
        switchyard_state::REJECT => "Reject".to_owned(),
        choice => format!("Choose {choice}"),
    }
}

/// How a gate that is not waiting ended.
fn decided(approval: &ApprovalRecord, live: bool) -> String {
    let by = approval.decided_by.as_deref().unwrap_or("someone");
    let at = approval
        .decided_at
        .map(|at| format!(" at {}", format::timestamp(at.saturating_mul(1000))))
        .unwrap_or_default();
    let decision = approval
        .decision
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    match approval.status {
        ApprovalStatus::Approved if approval.auto_approved => {
            "Approved automatically (development auto-approval).".to_owned()
        }
        ApprovalStatus::Approved | ApprovalStatus::Rejected => {
            format!("Decided {decision} by {by}{at}.")
        }
        ApprovalStatus::Deciding if live => format!("Deciding: {decision} by {by}{at}."),
        _ => "Expired without a decision: the run no longer waits for it.".to_owned(),
    }
}

/// A page saying why nothing is shown (a refused view link, a run that is not there).
pub fn error_page(status: u16, message: &str) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { "Run page unavailable" }
                style { (PreEscaped(style())) }
            }
            body {
                main {
                    section.card.refused {
                        h1 { "This run page cannot be shown" }
                        p { (message) }
                        p.muted { "HTTP " (status) }
                    }
                }
            }
        }
    };
    page.into_string()
}

/// The page's style sheet, the picture's included; state colours from [`colours`].
fn style() -> String {
    let mut css = String::from(STYLE);
    css.push_str(&svg::style());
    for state in NodeState::ALL {
        let c = colours(state);
        css.push_str(&format!(
            ".pill.{}{{background:{};color:{};border-color:{}}}",
            state.class(),
            c.fill,
            c.text,
            c.stroke
        ));
    }
    for (status, state) in [
        ("running", NodeState::Running),
        ("succeeded", NodeState::Succeeded),
        ("failed", NodeState::Failed),
        ("cancelled", NodeState::NotReached),
        ("paused", NodeState::Paused),
    ] {
        let c = colours(state);
        css.push_str(&format!(
            ".badge.run-{status}{{background:{};color:{};border-color:{}}}",
            c.fill, c.text, c.stroke
        ));
    }
    css
}

const STYLE: &str = "*{box-sizing:border-box}\
body{margin:0;background:#f1f5f9;color:#0f172a;font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{max-width:1240px;margin:0 auto;padding:24px}\
.card,header.run{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:18px 24px;margin:0 0 16px;box-shadow:0 1px 2px rgba(15,23,42,.04)}\
.title{display:flex;align-items:center;gap:12px;flex-wrap:wrap}\
h1{margin:0;font-size:24px;letter-spacing:-.01em}\
h2{margin:0 0 12px;font-size:15px;color:#334155}\
h3{margin:0;font-size:15px}\
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}\
.run-id{margin:4px 0 0;color:#64748b}\
.badge{display:inline-block;padding:2px 12px;border:1px solid;border-radius:999px;font-size:12px;font-weight:700;text-transform:uppercase;letter-spacing:.05em}\
dl.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px 16px;margin:16px 0 0}\
dl.facts dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#64748b}\
dl.facts dd{margin:2px 0 0;font-size:13px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}\
.muted{color:#64748b}\
ul.legend{display:flex;flex-wrap:wrap;gap:6px 18px;list-style:none;margin:0 0 12px;padding:0;font-size:12px;color:#475569}\
.swatch{display:inline-block;width:14px;height:14px;margin-right:6px;border:2px solid;border-radius:4px;vertical-align:-2px}\
.picture{overflow-x:auto;text-align:center}\
.picture svg{max-width:100%;height:auto}\
table{width:100%;border-collapse:collapse;font-size:13px}\
th{text-align:left;font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.05em;color:#64748b;border-bottom:1px solid #e2e8f0;padding:6px 10px}\
td{padding:7px 10px;border-bottom:1px solid #f1f5f9;vertical-align:top;overflow-wrap:anywhere}\
tbody tr:hover{background:#f8fafc}\
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.pill{display:inline-block;padding:0 8px;border:1px solid;border-radius:999px;font-size:12px;font-weight:600}\
.gate{border:1px solid #e2e8f0;border-radius:10px;padding:12px 16px;margin:0 0 12px}\
.gate.pending{border-color:#f59e0b;background:#fffbeb}\
.gate-head{display:flex;justify-content:space-between;gap:12px;align-items:baseline}\
.gate-name{color:#64748b;font-size:12px}\
.decisions{display:flex;gap:10px;flex-wrap:wrap;margin-top:12px}\
a.button{display:inline-block;padding:8px 18px;border-radius:8px;font-weight:600;text-decoration:none;border:1px solid}\
a.button.approve{background:#16a34a;border-color:#15803d;color:#fff}\
a.button.reject{background:#fff;border-color:#fca5a5;color:#b91c1c}\
.summary{background:#f8fafc;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px}\
.summary dl{margin:0}.summary dt{font-weight:600;color:#334155}\
.summary dd{margin:0 0 8px 16px}.summary ul{margin:0;padding-left:20px}\
pre,.summary dd,.summary li{white-space:pre-wrap;overflow-wrap:anywhere}\
pre{background:#f8fafc;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px;margin:0}\
.failure{border-color:#fca5a5}.error-name code{color:#b91c1c;font-size:14px}\
details.input summary{cursor:pointer;font-weight:600;color:#334155}\
details.input[open] summary{margin-bottom:10px}\
footer{color:#64748b;font-size:12px;text-align:center}\
.refused{max-width:640px;margin:64px auto}.refused h1{font-size:20px;margin-bottom:8px}";

#[cfg(test)]
mod tests;
