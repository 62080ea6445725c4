//! `#[agent]`: an async function becomes a type implementing `Agent`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use crate::ctxt::Ctxt;

pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item) {
        Ok(function) => function,
        Err(error) => return error.to_compile_error(),
    };
    match expand_function(args, &function) {
        Ok(tokens) => tokens,
        // Keep the function so its uses do not add "cannot find" noise to the real error.
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#function #error)
        }
    }
}

struct Signature<'a> {
    input: &'a Type,
    output: &'a Type,
    takes_context: bool,
}

fn check_signature(function: &ItemFn) -> syn::Result<Signature<'_>> {
    let mut cx = Ctxt::default();
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(sig.fn_token, "an agent must be an `async fn`");
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(&sig.generics, "an agent cannot be generic: its input and output types are part of the deployed workflow");
    }
    let typed: Vec<&Type> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat) => Some(&*pat.ty),
            FnArg::Receiver(receiver) => {
                cx.error_spanned_by(receiver, "an agent is a free function, not a method");
                None
            }
        })
        .collect();
    if typed.is_empty() || typed.len() > 2 {
        let span = if sig.inputs.is_empty() {
            sig.ident.span()
        } else {
            sig.inputs.span()
        };
        cx.error_at(
            span,
            "an agent takes its input and optionally an `AgentContext`: `(input: In, ctx: AgentContext)`",
        );
    }
    let output = match &sig.output {
        ReturnType::Type(_, ty) => result_ok_type(ty),
        ReturnType::Default => None,
    };
    if output.is_none() {
        cx.error_at(
            sig.output
                .span()
                .join(sig.ident.span())
                .unwrap_or(sig.ident.span()),
            "an agent returns `Result<Output, E>` where `E: Into<AgentError>`",
        );
    }
    cx.check()?;
    Ok(Signature {
        input: typed[0],
        output: output.expect("checked above"),
        takes_context: typed.len() == 2,
    })
}

/// `T` of a return type written `Result<T, E>` (any path ending in `Result`).
fn result_ok_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    }
}

fn doc_text(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What `#[agent(...)]` says.
#[derive(Default)]
struct AgentArgs {
    /// `capabilities = ["copywriting", "email"]`.
    capabilities: Vec<String>,
    /// `model = "anthropic:claude-3-5-haiku-latest"`: the model this agent asks unless its
    /// deployment says otherwise.
    model: Option<String>,
}

fn parse_args(args: TokenStream) -> syn::Result<AgentArgs> {
    if args.is_empty() {
        return Ok(AgentArgs::default());
    }
    let settings = syn::parse::Parser::parse2(
        syn::punctuated::Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated,
        args.clone(),
    )
    .map_err(|_| syn::Error::new_spanned(&args, ARGS_HELP))?;
    let mut cx = Ctxt::default();
    let mut capabilities: Option<Vec<String>> = None;
    let mut model: Option<Option<String>> = None;
    for setting in &settings {
        let key = if setting.path.is_ident("capabilities") {
            "capabilities"
        } else if setting.path.is_ident("model") {
            "model"
        } else {
            cx.error_spanned_by(&setting.path, ARGS_HELP);
            continue;
        };
        let given = match key {
            "model" => model.is_some(),
            _ => capabilities.is_some(),
        };
        if given {
            cx.error_spanned_by(&setting.path, format!("`{key}` is given twice"));
            continue;
        }
        if key == "model" {
            model = Some(model_arg(&setting.value, &mut cx));
        } else {
            capabilities = Some(capabilities_arg(&setting.value, &mut cx));
        }
    }
    cx.check()?;
    Ok(AgentArgs {
        capabilities: capabilities.unwrap_or_default(),
        model: model.flatten(),
    })
}

fn capabilities_arg(value: &syn::Expr, cx: &mut Ctxt) -> Vec<String> {
    let syn::Expr::Array(list) = value else {
        cx.error_spanned_by(
            value,
            "`capabilities` is a list of strings: `capabilities = [\"copywriting\"]`",
        );
        return Vec::new();
    };
    let mut names = Vec::new();
    for element in &list.elems {
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) = element
        else {
            cx.error_spanned_by(element, "a capability is a string literal");
            continue;
        };
        let name = text.value();
        if let Some(problem) = capability_problem(&name) {
            cx.error_spanned_by(text, problem);
        } else if names.contains(&name) {
            cx.error_spanned_by(text, format!("capability `{name}` is listed twice"));
        } else {
            names.push(name);
        }
    }
    names
}

