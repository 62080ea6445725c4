//! `workflow!`: parse → lower (resolve, build IR, validate) → expand.

mod ast;
mod expand;
mod lower;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;

pub fn expand(input: TokenStream) -> TokenStream {
    let decl: ast::WorkflowDecl = match syn::parse2(input) {
        Ok(decl) => decl,
        Err(error) => return error.to_compile_error(),
    };
    let mut cx = Ctxt::default();
    let lowered = lower::lower(&decl, &mut cx);
    let checks = lowered
        .as_ref()
        .map(|lowered| expand::type_checks(&decl, lowered, &mut cx))
        .unwrap_or_default();
    match (cx.check(), lowered) {
        (Ok(()), Some(lowered)) => expand::workflow(&decl, &lowered, checks),
        (Err(errors), _) => {
            let errors = errors.to_compile_error();
            let fallback = expand::fallback(&decl);
            quote::quote!(#fallback #checks #errors)
        }
        (Ok(()), None) => unreachable!("lowering returns None only after reporting an error"),
    }
}
