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
    let checked = lowered
        .as_ref()
        .map(|lowered| expand::type_checks(&decl, lowered, &mut cx));
    match (cx.check(), lowered, checked) {
        (Ok(()), Some(lowered), Some(checked)) => expand::workflow(&decl, &lowered, checked),
        (Err(errors), _, checked) => {
            let errors = errors.to_compile_error();
            let fallback = expand::fallback(&decl);
            let checks = checked.map(|c| c.checks).unwrap_or_default();
            quote::quote!(#fallback #checks #errors)
        }
        (Ok(()), _, _) => unreachable!("lowering returns None only after reporting an error"),
    }
}
