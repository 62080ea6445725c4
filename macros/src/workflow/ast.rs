//! The declaration as written. Parsing only: no name resolution, no checks beyond syntax.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    braced, bracketed, parenthesized, token, Attribute, Expr, Ident, LitStr, Pat, Path, Token,
    Type, Visibility,
};

/// `/// docs  pub Name(Input) { budget(...); step; step; ... }`
pub struct WorkflowDecl {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub input: Type,
    /// Every `budget(...);` clause (more than one is reported when lowering).
    pub budgets: Vec<BudgetDecl>,
    pub steps: Vec<StepDecl>,
}

/// `budget(tokens = 200_000, usd = 5.0);`: each run's spending limit.
pub struct BudgetDecl {
    pub token: Ident,
    pub settings: Vec<SettingDecl>,
}

/// `name = kind .modifier(...)* [-> target];`
pub struct StepDecl {
    pub name: Ident,
    pub kind: KindDecl,
    pub modifiers: Modifiers,
    pub next: Option<Ident>,
}

pub enum KindDecl {
    /// `some::agent`
    Agent(Path),
    /// `parallel { a = agent_a, b = agent_b }`
    Parallel {
        token: Ident,
        branches: Vec<BranchDecl>,
    },
    /// `map(items.field, max_concurrency = 4) { item = agent }`
    Map {
        token: Ident,
        items: Expr,
        settings: Vec<SettingDecl>,
        item: Box<BranchDecl>,
    },
    /// `branch { total > 5000.0 => a, _ => b }`
    Branch {
        token: Ident,
        arms: Vec<(Expr, Ident)>,
        default: Option<Ident>,
    },
    /// `match field { Enum::A => a, Enum::B => b }`
    Match {
        token: Token![match],
        scrutinee: Expr,
        arms: Vec<(Path, Ident)>,
        default: Option<Ident>,
    },
    /// `loop(max = 3, exhausted = fail)`
    Loop {
        token: Token![loop],
        settings: Vec<SettingDecl>,
    },
    /// `approval(subject = "...", timeout = 86400, on_reject = fail, summary = [...], ...)`
    Approval {
        token: Ident,
        settings: Vec<SettingDecl>,
        /// Every `summary = [...]` (more than one is reported when lowering).
        summary: Vec<SummaryDecl>,
    },
}

/// `summary = [strategy.headline as "Headline", budget_usd]`: what a gate's page shows
/// first.
pub struct SummaryDecl {
    pub key: Ident,
    pub fields: Vec<SummaryFieldDecl>,
}

/// A field path of the gate's input, with its label if it has one.
pub struct SummaryFieldDecl {
    pub path: Expr,
    pub label: Option<LitStr>,
}

/// A named agent call inside `parallel` or `map`.
pub struct BranchDecl {
    pub name: Ident,
    pub agent: Path,
    pub modifiers: Modifiers,
}

#[derive(Default)]
pub struct Modifiers {
    pub retry: Vec<(Ident, Vec<SettingDecl>)>,
    pub catch: Vec<(Ident, Vec<SettingDecl>)>,
    pub timeout: Vec<(Ident, Expr)>,
    pub when: Vec<(Ident, Expr)>,
    /// `.depends_on(a, b)`: the modifier's name and the steps listed.
    pub depends_on: Vec<(Ident, Vec<Ident>)>,
    pub unknown: Vec<Ident>,
}

impl Modifiers {
    pub fn is_empty(&self) -> bool {
        self.retry.is_empty()
            && self.catch.is_empty()
            && self.timeout.is_empty()
            && self.when.is_empty()
            && self.depends_on.is_empty()
            && self.unknown.is_empty()
    }
}

/// `key = value`; the value is interpreted when lowering.
pub struct SettingDecl {
    pub key: Ident,
    pub value: Expr,
}

impl Parse for WorkflowDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let ident: Ident = input.parse()?;
        let args;
        parenthesized!(args in input);
        let input_ty: Type = args.parse()?;
        if !args.is_empty() {
            return Err(args.error("a workflow takes one input type: `Name(InputType) { ... }`"));
        }
        let body;
        braced!(body in input);
        let mut budgets = Vec::new();
        let mut steps = Vec::new();
        while !body.is_empty() {
            // A step is `name = ...`; a clause about the whole workflow is `budget(...)`.
            let clause = body.fork();
            if clause.parse::<Ident>().is_ok_and(|k| k == "budget") && clause.peek(token::Paren) {
                let token = body.parse()?;
                let settings = parse_settings(&body)?;
                body.parse::<Token![;]>()?;
                budgets.push(BudgetDecl { token, settings });
            } else {
                steps.push(body.parse()?);
            }
        }
        if !input.is_empty() {
            return Err(input.error("one workflow per `workflow!`"));
        }
        Ok(WorkflowDecl {
            attrs,
            vis,
            ident,
            input: input_ty,
            budgets,
            steps,
        })
    }
}

