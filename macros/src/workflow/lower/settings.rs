//! `key = value` settings lists, the values in them, and the `.retry(...)` and `.catch(...)`
//! modifiers built from them.

use switchyard_ir::{Budget, BudgetLimit, Catch, Locus, Retry, Setting, StepId, Target};
use syn::spanned::Spanned;
use syn::{Expr, Lit};

use super::{Carries, Lowerer};
use crate::workflow::ast::{BudgetDecl, Modifiers, SettingDecl};

/// Error names retried when `.retry(...)` lists none.
const DEFAULT_RETRY_ON: &[&str] = &[
    "Agent.Retryable",
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "States.Timeout",
];

/// The settings of one `key = value` list, consumed key by key.
pub(super) struct Settings<'a> {
    step: StepId,
    entries: &'a [SettingDecl],
    used: Vec<bool>,
}

impl<'a> Settings<'a> {
    pub(super) fn new(step: StepId, entries: &'a [SettingDecl]) -> Self {
        Settings {
            step,
            entries,
            used: vec![false; entries.len()],
        }
    }

    /// The value of `key`, remembering its span for errors about `setting`.
    pub(super) fn take(
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

    pub(super) fn finish(self, lower: &mut Lowerer<'_>, what: &str, known: &[&str]) {
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

impl Lowerer<'_> {
    pub(super) fn retry(&mut self, id: StepId, index: usize, settings: &[SettingDecl]) -> Retry {
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

    pub(super) fn catch(&mut self, id: StepId, modifiers: &Modifiers) -> Option<Catch> {
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

    /// `budget(tokens = N, usd = X)`: checked by the rule the Run API checks a budget given
    /// at start by, each problem at the value it is about.
    pub(super) fn budget(&mut self, clauses: &[BudgetDecl]) -> Option<Budget> {
        for clause in clauses.iter().skip(1) {
            self.cx.error_spanned_by(
                &clause.token,
                "one `budget(...)` per workflow: set `tokens` and `usd` in the first",
            );
        }
        let clause = clauses.first()?;
        let before = self.cx.error_count();
        // Budget errors belong to the whole workflow, not to a step's settings.
        let mut s = Settings::new(StepId(0), &clause.settings);
        let tokens = s.take(self, "tokens", None);
        let usd = s.take(self, "usd", None);
        let budget = Budget {
            tokens: tokens.and_then(|v| self.token_limit(v)),
            usd: usd.and_then(|v| self.number(v)),
        };
        s.finish(self, "budget", &["tokens", "usd"]);
        if self.cx.error_count() > before {
            return None;
        }
        for problem in budget.problems() {
            match (problem.limit, tokens, usd) {
                (BudgetLimit::Tokens, Some(value), _) | (BudgetLimit::Usd, _, Some(value)) => {
                    self.cx.error_spanned_by(value, problem)
                }
                _ => self.cx.error_spanned_by(&clause.token, problem),
            }
        }
        (self.cx.error_count() == before).then_some(budget)
    }

    fn token_limit(&mut self, expr: &Expr) -> Option<u64> {
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(i), ..
            }) => match i.base10_parse::<u64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    self.cx
                        .error_spanned_by(i, "expected a whole number that fits in 64 bits");
                    None
                }
            },
            other => {
                self.cx.error_spanned_by(
                    other,
                    format!(
                        "a token budget is a whole number from 1 to {}",
                        Budget::MAX_TOKENS
                    ),
                );
                None
            }
        }
    }

    /// A number literal, negative ones included (the caller's rule says what is allowed).
    fn number(&mut self, expr: &Expr) -> Option<f64> {
        match expr {
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Neg(_),
                expr: inner,
                ..
            }) if matches!(**inner, Expr::Lit(_)) => self.f64(inner).map(|v| -v),
            other => self.f64(other),
        }
    }

    pub(super) fn u32(&mut self, expr: &Expr) -> Option<u32> {
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

    pub(super) fn string(&mut self, expr: &Expr) -> Option<String> {
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

    pub(super) fn strings(&mut self, expr: &Expr) -> Vec<String> {
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