/// `model = "provider:model"`, checked by the rule the functions build their model by.
fn model_arg(value: &syn::Expr, cx: &mut Ctxt) -> Option<String> {
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(text),
        ..
    }) = value
    else {
        cx.error_spanned_by(
            value,
            "`model` is a string: `model = \"anthropic:claude-3-5-haiku-latest\"`",
        );
        return None;
    };
    let name = text.value();
    match switchyard_ir::parse_model_name(&name) {
        Ok(_) => Some(name),
        Err(problem) => {
            cx.error_spanned_by(text, problem);
            None
        }
    }
}

const ARGS_HELP: &str = "`#[agent]` takes only `capabilities = [\"...\"]` and `model = \"provider:model\"`: the agent's name is the function's name and its description its doc comment";

/// Capabilities are matched exactly by graphs and the registry, so they have one spelling:
/// lowercase words joined by `-`.
fn capability_problem(name: &str) -> Option<String> {
    let well_formed = (1..=64).contains(&name.len())
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    (!well_formed).then(|| {
        format!("capability `{name}` must be lowercase words of a-z and 0-9 joined by `-` (at most 64 characters), e.g. `subject-lines`")
    })
}

fn expand_function(args: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let AgentArgs {
        capabilities,
        model,
    } = parse_args(args)?;
    let sig = check_signature(function)?;
    let vis = &function.vis;
    let ident = &function.sig.ident;
    let name = crate::shape::unraw(ident);
    let mut cx = Ctxt::default();
    for error in switchyard_ir::check_agent_name(&name) {
        cx.error_spanned_by(ident, error);
    }
    cx.check()?;
    let unique = unique_name_marker("agent", &name, ident.span());
    let description = doc_text(&function.attrs);
    let (input, output) = (sig.input, sig.output);
    let call = if sig.takes_context {
        quote!(#ident(input, ctx))
    } else {
        quote!({
            let _ = ctx;
            #ident(input)
        })
    };
    let sdk = quote!(::switchyard_sdk);
    let model = match &model {
        Some(model) => quote!(::std::option::Option::Some(#model)),
        None => quote!(::std::option::Option::None),
    };
    let ok_span = output.span();
    let convert_error = quote_spanned!(ok_span=> ::std::convert::Into::<#sdk::AgentError>::into);
    Ok(quote! {
        #function

        #unique

        #[allow(non_camel_case_types)]
        #[doc = concat!("The `", #name, "` agent (see the function of the same name).")]
        #vis struct #ident {}

        impl #sdk::Agent for #ident {
            type Input = #input;
            type Output = #output;
            const NAME: &'static str = #name;
            const DESCRIPTION: &'static str = #description;
            const CAPABILITIES: &'static [&'static str] = &[#(#capabilities),*];
            const MODEL: ::std::option::Option<&'static str> = #model;

            fn run(
                input: Self::Input,
                ctx: #sdk::AgentContext,
            ) -> #sdk::BoxFuture<'static, ::std::result::Result<Self::Output, #sdk::AgentError>> {
                ::std::boxed::Box::pin(async move { #call.await.map_err(#convert_error) })
            }
        }

        #sdk::__private::inventory::submit! {
            #sdk::AgentRegistration {
                name: #name,
                description: #description,
                capabilities: &[#(#capabilities),*],
                model: <#ident as #sdk::Agent>::MODEL,
                input_type: #sdk::__private::type_name::<#input>,
                output_type: #sdk::__private::type_name::<#output>,
                input_schema: #sdk::__private::input_schema::<#ident>,
                output_schema: #sdk::__private::output_schema::<#ident>,
                input_shape: #sdk::__private::input_shape::<#ident>,
                output_shape: #sdk::__private::output_shape::<#ident>,
                check_input: #sdk::__private::check_input::<<#ident as #sdk::Agent>::Input>,
                invoke: |value, ctx| ::std::boxed::Box::pin(async move {
                    let input: #input = #sdk::__private::serde_json::from_value(value)
                        .map_err(|e| #sdk::AgentError::InvalidInput(e.to_string()))?;
                    let output = <#ident as #sdk::Agent>::run(input, ctx).await?;
                    #sdk::__private::serde_json::to_value(output)
                        .map_err(|e| #sdk::AgentError::Permanent(format!("output could not be serialised: {e}")))
                }),
            }
        }
    })
}

/// A crate-level marker named after the AWS name `name` deploys as: a second agent (or
/// workflow) in the same crate that AWS would see under the same name — `score` in two
/// modules, `score_lead` beside `scoreLead` — defines the marker twice, which rustc reports
/// at the second declaration.
pub fn unique_name_marker(kind: &str, name: &str, span: proc_macro2::Span) -> TokenStream {
    let marker = syn::Ident::new(
        &format!(
            "switchyard_{kind}_deploys_as_{}_which_must_be_unique_in_this_crate",
            switchyard_ir::resource_key(name)
        ),
        span,
    );
    // Every token at the name, so rustc's "defined multiple times" points at it.
    quote_spanned! {span=>
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #marker {
            () => {};
        }
    }
}
