//! Name resolution and lowering to the IR. The IR's own validation runs here too, with each
//! error attached to the tokens it is about.

use std::collections::{BTreeMap, HashMap};

use proc_macro2::Span;
use quote::ToTokens;
use switchyard_ir::{
    AgentCall, ApprovalGate, Arm, Branch, Catch, CompareOp, Condition, FieldPath, Literal, Locus,
    Retry, Setting, Step, StepId, StepKind, Target, Workflow,
};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Ident, Lit, Member, Path, UnOp};

use super::ast::{BranchDecl, KindDecl, Modifiers, SettingDecl, StepDecl, WorkflowDecl};
use crate::ctxt::Ctxt;
use crate::shape::unraw;

/// Error names retried when `.retry(...)` lists none.
pub const DEFAULT_RETRY_ON: &[&str] = &[
    "Agent.Retryable",
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "States.Timeout",
];

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
    let ir = Workflow {
        name: kebab_case(&decl.ident.to_string()),
        comment: doc_comment(&decl.attrs),
        input_type: String::new(),
        start: StepId(0),
        steps,
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

pub fn kebab_case(camel: &str) -> String {
    let mut out = String::new();
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.extend(ch.to_lowercase());
        } else if ch == '_' {
            out.push('-');
        } else {
            out.push(ch);
        }
    }
    out
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
            KindDecl::Agent(path) => {
                let call = self.call(id, path, &decl.modifiers);
                let catch = self.catch(id, &decl.modifiers);
                let next = self.next(id, decl, Carries::Output);
                StepKind::Task { call, catch, next }
            }
            KindDecl::Parallel { token, branches } => {
                self.only_when(decl, "parallel");
                if branches.is_empty() {
                    self.cx
                        .error_spanned_by(token, "a parallel step needs at least one branch");
                }
                let branches = branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| self.branch(id, b, i))
                    .collect();
                let next = self.next(id, decl, Carries::Output);
                StepKind::Parallel { branches, next }
            }
            KindDecl::Map {
                items,
                settings,
                item,
                ..
            } => {
                self.only_when(decl, "map");
                let mut settings = Settings::new(id, settings);
                let max_concurrency = settings
                    .take(self, "max_concurrency", Some(Setting::MaxConcurrency))
                    .and_then(|v| self.u32(v))
                    .unwrap_or(0);
                let max_items = settings
                    .take(self, "max_items", Some(Setting::MaxItems))
                    .and_then(|v| self.u32(v));
                settings.finish(self, "map", &["max_concurrency", "max_items"]);
                let items = self
                    .field_path(items)
                    .unwrap_or_else(|| FieldPath(Vec::new()));
                let item = self.branch(id, item, 0);
                let next = self.next(id, decl, Carries::Output);
                StepKind::Map {
                    items,
                    item,
                    max_concurrency,
                    max_items,
                    next,
                }
            }
            KindDecl::Branch { arms, default, .. } => {
                self.no_modifiers(decl, "branch");
                self.no_next(decl);
                let arms = arms
                    .iter()
                    .enumerate()
                    .map(|(i, (condition, target))| {
                        self.spans
                            .insert(Locus::Setting(id, Setting::Arm(i)), condition.span());
                        // A condition that failed to lower is reported; keep the arm so its
                        // target is not also reported as unreachable.
                        let condition = self
                            .condition(condition)
                            .unwrap_or(Condition::And(Vec::new()));
                        let target = self.target(id, target, Carries::Input);
                        Arm { condition, target }
                    })
                    .collect();
                let default = default.as_ref().map(|t| self.target(id, t, Carries::Input));
                StepKind::Branch {
                    arms,
                    default,
                    exhaustive_enum: None,
                }
            }
            KindDecl::Match {
                scrutinee,
                arms,
                default,
                ..
            } => {
                self.no_modifiers(decl, "match");
                self.no_next(decl);
                let field = self
                    .field_path(scrutinee)
                    .unwrap_or_else(|| FieldPath(Vec::new()));
                let enum_name = arms
                    .first()
                    .and_then(|(path, _)| enum_of(path))
                    .unwrap_or_default();
                let arms = arms
                    .iter()
                    .map(|(variant, target)| {
                        // The variant's serialised name is only known once the code runs;
                        // the expander emits it from this path.
                        let key = variant.to_token_stream().to_string();
                        self.variants.insert(key.clone(), variant.clone());
                        Arm {
                            condition: Condition::Compare {
                                field: field.clone(),
                                op: CompareOp::Eq,
                                value: Literal::String(key),
                            },
                            target: self.target(id, target, Carries::Input),
                        }
                    })
                    .collect();
                let default = default.as_ref().map(|t| self.target(id, t, Carries::Input));
                StepKind::Branch {
                    arms,
                    default,
                    exhaustive_enum: Some(enum_name),
                }
            }
            KindDecl::Loop { settings, .. } => {
                self.no_modifiers(decl, "loop");
                let mut settings = Settings::new(id, settings);
                let max_iterations = match settings.take(self, "max", Some(Setting::MaxIterations))
                {
                    Some(v) => self.u32(v).unwrap_or(1),
                    None => {
                        self.cx
                            .error_at(decl.kind.span(), "a loop needs its bound: `loop(max = N)`");
                        1
                    }
                };
                let exhausted = settings
                    .take(self, "exhausted", None)
                    .map(|v| self.target_expr(id, v, Carries::Input))
                    .unwrap_or(Target::Fail);
                settings.finish(self, "loop", &["max", "exhausted"]);
                let next = self.next(id, decl, Carries::Input);
                StepKind::Loop {
                    max_iterations,
                    next,
                    exhausted,
                }
            }
            KindDecl::Approval { settings, .. } => {
                self.only_when(decl, "approval");
                let mut settings = Settings::new(id, settings);
                let subject = settings
                    .take(self, "subject", None)
                    .and_then(|v| self.string(v))
                    .unwrap_or_else(|| format!("Approve `{}`", decl.name));
                let timeout_seconds = match settings.take(self, "timeout", Some(Setting::Timeout)) {
                    Some(v) => self.u32(v).unwrap_or(1),
                    None => {
                        self.cx.error_at(
                            decl.kind.span(),
                            "an approval gate needs `timeout = <seconds>`: nobody should wait forever",
                        );
                        1
                    }
                };
                let heartbeat_seconds = settings
                    .take(self, "heartbeat", Some(Setting::Heartbeat))
                    .and_then(|v| self.u32(v));
                let choices = settings
                    .take(self, "choices", Some(Setting::Choices))
                    .map(|v| self.strings(v))
                    .unwrap_or_default();
                let approvers = settings
                    .take(self, "approvers", None)
                    .map(|v| self.strings(v))
                    .unwrap_or_default();
                let on_reject = settings
                    .take(self, "on_reject", None)
                    .map(|v| self.target_expr(id, v, Carries::Approved))
                    .unwrap_or(Target::Fail);
                let on_timeout = settings
                    .take(self, "on_timeout", None)
                    .map(|v| self.target_expr(id, v, Carries::Input))
                    .unwrap_or(Target::Fail);
                settings.finish(
                    self,
                    "approval",
                    &[
                        "subject",
                        "timeout",
                        "heartbeat",
                        "choices",
                        "approvers",
                        "on_reject",
                        "on_timeout",
                    ],
                );
                let next = self.next(id, decl, Carries::Approved);
                StepKind::Approval(ApprovalGate {
                    subject,
                    timeout_seconds,
                    heartbeat_seconds,
                    choices,
                    approvers,
                    on_reject,
                    on_timeout,
                    next,
                })
            }
        };
        if when.is_some() {
            // A skipped step hands its input straight to its next step.
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
        Step {
            name: decl.name.to_string(),
            kind,
            when,
        }
    }

    fn guard(&mut self, modifiers: &Modifiers) -> Option<Condition> {
        for (token, _) in modifiers.when.iter().skip(1) {
            self.cx.error_spanned_by(
                token,
                "one `.when(...)` per step; combine conditions with `&&`",
            );
        }
        modifiers
            .when
            .first()
            .and_then(|(_, expr)| self.condition(expr))
    }

    fn call(&mut self, id: StepId, path: &Path, modifiers: &Modifiers) -> AgentCall {
        for unknown in &modifiers.unknown {
            self.cx.error_spanned_by(
                unknown,
                format!("unknown modifier `.{unknown}(...)`; expected `.retry`, `.catch`, `.timeout` or `.when`"),
            );
        }
        let agent = self.agent(path);
        let retry = modifiers
            .retry
            .iter()
            .enumerate()
            .map(|(i, (_, settings))| self.retry(id, i, settings))
            .collect();
        for (token, _) in modifiers.timeout.iter().skip(1) {
            self.cx
                .error_spanned_by(token, "one `.timeout(...)` per agent");
        }
        let timeout_seconds = modifiers.timeout.first().and_then(|(_, value)| {
            self.spans
                .insert(Locus::Setting(id, Setting::Timeout), value.span());
            self.u32(value)
        });
        AgentCall {
            agent,
            input_type: String::new(),
            output_type: String::new(),
            retry,
            timeout_seconds,
        }
    }

    fn agent(&mut self, path: &Path) -> String {
        let name = path
            .segments
            .last()
            .map(|s| unraw(&s.ident))
            .unwrap_or_default();
        match self.agents.get(&name) {
            Some(known)
                if known.to_token_stream().to_string() != path.to_token_stream().to_string() =>
            {
                self.cx.error_spanned_by(
                    path,
                    format!("two different agents are named `{name}`; agent names are global (they name Lambda functions)"),
                );
            }
            Some(_) => {}
            None => {
                self.agents.insert(name.clone(), path.clone());
            }
        }
        name
    }

    fn branch(&mut self, id: StepId, decl: &BranchDecl, index: usize) -> Branch {
        self.spans
            .insert(Locus::Setting(id, Setting::Branch(index)), decl.name.span());
        for token in decl
            .modifiers
            .catch
            .iter()
            .map(|(t, _)| t)
            .chain(decl.modifiers.when.iter().map(|(t, _)| t))
        {
            self.cx.error_spanned_by(
                token,
                format!("`.{token}(...)` applies to whole steps, not to one branch"),
            );
        }
        Branch {
            name: decl.name.to_string(),
            call: self.call(id, &decl.agent, &decl.modifiers),
        }
    }

    fn retry(&mut self, id: StepId, index: usize, settings: &[SettingDecl]) -> Retry {
        use switchyard_ir::RetryKey as K;
        let at = |key| Setting::Retry(index, key);
        let mut s = Settings::new(id, settings);
        let errors = s
            .take(self, "on", Some(at(K::Errors)))
            .map(|v| self.strings(v))
            .unwrap_or_else(|| DEFAULT_RETRY_ON.iter().map(|e| e.to_string()).collect());
        let interval_seconds = s
            .take(self, "interval", Some(at(K::Interval)))
            .and_then(|v| self.u32(v))
            .unwrap_or(1);
        let max_attempts = s
            .take(self, "max_attempts", Some(at(K::MaxAttempts)))
            .and_then(|v| self.u32(v))
            .unwrap_or(3);
        let backoff_rate = s
            .take(self, "backoff", Some(at(K::Backoff)))
            .and_then(|v| self.f64(v))
            .unwrap_or(2.0);
        let max_delay_seconds = s
            .take(self, "max_delay", Some(at(K::MaxDelay)))
            .and_then(|v| self.u32(v));
        let jitter = s
            .take(self, "jitter", None)
            .and_then(|v| self.bool(v))
            .unwrap_or(false);
        s.finish(
            self,
            "retry",
            &[
                "on",
                "interval",
                "max_attempts",
                "backoff",
                "max_delay",
                "jitter",
            ],
        );
        Retry {
            errors,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter,
        }
    }

    fn catch(&mut self, id: StepId, modifiers: &Modifiers) -> Option<Catch> {
        for (token, _) in modifiers.catch.iter().skip(1) {
            self.cx.error_spanned_by(
                token,
                "one `.catch(...)` per step; list several error names in `on`",
            );
        }
        let (token, settings) = modifiers.catch.first()?;
        let mut s = Settings::new(id, settings);
        let errors = s
            .take(self, "on", Some(Setting::CatchErrors))
            .map(|v| self.strings(v))
            .unwrap_or_else(|| vec!["States.ALL".to_owned()]);
        let fallback = match s.take(self, "then", None) {
            Some(v) => self.target_expr(id, v, Carries::Input),
            None => {
                self.cx.error_spanned_by(
                    token,
                    "`.catch(...)` needs `then = <step>`: where the run goes on failure",
                );
                Target::Fail
            }
        };
        s.finish(self, "catch", &["on", "then"]);
        Some(Catch { errors, fallback })
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

    fn condition(&mut self, expr: &Expr) -> Option<Condition> {
        match expr {
            Expr::Paren(inner) => self.condition(&inner.expr),
            Expr::Unary(u) if matches!(u.op, UnOp::Not(_)) => {
                Some(Condition::Not(Box::new(self.condition(&u.expr)?)))
            }
            Expr::Binary(b) if matches!(b.op, BinOp::And(_) | BinOp::Or(_)) => {
                let left = self.condition(&b.left);
                let right = self.condition(&b.right);
                let (left, right) = (left?, right?);
                let is_and = matches!(b.op, BinOp::And(_));
                let mut parts = Vec::new();
                for side in [left, right] {
                    match (side, is_and) {
                        (Condition::And(inner), true) | (Condition::Or(inner), false) => {
                            parts.extend(inner)
                        }
                        (other, _) => parts.push(other),
                    }
                }
                Some(if is_and {
                    Condition::And(parts)
                } else {
                    Condition::Or(parts)
                })
            }
            Expr::Binary(b) => {
                let op = match b.op {
                    BinOp::Eq(_) => CompareOp::Eq,
                    BinOp::Ne(_) => CompareOp::Ne,
                    BinOp::Lt(_) => CompareOp::Lt,
                    BinOp::Le(_) => CompareOp::Le,
                    BinOp::Gt(_) => CompareOp::Gt,
                    BinOp::Ge(_) => CompareOp::Ge,
                    _ => {
                        self.cx.error_spanned_by(b.op, "conditions compare a field with a literal (`==`, `!=`, `<`, `<=`, `>`, `>=`) and combine with `&&`, `||`, `!`");
                        return None;
                    }
                };
                let field = self.field_path(&b.left)?;
                let value = self.literal(&b.right)?;
                Some(Condition::Compare { field, op, value })
            }
            Expr::Path(_) | Expr::Field(_) => Some(Condition::Compare {
                field: self.field_path(expr)?,
                op: CompareOp::Eq,
                value: Literal::Bool(true),
            }),
            other => {
                self.cx.error_spanned_by(other, "a condition is `field OP literal` (or a bool field), combined with `&&`, `||`, `!`");
                None
            }
        }
    }

    fn field_path(&mut self, expr: &Expr) -> Option<FieldPath> {
        match expr {
            Expr::Path(p) if p.path.get_ident().is_some() && p.qself.is_none() => {
                Some(FieldPath(vec![unraw(p.path.get_ident()?)]))
            }
            Expr::Field(f) => {
                let mut path = self.field_path(&f.base)?;
                path.0.push(match &f.member {
                    Member::Named(ident) => unraw(ident),
                    Member::Unnamed(index) => index.index.to_string(),
                });
                Some(path)
            }
            other => {
                self.cx.error_spanned_by(
                    other,
                    "expected a field of the step's input, like `total` or `order.total`",
                );
                None
            }
        }
    }

    fn literal(&mut self, expr: &Expr) -> Option<Literal> {
        let (negative, lit) = match expr {
            Expr::Lit(l) => (false, &l.lit),
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => match &*u.expr {
                Expr::Lit(l) => (true, &l.lit),
                other => return self.not_literal(other),
            },
            other => return self.not_literal(other),
        };
        let sign = if negative { -1 } else { 1 };
        let value = match lit {
            Lit::Int(i) => {
                Literal::Integer(sign * i.base10_parse::<i64>().map_err(|e| self.cx.push(e)).ok()?)
            }
            Lit::Float(f) => Literal::Float(
                sign as f64 * f.base10_parse::<f64>().map_err(|e| self.cx.push(e)).ok()?,
            ),
            Lit::Str(s) if !negative => Literal::String(s.value()),
            Lit::Bool(b) if !negative => Literal::Bool(b.value),
            _ => return self.not_literal(expr),
        };
        Some(value)
    }

    fn not_literal<T>(&mut self, expr: &Expr) -> Option<T> {
        self.cx
            .error_spanned_by(expr, "expected a literal (number, string or bool)");
        None
    }

    fn u32(&mut self, expr: &Expr) -> Option<u32> {
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(i), ..
            }) => match i.base10_parse::<u32>() {
                Ok(v) => Some(v),
                Err(_) => {
                    self.cx
                        .error_spanned_by(i, "expected a whole number that fits in 32 bits");
                    None
                }
            },
            other => {
                self.cx.error_spanned_by(
                    other,
                    "expected a whole number (seconds, counts are never negative)",
                );
                None
            }
        }
    }

    fn f64(&mut self, expr: &Expr) -> Option<f64> {
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Float(f), ..
            }) => f.base10_parse().map_err(|e| self.cx.push(e)).ok(),
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(i), ..
            }) => i.base10_parse().map_err(|e| self.cx.push(e)).ok(),
            other => {
                self.cx.error_spanned_by(other, "expected a number");
                None
            }
        }
    }

    fn bool(&mut self, expr: &Expr) -> Option<bool> {
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Bool(b), ..
            }) => Some(b.value),
            other => {
                self.cx
                    .error_spanned_by(other, "expected `true` or `false`");
                None
            }
        }
    }

    fn string(&mut self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s.value()),
            other => {
                self.cx.error_spanned_by(other, "expected a string literal");
                None
            }
        }
    }

    fn strings(&mut self, expr: &Expr) -> Vec<String> {
        match expr {
            Expr::Array(array) => array.elems.iter().filter_map(|e| self.string(e)).collect(),
            other => {
                self.cx
                    .error_spanned_by(other, "expected a list of strings: `[\"a\", \"b\"]`");
                Vec::new()
            }
        }
    }
}

