//! Mermaid flowcharts. Approval gates are hexagons in amber, routing steps diamonds, loop
//! counters stadiums; parallel and map steps are subgraphs.

use std::fmt::Write;

use switchyard_ir::{Edge, Step, StepKind, Target, Workflow};

pub fn file_name(workflow: &Workflow) -> String {
    format!("{}.mmd", workflow.name)
}

pub fn write(workflow: &Workflow) -> String {
    let mut out = String::new();
    let w = &mut out;
    line(w, "flowchart TD");
    if let Some(comment) = &workflow.comment {
        line(w, &format!("  %% {comment}"));
    }
    line(w, "  start((start))");
    line(w, "  done((end))");
    line(
        w,
        &format!("  start --> {}", node(workflow.step(workflow.start))),
    );
    let mut uses_fail = false;
    for step in &workflow.steps {
        let id = node(step);
        let name = &step.name;
        match &step.kind {
            StepKind::Task { call, .. } => {
                line(w, &format!("  {id}[\"{name}<br/><i>{}</i>\"]", call.agent))
            }
            StepKind::Parallel { branches, .. } => {
                line(w, &format!("  subgraph {id} [\"{name} (parallel)\"]"));
                for b in branches {
                    line(
                        w,
                        &format!(
                            "    {id}__{}[\"{}<br/><i>{}</i>\"]",
                            b.name, b.name, b.call.agent
                        ),
                    );
                }
                line(w, "  end");
            }
            StepKind::Map {
                items,
                item,
                max_concurrency,
                max_items,
                ..
            } => {
                let bound = max_items
                    .map(|m| format!(", at most {m}"))
                    .unwrap_or_default();
                let concurrency = match max_concurrency {
                    0 => String::new(),
                    n => format!(", {n} at a time"),
                };
                line(
                    w,
                    &format!(
                        "  subgraph {id} [\"{name}: for each of {items}{bound}{concurrency}\"]"
                    ),
                );
                line(
                    w,
                    &format!(
                        "    {id}__{}[\"{}<br/><i>{}</i>\"]",
                        item.name, item.name, item.call.agent
                    ),
                );
                line(w, "  end");
            }
            StepKind::Branch { .. } => line(w, &format!("  {id}{{\"{name}\"}}")),
            StepKind::Loop { max_iterations, .. } => line(
                w,
                &format!("  {id}([\"{name}<br/>at most {max_iterations} times\"])"),
            ),
            StepKind::Approval(gate) => {
                let choices = if gate.choices.is_empty() {
                    String::new()
                } else {
                    format!("<br/>pick one of {}", gate.choices.len())
                };
                line(
                    w,
                    &format!(
                        "  {id}{{{{\"✋ {name}<br/>{}{choices}\"}}}}",
                        escape(&gate.subject)
                    ),
                );
                line(w, &format!("  class {id} approval"));
            }
        }
        for (edge, target) in step.edges() {
            let to = match target {
                Target::Step(next) => node(workflow.step(next)),
                Target::End => "done".to_owned(),
                Target::Fail => {
                    uses_fail = true;
                    "failed".to_owned()
                }
            };
            match edge {
                Edge::Next if step.when.is_some() => {
                    line(w, &format!("  {id} --> {to}"));
                    line(w, &format!("  {id} -. skipped .-> {to}"));
                }
                Edge::Next => line(w, &format!("  {id} --> {to}")),
                other => line(w, &format!("  {id} -- {} --> {to}", other.label())),
            }
        }
    }
    if uses_fail {
        line(w, "  failed((fail))");
        line(w, "  class failed failure");
    }
    line(
        w,
        "  classDef approval fill:#fde68a,stroke:#b45309,stroke-width:2px",
    );
    line(w, "  classDef failure fill:#fecaca,stroke:#b91c1c");
    out
}

fn node(step: &Step) -> String {
    format!("s_{}", step.name)
}

fn escape(text: &str) -> String {
    text.replace('"', "#quot;")
}

fn line(out: &mut String, text: &str) {
    let _ = writeln!(out, "{text}");
}
