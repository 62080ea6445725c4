//! Name resolution and lowering to the IR. The IR's own validation runs here too, with each
//! error attached to the tokens it is about.
//!
//! This file holds the walk over the steps, the modifier checks every kind shares and the
//! resolution of targets; `steps` lowers each step kind, `conditions` reads conditions and
//! field paths, `settings` reads `key = value` lists, their values, retry and catch.

mod conditions;
mod settings;
mod steps;

use std::collections::{BTreeMap, HashMap};

use proc_macro2::Span;
use switchyard_ir::{Locus, Step, StepId, Target, Workflow};
use syn::{Expr, Ident, Lit, Path};

use super::ast::{KindDecl, StepDecl, WorkflowDecl};
use crate::ctxt::Ctxt;

/// What data an edge carries, relative to the step it leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carries {
    /// The step's output.
    Output,
    /// The step's input, passed through (routing, skipped `when`, caught failure).
    Input,
    /// The input with the gate's decision added: `Approved<Input>`.
    Approved,
}

/// An edge between two steps, for the type assertions.
pub struct TypedEdge {
    pub from: StepId,
    pub to: StepId,
    pub carries: Carries,
    /// The target's name where the edge is written.
    pub span: Span,
}

pub struct Lowered {
    pub ir: Workflow,
    /// Agent name → the path the declaration uses for it.
    pub agents: BTreeMap<String, Path>,
    pub edges: Vec<TypedEdge>,
    /// `match` arms' variant paths by the text the IR holds until the code runs.
    pub variants: HashMap<String, Path>,
}

/// Builds the IR and reports every problem it can find. Returns `None` only when the
/// declaration is too broken to build a graph from.
pub fn lower(decl: &WorkflowDecl, cx: &mut Ctxt) -> Option<Lowered> {
    if decl.steps.is_empty() {
        cx.error_spanned_by(&decl.ident, "a workflow needs at least one step");
        return None;
    }
    let mut names = HashMap::new();
    for (i, step) in decl.steps.iter().enumerate() {
        let name = step.name.to_string();
        if name == "end" || name == "fail" {
            cx.error_spanned_by(
                &step.name,
                format!("`{name}` is a reserved target and cannot name a step"),
            );
        }
        names.entry(name).or_insert(StepId(i as u32));
    }
    let mut lower = Lowerer {
        cx,
        names,
        agents: BTreeMap::new(),
        edges: Vec::new(),
        spans: HashMap::new(),
        variants: HashMap::new(),
    };
    let steps = decl
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| lower.step(StepId(i as u32), step))
        .collect();
    let budget = lower.budget(&decl.budgets);
    let ir = Workflow {
        name: kebab_case(&decl.ident.to_string()),
        comment: doc_comment(&decl.attrs),
        input_type: String::new(),
        start: StepId(0),
        steps,
        budget,
    };
    if let Err(errors) = switchyard_back::check(&ir) {
        for error in errors {
            // `#[agent]` reports a bad agent name where the agent is declared.
            if matches!(
                error.kind,
                switchyard_ir::ErrorKind::AgentNameCharacter { .. }
                    | switchyard_ir::ErrorKind::FunctionNameTooLong { .. }
                    | switchyard_ir::ErrorKind::ReservedAgentName { .. }
            ) {
                continue;
            }
            // A duplicate or reserved name is reported already; that nothing reaches the
            // second step of that name follows from it.
            if let (switchyard_ir::ErrorKind::Unreachable(name), Locus::Step(id)) =
                (&error.kind, error.locus)
            {
                if lower.names.get(name) != Some(&id) || name == "end" || name == "fail" {
                    continue;
                }
            }
            let span = match error.locus {
                Locus::Workflow => decl.ident.span(),
                Locus::Step(id) => decl.steps[id.index()].name.span(),
                Locus::Setting(id, _) => lower
                    .spans
                    .get(&error.locus)
                    .copied()
                    .unwrap_or_else(|| decl.steps[id.index()].name.span()),
            };
            lower.cx.error_at(span, &error);
        }
    }
    Some(Lowered {
        ir,
        agents: lower.agents,
        edges: lower.edges,
        variants: lower.variants,
    })
}

/// A workflow's deployed name from its type's name: `CampaignCreation` → `campaign-creation`
/// (an acronym stays one word: `HttpCheck` and `HTTPCheck` are both `http-check`).
pub fn kebab_case(camel: &str) -> String {
    heck::ToKebabCase::to_kebab_case(camel)
}

pub fn doc_comment(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}

struct Lowerer<'c> {
    cx: &'c mut Ctxt,
    names: HashMap<String, StepId>,
    agents: BTreeMap<String, Path>,
    edges: Vec<TypedEdge>,
    spans: HashMap<Locus, Span>,
    variants: HashMap<String, Path>,
}