impl Parse for StepDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let kind = parse_kind(input)?;
        let modifiers = parse_modifiers(input)?;
        let next = if input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        input.parse::<Token![;]>()?;
        Ok(StepDecl {
            name,
            kind,
            modifiers,
            next,
        })
    }
}

fn parse_kind(input: ParseStream) -> syn::Result<KindDecl> {
    if input.peek(Token![match]) {
        let token = input.parse()?;
        let scrutinee = Expr::parse_without_eager_brace(input)?;
        let body;
        braced!(body in input);
        let mut arms = Vec::new();
        let mut default = None;
        while !body.is_empty() {
            let pat = Pat::parse_single(&body)?;
            body.parse::<Token![=>]>()?;
            let target: Ident = body.parse()?;
            match pat {
                Pat::Wild(_) => default = Some(target),
                Pat::Path(p) => arms.push((p.path, target)),
                Pat::Ident(ref i) => {
                    return Err(syn::Error::new_spanned(
                        &i.ident,
                        format!("write the variant with its enum, e.g. `MyEnum::{}`: a bare name would bind anything", i.ident),
                    ))
                }
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "a `match` arm is a unit variant path (`MyEnum::Variant`) or `_`",
                    ))
                }
            }
            if !body.is_empty() {
                body.parse::<Token![,]>()?;
            }
        }
        return Ok(KindDecl::Match {
            token,
            scrutinee,
            arms,
            default,
        });
    }
    if input.peek(Token![loop]) {
        let token = input.parse()?;
        let settings = parse_settings(input)?;
        return Ok(KindDecl::Loop { token, settings });
    }
    let fork = input.fork();
    let head: Option<Ident> = fork.parse().ok();
    match head.as_ref().map(Ident::to_string).as_deref() {
        Some("parallel") if fork.peek(token::Brace) => {
            let token: Ident = input.parse()?;
            let body;
            braced!(body in input);
            let branches = Punctuated::<BranchDecl, Token![,]>::parse_terminated(&body)?
                .into_iter()
                .collect();
            Ok(KindDecl::Parallel { token, branches })
        }
        Some("map") if fork.peek(token::Paren) => {
            let token: Ident = input.parse()?;
            let args;
            parenthesized!(args in input);
            let items: Expr = args.parse()?;
            let mut settings = Vec::new();
            if args.peek(Token![,]) {
                args.parse::<Token![,]>()?;
                settings = Punctuated::<SettingDecl, Token![,]>::parse_terminated(&args)?
                    .into_iter()
                    .collect();
            }
            let body;
            braced!(body in input);
            let item: BranchDecl = body.parse()?;
            body.parse::<Option<Token![,]>>()?;
            if !body.is_empty() {
                return Err(body.error("a map runs one agent per item: `{ item = agent }`"));
            }
            Ok(KindDecl::Map {
                token,
                items,
                settings,
                item: Box::new(item),
            })
        }
        Some("branch") if fork.peek(token::Brace) => {
            let token: Ident = input.parse()?;
            let body;
            braced!(body in input);
            let mut arms = Vec::new();
            let mut default = None;
            while !body.is_empty() {
                if body.peek(Token![_]) {
                    body.parse::<Token![_]>()?;
                    body.parse::<Token![=>]>()?;
                    default = Some(body.parse()?);
                } else {
                    let condition = Expr::parse_without_eager_brace(&body)?;
                    body.parse::<Token![=>]>()?;
                    arms.push((condition, body.parse()?));
                }
                if !body.is_empty() {
                    body.parse::<Token![,]>()?;
                }
            }
            Ok(KindDecl::Branch {
                token,
                arms,
                default,
            })
        }
        Some("approval") if fork.peek(token::Paren) => {
            let token: Ident = input.parse()?;
            let args;
            parenthesized!(args in input);
            let mut settings = Vec::new();
            let mut summary = Vec::new();
            while !args.is_empty() {
                let key = args.fork();
                if key.parse::<Ident>().is_ok_and(|k| k == "summary") && key.peek(Token![=]) {
                    summary.push(args.parse()?);
                } else {
                    settings.push(args.parse()?);
                }
                if !args.is_empty() {
                    args.parse::<Token![,]>()?;
                }
            }
            Ok(KindDecl::Approval {
                token,
                settings,
                summary,
            })
        }
        _ => Ok(KindDecl::Agent(input.call(Path::parse_mod_style)?)),
    }
}

