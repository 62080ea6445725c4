//! Code generation: the `WorkflowDef` impl that rebuilds the IR at run time, its
//! registration, and the assertions through which rustc type-checks every edge,
//! condition and map at the user's tokens.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use switchyard_ir::{
    AgentCall, ApprovalGate, CompareOp, Condition, FieldPath, Literal, Retry, Step, StepId,
    StepKind, Target,
};
use syn::spanned::Spanned;
use syn::{Expr, Member};

use super::ast::{KindDecl, StepDecl, SummaryDecl, WorkflowDecl};
use super::lower::{Carries, Lowered};
use crate::ctxt::Ctxt;

fn sdk() -> TokenStream {
    quote!(::switchyard_sdk)
}

/// The workflow's type, its `WorkflowDef` impl and its registration.
pub fn workflow(decl: &WorkflowDecl, lowered: &Lowered, checked: Checked) -> TokenStream {
    let sdk = sdk();
    let Checked { checks, inputs } = checked;
    let body = Emitter {
        lowered,
        decl,
        inputs: &inputs,
    }
    .workflow();
    let header = header(decl);
    let ident = &decl.ident;
    let name = &lowered.ir.name;
    let input = &decl.input;
    let unique = crate::agent::unique_name_marker("workflow", name, ident.span());
    quote! {
        #header

        #unique

        impl #sdk::WorkflowDef for #ident {
            type Input = #input;
            const NAME: &'static str = #name;
            fn definition() -> #sdk::ir::Workflow {
                #body
            }
        }

        #sdk::__private::inventory::submit! {
            #sdk::WorkflowRegistration {
                name: #name,
                definition: <#ident as #sdk::WorkflowDef>::definition,
                check_input: #sdk::__private::check_input::<#input>,
            }
        }

        #checks
    }
}

fn header(decl: &WorkflowDecl) -> TokenStream {
    let attrs = &decl.attrs;
    let vis = &decl.vis;
    let ident = &decl.ident;
    quote! {
        #(#attrs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident;
    }
}

/// After errors: the type still exists, so uses of it add no noise to the real errors.
pub fn fallback(decl: &WorkflowDecl) -> TokenStream {
    let sdk = sdk();
    let header = header(decl);
    let ident = &decl.ident;
    let input = &decl.input;
    let name = super::lower::kebab_case(&ident.to_string());
    quote! {
        #header
        impl #sdk::WorkflowDef for #ident {
            type Input = #input;
            const NAME: &'static str = #name;
            fn definition() -> #sdk::ir::Workflow {
                unreachable!("the workflow declaration has errors")
            }
        }
    }
}

/// Rebuilds the lowered IR as Rust expressions, resolving what only the running program
/// knows: agent names, type names and enum variants' serialised names.
struct Emitter<'a> {
    lowered: &'a Lowered,
    decl: &'a WorkflowDecl,
    /// The Rust type of each step's input, where known.
    inputs: &'a HashMap<StepId, TokenStream>,
}

