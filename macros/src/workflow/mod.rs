//! `workflow!`: parse → desugar `depends_on` graphs → lower (resolve, build IR, validate) →
//! expand.

mod ast;
mod dag;
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
    let before = cx.error_count();
    let decl = dag::desugar(decl, &mut cx);
    // A `depends_on` graph that could not be rewritten leaves steps without their edges:
    // lowering it would only add noise to the error that says why.
    let lowered = if cx.error_count() == before {
        lower::lower(&decl, &mut cx)
    } else {
        None
    };
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