fn parse_settings(input: ParseStream) -> syn::Result<Vec<SettingDecl>> {
    let args;
    parenthesized!(args in input);
    Ok(
        Punctuated::<SettingDecl, Token![,]>::parse_terminated(&args)?
            .into_iter()
            .collect(),
    )
}

fn parse_modifiers(input: ParseStream) -> syn::Result<Modifiers> {
    let mut modifiers = Modifiers::default();
    while input.peek(Token![.]) {
        input.parse::<Token![.]>()?;
        let name: Ident = input.parse()?;
        match name.to_string().as_str() {
            "retry" => {
                let settings = parse_settings(input)?;
                modifiers.retry.push((name, settings));
            }
            "catch" => {
                let settings = parse_settings(input)?;
                modifiers.catch.push((name, settings));
            }
            "depends_on" => {
                let args;
                parenthesized!(args in input);
                let steps = Punctuated::<Ident, Token![,]>::parse_terminated(&args)?
                    .into_iter()
                    .collect();
                modifiers.depends_on.push((name, steps));
            }
            "timeout" | "when" => {
                let args;
                parenthesized!(args in input);
                let expr: Expr = args.parse()?;
                if name == "timeout" {
                    modifiers.timeout.push((name, expr));
                } else {
                    modifiers.when.push((name, expr));
                }
            }
            _ => {
                // Skip the arguments so the error names the modifier, not the parenthesis.
                if input.peek(token::Paren) {
                    let args;
                    parenthesized!(args in input);
                    args.parse::<proc_macro2::TokenStream>()?;
                }
                modifiers.unknown.push(name);
            }
        }
    }
    Ok(modifiers)
}

impl Parse for BranchDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = input.parse()?;
        input.parse::<Token![=]>()?;
        let agent = input.call(Path::parse_mod_style)?;
        let modifiers = parse_modifiers(input)?;
        Ok(BranchDecl {
            name,
            agent,
            modifiers,
        })
    }
}

impl Parse for SettingDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = input.parse()?;
        input.parse::<Token![=]>()?;
        let value = if input.peek(token::Bracket) {
            let content;
            let bracket = bracketed!(content in input);
            let elems = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
            Expr::Array(syn::ExprArray {
                attrs: Vec::new(),
                bracket_token: bracket,
                elems,
            })
        } else {
            input.parse()?
        };
        Ok(SettingDecl { key, value })
    }
}

impl Parse for SummaryDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        if !input.peek(token::Bracket) {
            return Err(input.error(
                "a summary lists fields of the gate's input: `summary = [total, order.id as \"Order\"]`",
            ));
        }
        let content;
        bracketed!(content in input);
        let mut fields = Vec::new();
        while !content.is_empty() {
            fields.push(content.parse()?);
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
        }
        Ok(SummaryDecl { key, fields })
    }
}

impl Parse for SummaryFieldDecl {
    /// `path` or `path as "Label"`. The path's tokens end at `as` or `,`: parsed as an
    /// expression, `as` would start a cast to a type.
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let tokens = input.step(|cursor| {
            let mut rest = *cursor;
            let mut tokens = TokenStream::new();
            while let Some((tree, next)) = rest.token_tree() {
                match &tree {
                    TokenTree::Punct(p) if p.as_char() == ',' => break,
                    TokenTree::Ident(i) if i == "as" => break,
                    _ => {}
                }
                tokens.extend([tree]);
                rest = next;
            }
            Ok((tokens, rest))
        })?;
        if tokens.is_empty() {
            return Err(
                input.error("expected a field of the gate's input, like `total` or `order.total`")
            );
        }
        let path: Expr = syn::parse2(tokens)?;
        let label = if input.peek(Token![as]) {
            input.parse::<Token![as]>()?;
            if !input.peek(LitStr) {
                return Err(input.error("a summary label is a string: `budget_usd as \"Budget\"`"));
            }
            Some(input.parse()?)
        } else {
            None
        };
        Ok(SummaryFieldDecl { path, label })
    }
}

impl KindDecl {
    /// The tokens naming the kind, for errors about the step as a whole.
    pub fn span(&self) -> Span {
        match self {
            KindDecl::Agent(path) => path.span(),
            KindDecl::Parallel { token, .. }
            | KindDecl::Map { token, .. }
            | KindDecl::Branch { token, .. }
            | KindDecl::Approval { token, .. } => token.span(),
            KindDecl::Match { token, .. } => token.span,
            KindDecl::Loop { token, .. } => token.span,
        }
    }
}