/// The settings of one `key = value` list, consumed key by key.
struct Settings<'a> {
    step: StepId,
    entries: &'a [SettingDecl],
    used: Vec<bool>,
}

impl<'a> Settings<'a> {
    fn new(step: StepId, entries: &'a [SettingDecl]) -> Self {
        Settings {
            step,
            entries,
            used: vec![false; entries.len()],
        }
    }

    /// The value of `key`, remembering its span for errors about `setting`.
    fn take(
        &mut self,
        lower: &mut Lowerer<'_>,
        key: &str,
        setting: Option<Setting>,
    ) -> Option<&'a Expr> {
        let mut found = None;
        for (i, entry) in self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.key == key)
        {
            if found.is_some() {
                lower
                    .cx
                    .error_spanned_by(&entry.key, format!("`{key}` is set twice"));
            }
            self.used[i] = true;
            found.get_or_insert(&entry.value);
        }
        if let (Some(value), Some(setting)) = (found, setting) {
            lower
                .spans
                .insert(Locus::Setting(self.step, setting), value.span());
        }
        found
    }

    fn finish(self, lower: &mut Lowerer<'_>, what: &str, known: &[&str]) {
        for (entry, used) in self.entries.iter().zip(self.used) {
            if !used {
                lower.cx.error_spanned_by(
                    &entry.key,
                    format!(
                        "unknown {what} setting `{}`; expected one of: {}",
                        entry.key,
                        known.join(", ")
                    ),
                );
            }
        }
    }
}

/// `Verdict` from an arm `Verdict::A`.
fn enum_of(variant: &Path) -> Option<String> {
    let segments: Vec<String> = variant
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    (segments.len() > 1).then(|| segments[..segments.len() - 1].join("::"))
}
