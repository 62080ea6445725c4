//! One function per step kind, and the agent calls that tasks, `parallel` branches and `map`
//! items make.

use quote::ToTokens;
use switchyard_ir::{
    AgentCall, ApprovalGate, Arm, Branch, CompareOp, Condition, FieldPath, Literal, Locus, Setting,
    StepId, StepKind, SummaryField, Target,
};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Path};

use super::settings::Settings;
use super::{Carries, Lowerer};
use crate::shape::unraw;
use crate::workflow::ast::{BranchDecl, Modifiers, SettingDecl, StepDecl, SummaryDecl};

impl Lowerer<'_> {
    /// `name = some::agent`
    pub(super) fn agent_step(&mut self, id: StepId, decl: &StepDecl, path: &Path) -> StepKind {
        let call = self.call(id, path, &decl.modifiers);
        let catch = self.catch(id, &decl.modifiers);
        let next = self.next(id, decl, Carries::Output);
        StepKind::Task { call, catch, next }
    }

    /// `name = parallel { a = agent_a, b = agent_b }`
    pub(super) fn parallel_step(
        &mut self,
        id: StepId,
        decl: &StepDecl,
        token: &Ident,
        branches: &[BranchDecl],
    ) -> StepKind {
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

    /// `name = map(items.field, max_concurrency = 4) { item = agent }`
    pub(super) fn map_step(
        &mut self,
        id: StepId,
        decl: &StepDecl,
        items: &Expr,
        settings: &[SettingDecl],
        item: &BranchDecl,
    ) -> StepKind {
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

    /// `name = branch { total > 5000.0 => a, _ => b }`
    pub(super) fn branch_step(
        &mut self,
        id: StepId,
        decl: &StepDecl,
        arms: &[(Expr, Ident)],
        default: Option<&Ident>,
    ) -> StepKind {
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
        let default = default.map(|t| self.target(id, t, Carries::Input));
        StepKind::Branch {
            arms,
            default,
            exhaustive_enum: None,
        }
    }

    /// `name = match field { Enum::A => a, Enum::B => b }`
    pub(super) fn match_step(
        &mut self,
        id: StepId,
        decl: &StepDecl,
        scrutinee: &Expr,
        arms: &[(Path, Ident)],
        default: Option<&Ident>,
    ) -> StepKind {
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
        let default = default.map(|t| self.target(id, t, Carries::Input));
        StepKind::Branch {
            arms,
            default,
            exhaustive_enum: Some(enum_name),
        }
    }

    /// `name = loop(max = 3, exhausted = fail)`
    pub(super) fn loop_step(
        &mut self,
        id: StepId,
        decl: &StepDecl,
        settings: &[SettingDecl],
    ) -> StepKind {
        self.no_modifiers(decl, "loop");
        let mut settings = Settings::new(id, settings);
        let max_iterations = match settings.take(self, "max", Some(Setting::MaxIterations)) {
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

    /// `name = approval(subject = "...", timeout = 86400, on_reject = fail, ...)`
    pub(super) fn approval_step(
        &mut self,
        id: StepId,
        decl: &StepDecl,
        settings: &[SettingDecl],
        summary: &[SummaryDecl],
    ) -> StepKind {
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
                "summary",
            ],
        );
        let summary = self.summary(id, summary);
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
            summary,
        })
    }

    /// `summary = [strategy.headline as "Headline", budget_usd]`: each field's path as Rust
    /// names it (the expander resolves it through the input's shape) and its label.
    fn summary(&mut self, id: StepId, decls: &[SummaryDecl]) -> Vec<SummaryField> {
        for decl in decls.iter().skip(1) {
            self.cx
                .error_spanned_by(&decl.key, "`summary` is set twice");
        }
        let Some(decl) = decls.first() else {
            return Vec::new();
        };
        if decl.fields.is_empty() {
            self.cx.error_spanned_by(
                &decl.key,
                "an empty summary shows nothing: list the fields an approver should read first, or remove `summary`",
            );
        }
        let mut fields = Vec::new();
        for field in &decl.fields {
            let Some(path) = self.field_path(&field.path) else {
                continue;
            };
            // A label is reported where it comes from: as written, or the field's name.
            let span = match (&field.label, &field.path) {
                (Some(label), _) => label.span(),
                (None, Expr::Field(named)) => named.member.span(),
                (None, path) => path.span(),
            };
            self.spans
                .insert(Locus::Setting(id, Setting::Summary(fields.len())), span);
            let label = match &field.label {
                Some(label) => label.value(),
                None => default_label(&path),
            };
            fields.push(SummaryField { label, path });
        }
        fields
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

    /// A named agent call of a `parallel` step or a `map` step's item.
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
}

/// A summary field's label when it has none: its name in words (`budget_usd` → `Budget usd`);
/// a tuple position keeps its parent's name (`pair.0` → `Pair 0`).
fn default_label(path: &FieldPath) -> String {
    let parts = &path.0;
    let last = parts.len().saturating_sub(1);
    let position = parts
        .get(last)
        .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    let from = if position {
        last.saturating_sub(1)
    } else {
        last
    };
    let words = parts[from..].join(" ").replace('_', " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
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