impl Emitter<'_> {
    fn workflow(&self) -> TokenStream {
        let sdk = sdk();
        let ir = &self.lowered.ir;
        let name = &ir.name;
        let comment = option(ir.comment.as_ref().map(|c| quote!(#c.to_owned())));
        let input = &self.decl.input;
        let start = step_id(ir.start);
        let steps = ir
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| self.step(StepId(i as u32), s));
        let budget = option(ir.budget.map(|budget| {
            let tokens = option(budget.tokens.map(|t| quote!(#t)));
            let usd = option(budget.usd.map(|u| quote!(#u)));
            quote!(#sdk::ir::Budget { tokens: #tokens, usd: #usd })
        }));
        quote! {
            #sdk::ir::Workflow {
                name: #name.to_owned(),
                comment: #comment,
                input_type: #sdk::__private::type_name::<#input>(),
                start: #start,
                steps: ::std::vec![#(#steps),*],
                budget: #budget,
            }
        }
    }

    fn step(&self, id: StepId, step: &Step) -> TokenStream {
        let sdk = sdk();
        let name = &step.name;
        let input = self.inputs.get(&id);
        let when = option(step.when.as_ref().map(|c| condition(c, input)));
        let kind = self.kind(&step.kind, input);
        quote!(#sdk::ir::Step { name: #name.to_owned(), kind: #kind, when: #when })
    }

    fn kind(&self, kind: &StepKind, input: Option<&TokenStream>) -> TokenStream {
        let ir = quote!(::switchyard_sdk::ir);
        match kind {
            StepKind::Task { call, catch, next } => {
                let call = self.call(call);
                let catch = option(catch.as_ref().map(|c| {
                    let errors = strings(&c.errors);
                    let fallback = target(c.fallback);
                    quote!(#ir::Catch { errors: #errors, fallback: #fallback })
                }));
                let next = target(*next);
                quote!(#ir::StepKind::Task { call: #call, catch: #catch, next: #next })
            }
            StepKind::Parallel { branches, next } => {
                let branches = branches.iter().map(|b| self.branch(b));
                let next = target(*next);
                quote!(#ir::StepKind::Parallel { branches: ::std::vec![#(#branches),*], next: #next })
            }
            StepKind::Map {
                items,
                item,
                max_concurrency,
                max_items,
                next,
            } => {
                let items = json_path(items, input);
                let item = self.branch(item);
                let max_items = option(max_items.map(|n| quote!(#n)));
                let next = target(*next);
                quote!(#ir::StepKind::Map {
                    items: #items,
                    item: #item,
                    max_concurrency: #max_concurrency,
                    max_items: #max_items,
                    next: #next,
                })
            }
            StepKind::Branch {
                arms,
                default,
                exhaustive_enum,
            } => {
                let arms = arms.iter().map(|arm| {
                    let condition = match (&arm.condition, exhaustive_enum) {
                        (
                            Condition::Compare {
                                field,
                                value: Literal::String(variant),
                                ..
                            },
                            Some(_),
                        ) => {
                            let variant = variant_ident(&self.lowered.variants[variant]);
                            let parts = &field.0;
                            let ty = input.cloned().unwrap_or_else(|| quote!(()));
                            quote!({
                                let (field, value) = ::switchyard_sdk::shape::variant_rule::<#ty>(
                                    &[#(#parts),*],
                                    #variant,
                                );
                                #ir::Condition::Compare {
                                    field: #ir::FieldPath(field),
                                    op: #ir::CompareOp::Eq,
                                    value: #ir::Literal::String(value),
                                }
                            })
                        }
                        (other, _) => condition(other, input),
                    };
                    let target = target(arm.target);
                    quote!(#ir::Arm { condition: #condition, target: #target })
                });
                let default = option(default.map(target));
                let exhaustive = option(exhaustive_enum.as_ref().map(|e| quote!(#e.to_owned())));
                quote!(#ir::StepKind::Branch {
                    arms: ::std::vec![#(#arms),*],
                    default: #default,
                    exhaustive_enum: #exhaustive,
                })
            }
            StepKind::Loop {
                max_iterations,
                next,
                exhausted,
            } => {
                let next = target(*next);
                let exhausted = target(*exhausted);
                quote!(#ir::StepKind::Loop {
                    max_iterations: #max_iterations,
                    next: #next,
                    exhausted: #exhausted,
                })
            }
            StepKind::Approval(gate) => {
                let ApprovalGate {
                    subject,
                    timeout_seconds,
                    heartbeat_seconds,
                    choices,
                    approvers,
                    on_reject,
                    on_timeout,
                    next,
                    summary,
                } = gate;
                let summary = summary.iter().map(|field| {
                    let label = &field.label;
                    let path = summary_path(&field.path, input);
                    quote!(#ir::SummaryField { label: #label.to_owned(), path: #path })
                });
                let heartbeat = option(heartbeat_seconds.map(|h| quote!(#h)));
                let choices = strings(choices);
                let approvers = strings(approvers);
                let (on_reject, on_timeout, next) =
                    (target(*on_reject), target(*on_timeout), target(*next));
                quote!(#ir::StepKind::Approval(#ir::ApprovalGate {
                    subject: #subject.to_owned(),
                    timeout_seconds: #timeout_seconds,
                    heartbeat_seconds: #heartbeat,
                    choices: #choices,
                    approvers: #approvers,
                    on_reject: #on_reject,
                    on_timeout: #on_timeout,
                    next: #next,
                    summary: ::std::vec![#(#summary),*],
                }))
            }
        }
    }

    fn branch(&self, branch: &switchyard_ir::Branch) -> TokenStream {
        let name = &branch.name;
        let call = self.call(&branch.call);
        quote!(::switchyard_sdk::ir::Branch { name: #name.to_owned(), call: #call })
    }

    fn call(&self, call: &AgentCall) -> TokenStream {
        let sdk = sdk();
        let path = &self.lowered.agents[&call.agent];
        let retry = call.retry.iter().map(retry);
        let timeout = option(call.timeout_seconds.map(|t| quote!(#t)));
        quote!(#sdk::ir::AgentCall {
            agent: <#path as #sdk::Agent>::NAME.to_owned(),
            input_type: #sdk::__private::type_name::<<#path as #sdk::Agent>::Input>(),
            output_type: #sdk::__private::type_name::<<#path as #sdk::Agent>::Output>(),
            retry: ::std::vec![#(#retry),*],
            timeout_seconds: #timeout,
        })
    }
}

fn retry(retry: &Retry) -> TokenStream {
    let Retry {
        errors,
        interval_seconds,
        max_attempts,
        backoff_rate,
        max_delay_seconds,
        jitter,
    } = retry;
    let errors = strings(errors);
    let max_delay = option(max_delay_seconds.map(|d| quote!(#d)));
    quote!(::switchyard_sdk::ir::Retry {
        errors: #errors,
        interval_seconds: #interval_seconds,
        max_attempts: #max_attempts,
        backoff_rate: #backoff_rate,
        max_delay_seconds: #max_delay,
        jitter: #jitter,
    })
}

fn condition(cond: &Condition, input: Option<&TokenStream>) -> TokenStream {
    let ir = quote!(::switchyard_sdk::ir);
    match cond {
        Condition::Compare { field, op, value } => {
            let field = json_path(field, input);
            let op = match op {
                CompareOp::Eq => quote!(Eq),
                CompareOp::Ne => quote!(Ne),
                CompareOp::Lt => quote!(Lt),
                CompareOp::Le => quote!(Le),
                CompareOp::Gt => quote!(Gt),
                CompareOp::Ge => quote!(Ge),
            };
            let value = match value {
                Literal::Bool(b) => quote!(#ir::Literal::Bool(#b)),
                Literal::Integer(i) => quote!(#ir::Literal::Integer(#i)),
                Literal::Float(f) => quote!(#ir::Literal::Float(#f)),
                Literal::String(s) => quote!(#ir::Literal::String(#s.to_owned())),
            };
            quote!(#ir::Condition::Compare { field: #field, op: #ir::CompareOp::#op, value: #value })
        }
        Condition::And(all) => {
            let all = all.iter().map(|c| condition(c, input));
            quote!(#ir::Condition::And(::std::vec![#(#all),*]))
        }
        Condition::Or(all) => {
            let all = all.iter().map(|c| condition(c, input));
            quote!(#ir::Condition::Or(::std::vec![#(#all),*]))
        }
        Condition::Not(inner) => {
            let inner = condition(inner, input);
            quote!(#ir::Condition::Not(::std::boxed::Box::new(#inner)))
        }
    }
}

/// The JSONPath serde gives a Rust field path on the step's input, resolved through the
/// input type's [`JsonShape`] when the compiler builds the definition.
fn json_path(path: &FieldPath, input: Option<&TokenStream>) -> TokenStream {
    let parts = &path.0;
    match input {
        Some(ty) => quote!(::switchyard_sdk::ir::FieldPath(
            ::switchyard_sdk::shape::json_path::<#ty>(&[#(#parts),*])
        )),
        None => quote!(::switchyard_sdk::ir::FieldPath(
            ::std::vec![#(#parts.to_owned()),*]
        )),
    }
}

/// The JSON path a gate's summary field reads, resolved like [`json_path`] but for the
/// approval-request function, which shows a missing value as missing.
fn summary_path(path: &FieldPath, input: Option<&TokenStream>) -> TokenStream {
    let parts = &path.0;
    match input {
        Some(ty) => quote!(::switchyard_sdk::ir::FieldPath(
            ::switchyard_sdk::shape::summary_path::<#ty>(&[#(#parts),*])
        )),
        None => quote!(::switchyard_sdk::ir::FieldPath(
            ::std::vec![#(#parts.to_owned()),*]
        )),
    }
}

/// `Approved` of `Verdict::Approved`, as serde's model names it.
fn variant_ident(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| crate::shape::unraw(&s.ident))
        .unwrap_or_default()
}

fn target(target: Target) -> TokenStream {
    let ir = quote!(::switchyard_sdk::ir);
    match target {
        Target::Step(id) => {
            let id = step_id(id);
            quote!(#ir::Target::Step(#id))
        }
        Target::End => quote!(#ir::Target::End),
        Target::Fail => quote!(#ir::Target::Fail),
    }
}

fn step_id(id: StepId) -> TokenStream {
    let index = id.0;
    quote!(::switchyard_sdk::ir::StepId(#index))
}

fn strings(values: &[String]) -> TokenStream {
    quote!(::std::vec![#(#values.to_owned()),*])
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote!(::std::option::Option::Some(#v)),
        None => quote!(::std::option::Option::None),
    }
}

/// What [`type_checks`] produces: the assertions, and each step's input type for the
/// emitter (which resolves JSON paths through it).
pub struct Checked {
    pub checks: TokenStream,
    pub inputs: HashMap<StepId, TokenStream>,
}

/// Assertions that make rustc check every edge, condition and map at the user's tokens —
/// as Rust (types, fields, exhaustiveness) and as the JSON serde writes (`const` checks over
/// each type's `JsonShape`, which fail the build with a message at the same tokens).
pub fn type_checks(decl: &WorkflowDecl, lowered: &Lowered, cx: &mut Ctxt) -> Checked {
    let mut types = Types {
        decl,
        lowered,
        inferred: HashMap::new(),
        visiting: HashSet::new(),
    };
    let sdk = sdk();
    let mut checks = Vec::new();
    let mut inputs = HashMap::new();

    // The run input feeds the first step, and the API starts runs with a JSON object.
    let input = decl.input.to_token_stream();
    let run_input = shape_of(&input);
    checks.push(shape_check(
        quote!(#sdk::shape::check_run_input(#run_input)),
        decl.input.span(),
    ));
    for (target, span) in types.accepted(StepId(0), decl.steps[0].name.span()) {
        checks.push(assert_flows(&input, &target, span));
    }

    for edge in &lowered.edges {
        let Some(carried) = types.carried(edge.from, edge.carries) else {
            continue;
        };
        for (target, span) in types.accepted(edge.to, edge.span) {
            checks.push(assert_flows(&carried, &target, span));
            if feeds_agent(decl, edge.to) {
                // What the JSON holds must be what the agent's input accepts (a gate adds
                // `approval`, and routing steps pass it on).
                let (from, to) = (shape_of(&carried), shape_of(&target));
                checks.push(shape_check(
                    quote!(#sdk::shape::check_flow(#from, #to)),
                    span,
                ));
            }
        }
    }
    let has_incoming = |id: StepId| id == StepId(0) || lowered.edges.iter().any(|e| e.to == id);

    for (i, step) in decl.steps.iter().enumerate() {
        let id = StepId(i as u32);
        if !has_incoming(id) {
            // Unreachable, already reported: there is no data to check.
            continue;
        }
        let Some(input) = types.input(id) else {
            cx.error_spanned_by(
                &step.name,
                format!("cannot tell what data reaches `{}`: every path into it starts from steps whose type depends on it", step.name),
            );
            continue;
        };
        inputs.insert(id, input.clone());
        let input_shape = shape_of(&input);
        if let Some((_, condition)) = step.modifiers.when.first() {
            checks.push(condition_check(&input, condition));
            checks.extend(condition_shape_checks(&input, condition));
        }
        match &step.kind {
            KindDecl::Branch { arms, .. } => {
                for (condition, _) in arms {
                    checks.push(condition_check(&input, condition));
                    checks.extend(condition_shape_checks(&input, condition));
                }
            }
            KindDecl::Match {
                token,
                scrutinee,
                arms,
                default,
            } => {
                let field = rewrite(scrutinee);
                let patterns = arms.iter().map(|(path, _)| path);
                let wildcard = default.as_ref().map(|_| quote!(_ => {}));
                // The arms keep their own spans, so an unknown or repeated variant is
                // reported where it is written. A repeated variant, or `_` after every
                // variant, is an arm no run takes: an error.
                let head = respan(
                    quote!(#[deny(unreachable_patterns)] let _ = |__input: &#input|),
                    token.span,
                );
                let span = token.span;
                checks.push(quote_spanned! {span=>
                    #head match #field {
                        #(#patterns => {})*
                        #wildcard
                    };
                });
                if let Some(rust_path) = rust_field_path(scrutinee) {
                    for (variant, _) in arms {
                        let name = variant_ident(variant);
                        checks.push(shape_check(
                            quote! {
                                match #sdk::shape::variant_test(#input_shape, &[#(#rust_path),*], #name) {
                                    ::std::result::Result::Ok(_) => ::std::option::Option::None,
                                    ::std::result::Result::Err(message) => ::std::option::Option::Some(message),
                                }
                            },
                            variant.span(),
                        ));
                    }
                }
            }
            KindDecl::Map { items, item, .. } => {
                let items_expr = rewrite(items);
                let agent = &item.agent;
                checks.push(respan(
                    quote! {
                        let _ = |__input: #input| #sdk::__private::assert_items::<_, <#agent as #sdk::Agent>::Input>(#items_expr);
                    },
                    items.span(),
                ));
                if let Some(rust_path) = rust_field_path(items) {
                    checks.push(shape_check(
                        quote!(#sdk::shape::check_map_items(#input_shape, &[#(#rust_path),*])),
                        items.span(),
                    ));
                }
            }
            KindDecl::Approval { token, summary, .. } => {
                checks.push(shape_check(
                    quote!(#sdk::shape::check_gate_subject(#input_shape)),
                    token.span(),
                ));
                if let Some(summary) = summary.first() {
                    checks.extend(summary_checks(&input, summary));
                }
            }
            _ => {}
        }
    }
    let checks = quote! {
        const _: () = {
            #[allow(dead_code, unused_variables, unreachable_patterns, clippy::all)]
            fn __switchyard_type_checks() {
                #(#checks)*
            }
        };
    };
    Checked { checks, inputs }
}

/// Whether the step at `id` hands its input to an agent as that agent's input type.
fn feeds_agent(decl: &WorkflowDecl, id: StepId) -> bool {
    matches!(
        decl.steps[id.index()].kind,
        KindDecl::Agent(_) | KindDecl::Parallel { .. }
    )
}

/// `&<T as JsonShape>::SHAPE`.
fn shape_of(ty: &TokenStream) -> TokenStream {
    quote!(&<#ty as ::switchyard_sdk::shape::JsonShape>::SHAPE)
}

/// A `const` item that fails the build with the check's message, at `span`.
fn shape_check(check: TokenStream, span: Span) -> TokenStream {
    respan(
        quote! {
            const _: () = if let ::std::option::Option::Some(message) = #check {
                ::std::panic!("{}", message.as_str())
            };
        },
        span,
    )
}

/// [`shape_check`] reported over all of `tokens` (a field path `a.b.c`) rather than its
/// first token: rustc reports the panic where its call starts and ends, so the call's path
/// takes the first token's span and its arguments the last's.
fn shape_check_over(check: TokenStream, tokens: TokenStream) -> TokenStream {
    let mut spans = tokens.into_iter().map(|tree| tree.span());
    let start = spans.next().unwrap_or_else(Span::call_site);
    let end = spans.last().unwrap_or(start);
    let mut panic = respan(quote!(::std::panic!), start);
    panic.extend(respan(quote!(("{}", message.as_str())), end));
    let mut body = Group::new(proc_macro2::Delimiter::Brace, panic);
    body.set_span(start);
    let mut item = respan(
        quote!(const _: () = if let ::std::option::Option::Some(message) = #check),
        start,
    );
    item.extend([TokenTree::Group(body)]);
    item.extend(respan(quote!(;), start));
    item
}

/// The shape checks of every `field OP literal` in a condition, each at its field.
fn condition_shape_checks(input: &TokenStream, condition: &Expr) -> Vec<TokenStream> {
    let mut leaves = Vec::new();
    condition_leaves(condition, &mut leaves);
    let input_shape = shape_of(input);
    leaves
        .into_iter()
        .filter_map(|(field, kind)| {
            let rust_path = rust_field_path(field)?;
            let (kind, text) = match kind {
                LeafKind::Bool => (quote!(Bool), String::new()),
                LeafKind::Number => (quote!(Number), String::new()),
                LeafKind::String(text) => (quote!(String), text),
            };
            Some(shape_check(
                quote!(::switchyard_sdk::shape::check_condition(
                    #input_shape,
                    &[#(#rust_path),*],
                    ::switchyard_sdk::shape::LiteralKind::#kind,
                    #text,
                )),
                field.span(),
            ))
        })
        .collect()
}

/// A gate's summary fields, each checked at its path: as Rust (the field exists; rustc
/// suggests near names) and as serde's JSON (the value can be shown, and no other field
/// shows it).
fn summary_checks(input: &TokenStream, summary: &SummaryDecl) -> Vec<TokenStream> {
    let input_shape = shape_of(input);
    let paths: Vec<(&Expr, Vec<String>)> = summary
        .fields
        .iter()
        .filter_map(|field| Some((&field.path, rust_field_path(&field.path)?)))
        .collect();
    let all = paths.iter().map(|(_, parts)| quote!(&[#(#parts),*]));
    let all = quote!(&[#(#all),*]);
    paths
        .iter()
        .enumerate()
        .flat_map(|(index, (path, _))| {
            let access = rewrite(path);
            let rust = respan(input.clone(), path.span());
            [
                quote!(let _ = |__input: &#rust| { let _ = &#access; };),
                shape_check_over(
                    quote!(::switchyard_sdk::shape::check_summary_field(#input_shape, #all, #index)),
                    path.to_token_stream(),
                ),
            ]
        })
        .collect()
}

enum LeafKind {
    Bool,
    Number,
    String(String),
}

/// The fields a condition compares, with what they are compared to. Shapes the lowering
/// refused (and reported) are skipped.
fn condition_leaves<'e>(expr: &'e Expr, out: &mut Vec<(&'e Expr, LeafKind)>) {
    match expr {
        Expr::Paren(inner) => condition_leaves(&inner.expr, out),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => condition_leaves(&u.expr, out),
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) => {
            condition_leaves(&b.left, out);
            condition_leaves(&b.right, out);
        }
        Expr::Binary(b) => {
            let literal = match &*b.right {
                Expr::Lit(l) => Some(&l.lit),
                Expr::Unary(u) => match &*u.expr {
                    Expr::Lit(l) => Some(&l.lit),
                    _ => None,
                },
                _ => None,
            };
            let kind = match literal {
                Some(syn::Lit::Int(_) | syn::Lit::Float(_)) => LeafKind::Number,
                Some(syn::Lit::Str(text)) => LeafKind::String(text.value()),
                Some(syn::Lit::Bool(_)) => LeafKind::Bool,
                _ => return,
            };
            out.push((&b.left, kind));
        }
        Expr::Path(_) | Expr::Field(_) => out.push((expr, LeafKind::Bool)),
        _ => {}
    }
}

/// `["order", "total"]` for `order.total`, as Rust names them (`r#type` is `type`).
fn rust_field_path(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::Path(p) if p.qself.is_none() => Some(vec![crate::shape::unraw(p.path.get_ident()?)]),
        Expr::Field(f) => {
            let mut path = rust_field_path(&f.base)?;
            path.push(match &f.member {
                Member::Named(ident) => crate::shape::unraw(ident),
                Member::Unnamed(index) => index.index.to_string(),
            });
            Some(path)
        }
        _ => None,
    }
}

fn condition_check(input: &TokenStream, condition: &Expr) -> TokenStream {
    let rewritten = rewrite(condition);
    let input = respan(input.clone(), condition.span());
    quote!(let _ = |__input: &#input| -> bool { #rewritten };)
}

/// `assert_flows::<carried, accepted>()`, every token at `span` so rustc's error lands on the
/// user's edge rather than on the whole macro call.
fn assert_flows(carried: &TokenStream, accepted: &TokenStream, span: Span) -> TokenStream {
    respan(
        quote!(::switchyard_sdk::__private::assert_flows::<#carried, #accepted>();),
        span,
    )
}

/// The same tokens with every span (groups included) set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// The condition as Rust over `__input`: each field path `a.b` becomes `__input.a.b`,
/// keeping the user's spans so rustc's type errors point at them.
fn rewrite(expr: &Expr) -> TokenStream {
    match expr {
        Expr::Paren(inner) => {
            let e = rewrite(&inner.expr);
            quote!((#e))
        }
        Expr::Unary(u) => {
            let op = &u.op;
            let e = rewrite(&u.expr);
            quote!(#op #e)
        }
        Expr::Binary(b) => {
            let (l, op) = (rewrite(&b.left), &b.op);
            // Comparisons have a literal on the right; `&&` and `||` combine conditions.
            let r = if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) {
                rewrite(&b.right)
            } else {
                b.right.to_token_stream()
            };
            quote!(#l #op #r)
        }
        Expr::Path(p) => {
            let ident = p
                .path
                .get_ident()
                .map(|i| i.to_token_stream())
                .unwrap_or_else(|| p.to_token_stream());
            let span = p.span();
            quote_spanned!(span=> __input.#ident)
        }
        Expr::Field(f) => {
            let base = rewrite(&f.base);
            let member = match &f.member {
                Member::Named(ident) => ident.to_token_stream(),
                Member::Unnamed(index) => index.to_token_stream(),
            };
            quote!(#base.#member)
        }
        other => other.to_token_stream(),
    }
}

/// The Rust types flowing through the graph, inferred from agents' signatures.
struct Types<'a> {
    decl: &'a WorkflowDecl,
    lowered: &'a Lowered,
    inferred: HashMap<StepId, TokenStream>,
    visiting: HashSet<StepId>,
}

impl Types<'_> {
    fn decl(&self, id: StepId) -> &StepDecl {
        &self.decl.steps[id.index()]
    }

    /// The input types a step's incoming data must flow into, each with where to report a
    /// mismatch: the edge, or for a parallel step each branch's agent.
    fn accepted(&mut self, id: StepId, edge: Span) -> Vec<(TokenStream, Span)> {
        let sdk = sdk();
        match &self.decl(id).kind {
            KindDecl::Agent(path) => vec![(quote!(<#path as #sdk::Agent>::Input), edge)],
            KindDecl::Parallel { branches, .. } => branches
                .iter()
                .map(|b| {
                    let agent = &b.agent;
                    (quote!(<#agent as #sdk::Agent>::Input), agent.span())
                })
                .collect(),
            _ => self.input(id).into_iter().map(|ty| (ty, edge)).collect(),
        }
    }

    fn input(&mut self, id: StepId) -> Option<TokenStream> {
        let sdk = sdk();
        match &self.decl(id).kind {
            KindDecl::Agent(path) => Some(quote!(<#path as #sdk::Agent>::Input)),
            _ => self.infer(id),
        }
    }

    fn output(&mut self, id: StepId) -> Option<TokenStream> {
        let sdk = sdk();
        match &self.decl(id).kind {
            KindDecl::Agent(path) => Some(quote!(<#path as #sdk::Agent>::Output)),
            KindDecl::Parallel { branches, .. } => {
                let outputs = branches.iter().map(|b| {
                    let agent = &b.agent;
                    quote!(<#agent as #sdk::Agent>::Output)
                });
                Some(quote!((#(#outputs,)*)))
            }
            KindDecl::Map { item, .. } => {
                let agent = &item.agent;
                Some(quote!(::std::vec::Vec<<#agent as #sdk::Agent>::Output>))
            }
            KindDecl::Approval { .. } => {
                let input = self.input(id)?;
                Some(quote!(#sdk::Approved<#input>))
            }
            KindDecl::Branch { .. } | KindDecl::Match { .. } | KindDecl::Loop { .. } => {
                self.input(id)
            }
        }
    }

    fn carried(&mut self, from: StepId, carries: Carries) -> Option<TokenStream> {
        match carries {
            Carries::Output => self.output(from),
            Carries::Input => self.input(from),
            Carries::Approved => {
                let input = self.input(from)?;
                let sdk = sdk();
                Some(quote!(#sdk::Approved<#input>))
            }
        }
    }

    /// The type reaching a pass-through step: the run input for the first step, else what
    /// its first typeable incoming edge carries (the other edges are asserted against it).
    fn infer(&mut self, id: StepId) -> Option<TokenStream> {
        if let Some(known) = self.inferred.get(&id) {
            return Some(known.clone());
        }
        if id == StepId(0) {
            return Some(self.decl.input.to_token_stream());
        }
        if !self.visiting.insert(id) {
            return None;
        }
        let incoming: Vec<(StepId, Carries)> = self
            .lowered
            .edges
            .iter()
            .filter(|e| e.to == id)
            .map(|e| (e.from, e.carries))
            .collect();
        let found = incoming
            .into_iter()
            .find_map(|(from, carries)| self.carried(from, carries));
        self.visiting.remove(&id);
        if let Some(found) = &found {
            self.inferred.insert(id, found.clone());
        }
        found
    }
}