impl Lowerer<'_> {
    fn step(&mut self, id: StepId, decl: &StepDecl) -> Step {
        let routing = matches!(
            decl.kind,
            KindDecl::Branch { .. } | KindDecl::Match { .. } | KindDecl::Loop { .. }
        );
        // On routing steps `.when` is reported with the other misplaced modifiers.
        let when = if routing {
            None
        } else {
            self.guard(&decl.modifiers)
        };
        let kind = match &decl.kind {
            KindDecl::Agent(path) => self.agent_step(id, decl, path),
            KindDecl::Parallel { token, branches } => self.parallel_step(id, decl, token, branches),
            KindDecl::Map {
                items,
                settings,
                item,
                ..
            } => self.map_step(id, decl, items, settings, item),
            KindDecl::Branch { arms, default, .. } => {
                self.branch_step(id, decl, arms, default.as_ref())
            }
            KindDecl::Match {
                scrutinee,
                arms,
                default,
                ..
            } => self.match_step(id, decl, scrutinee, arms, default.as_ref()),
            KindDecl::Loop { settings, .. } => self.loop_step(id, decl, settings),
            KindDecl::Approval {
                settings, summary, ..
            } => self.approval_step(id, decl, settings, summary),
        };
        if when.is_some() {
            self.skipped_edge(id, decl);
        }
        Step {
            name: decl.name.to_string(),
            kind,
            when,
        }
    }

    /// A skipped step hands its input straight to its next step.
    fn skipped_edge(&mut self, id: StepId, decl: &StepDecl) {
        if let (Some(next), Some((token, _))) = (&decl.next, decl.modifiers.when.first()) {
            if let Some(to) = self.names.get(&next.to_string()).copied() {
                self.edges.push(TypedEdge {
                    from: id,
                    to,
                    carries: Carries::Input,
                    span: token.span(),
                });
            }
        }
    }

    fn only_when(&mut self, decl: &StepDecl, kind: &str) {
        let m = &decl.modifiers;
        for token in m
            .retry
            .iter()
            .map(|(t, _)| t)
            .chain(m.catch.iter().map(|(t, _)| t))
            .chain(m.timeout.iter().map(|(t, _)| t))
            .chain(&m.unknown)
        {
            self.cx.error_spanned_by(
                token,
                format!("`.{token}(...)` does not apply to a {kind} step (only `.when(...)` does)"),
            );
        }
    }

    fn no_modifiers(&mut self, decl: &StepDecl, kind: &str) {
        let m = &decl.modifiers;
        if m.is_empty() {
            return;
        }
        let tokens = m
            .retry
            .iter()
            .map(|(t, _)| t)
            .chain(m.catch.iter().map(|(t, _)| t))
            .chain(m.timeout.iter().map(|(t, _)| t))
            .chain(m.when.iter().map(|(t, _)| t))
            .chain(&m.unknown);
        for token in tokens {
            self.cx.error_spanned_by(
                token,
                format!("`.{token}(...)` does not apply to a {kind} step"),
            );
        }
    }

    fn no_next(&mut self, decl: &StepDecl) {
        if let Some(next) = &decl.next {
            self.cx.error_spanned_by(
                next,
                "a routing step's arms say where to go; remove `-> ...`",
            );
        }
    }

    fn next(&mut self, id: StepId, decl: &StepDecl, carries: Carries) -> Target {
        match &decl.next {
            Some(next) => self.target(id, next, carries),
            None => {
                self.cx.error_spanned_by(
                    &decl.name,
                    format!(
                        "step `{}` needs a next step: `-> step_name`, `-> end` or `-> fail`",
                        decl.name
                    ),
                );
                Target::Fail
            }
        }
    }

    fn target(&mut self, from: StepId, ident: &Ident, carries: Carries) -> Target {
        let name = ident.to_string();
        match name.as_str() {
            "end" => Target::End,
            "fail" => Target::Fail,
            _ => match self.names.get(&name) {
                Some(to) => {
                    self.edges.push(TypedEdge {
                        from,
                        to: *to,
                        carries,
                        span: ident.span(),
                    });
                    Target::Step(*to)
                }
                None => {
                    let hint = switchyard_ir::closest(&name, self.names.keys().map(String::as_str))
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                    self.cx.error_spanned_by(
                        ident,
                        format!("no step named `{name}` in this workflow{hint}"),
                    );
                    Target::Fail
                }
            },
        }
    }

    fn target_expr(&mut self, from: StepId, expr: &Expr, carries: Carries) -> Target {
        match expr {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                let ident = p.path.get_ident().expect("checked by the guard").clone();
                self.target(from, &ident, carries)
            }
            other => {
                self.cx
                    .error_spanned_by(other, "expected a step name, `end` or `fail`");
                Target::Fail
            }
        }
    }
}
