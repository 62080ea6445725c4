//! Conditions (`.when(...)` and `branch` arms), the field paths they read and the literals
//! they compare with.

use switchyard_ir::{CompareOp, Condition, FieldPath, Literal};
use syn::{BinOp, Expr, Lit, Member, UnOp};

use super::Lowerer;
use crate::shape::unraw;
use crate::workflow::ast::Modifiers;

impl Lowerer<'_> {
    pub(super) fn guard(&mut self, modifiers: &Modifiers) -> Option<Condition> {
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

    pub(super) fn condition(&mut self, expr: &Expr) -> Option<Condition> {
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

    pub(super) fn field_path(&mut self, expr: &Expr) -> Option<FieldPath> {
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
}
