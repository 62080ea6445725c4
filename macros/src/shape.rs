//! `#[derive(JsonShape)]`: a type's serialized JSON form, read from serde's own attributes
//! through `serde_derive_internals` (the model serde_derive itself uses), so renames,
//! `rename_all`, raw identifiers, `skip*`, `flatten`, `transparent`, `into` and every enum
//! representation mean here exactly what they mean to serde.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use serde_derive_internals::ast::{Container, Data, Field, Style, Variant};
use serde_derive_internals::attr::TagType;
use serde_derive_internals::{Ctxt, Derive};
use syn::{DeriveInput, Member};

pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let cx = Ctxt::new();
    let container = Container::from_ast(&cx, &input, Derive::Serialize);
    // serde_derive reports its own attribute errors; repeating them adds nothing.
    if cx.check().is_err() {
        return impl_shape(&input, quote!(::switchyard_sdk::shape::Shape::Any));
    }
    let Some(container) = container else {
        return impl_shape(&input, quote!(::switchyard_sdk::shape::Shape::Any));
    };
    let mut errors = Vec::new();
    let shape = container_shape(&container, &mut errors);
    let mut tokens = impl_shape(&input, shape);
    for error in errors {
        tokens.extend(error.to_compile_error());
    }
    tokens
}

fn impl_shape(input: &DeriveInput, shape: TokenStream) -> TokenStream {
    let ident = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param
            .bounds
            .push(syn::parse_quote!(::switchyard_sdk::shape::JsonShape));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        impl #impl_generics ::switchyard_sdk::shape::JsonShape for #ident #ty_generics #where_clause {
            const SHAPE: ::switchyard_sdk::shape::Shape = #shape;
        }
    }
}

fn container_shape(container: &Container, errors: &mut Vec<syn::Error>) -> TokenStream {
    let sh = quote!(::switchyard_sdk::shape);
    let attrs = &container.attrs;
    if let Some(into) = attrs.type_into() {
        return quote!(<#into as #sh::JsonShape>::SHAPE);
    }
    if attrs.remote().is_some() {
        return quote!(#sh::Shape::Any);
    }
    let name = container.ident.to_string();
    match &container.data {
        Data::Struct(style, fields) => {
            if attrs.transparent() {
                let field = fields
                    .iter()
                    .find(|f| !f.attrs.skip_serializing())
                    .or(fields.first());
                return match field {
                    Some(field) => field_type_shape(field, &container.ident),
                    None => quote!(#sh::Shape::Null),
                };
            }
            match style {
                Style::Struct => {
                    let tag = match attrs.tag() {
                        // `#[serde(tag = "t")]` on a struct writes `"t": "Name"` first.
                        TagType::Internal { tag } => Some(tag.clone()),
                        _ => None,
                    };
                    struct_shape(
                        &container.ident,
                        &name,
                        fields,
                        attrs.deny_unknown_fields(),
                        tag,
                        errors,
                    )
                }
                Style::Newtype => field_type_shape(&fields[0], &container.ident),
                Style::Tuple => {
                    let elements = fields
                        .iter()
                        .filter(|f| !f.attrs.skip_serializing())
                        .map(|f| {
                            let shape = field_type_shape(f, &container.ident);
                            quote!(&#shape)
                        });
                    quote!(#sh::Shape::Tuple(&[#(#elements),*]))
                }
                Style::Unit => quote!(#sh::Shape::Null),
            }
        }
        Data::Enum(variants) => {
            let repr = match attrs.tag() {
                TagType::External => quote!(#sh::Repr::External),
                TagType::Internal { tag } => quote!(#sh::Repr::Internal { tag: #tag }),
                TagType::Adjacent { tag, content } => {
                    quote!(#sh::Repr::Adjacent { tag: #tag, content: #content })
                }
                TagType::None => quote!(#sh::Repr::Untagged),
            };
            let variants = variants
                .iter()
                .map(|variant| variant_shape(variant, &container.ident, errors));
            quote!(#sh::Shape::Enum(&#sh::Enum {
                name: #name,
                repr: #repr,
                variants: &[#(#variants),*],
            }))
        }
    }
}

fn struct_shape(
    container: &syn::Ident,
    name: &str,
    fields: &[Field],
    deny_unknown_fields: bool,
    tag: Option<String>,
    errors: &mut Vec<syn::Error>,
) -> TokenStream {
    let sh = quote!(::switchyard_sdk::shape);
    let mut seen = BTreeSet::new();
    let mut entries = Vec::new();
    if let Some(tag) = &tag {
        entries.push(quote!(#sh::Field {
            rust: "",
            json: #tag,
            shape: &#sh::Shape::String,
            presence: #sh::Presence::Always,
            flatten: false,
        }));
    }
    for field in fields {
        let rust = match &field.member {
            Member::Named(ident) => unraw(ident),
            Member::Unnamed(index) => index.index.to_string(),
        };
        let json = field.attrs.name().serialize_name().to_owned();
        let flatten = field.attrs.flatten();
        let presence = if field.attrs.skip_serializing() {
            quote!(#sh::Presence::Never)
        } else if field.attrs.skip_serializing_if().is_some() {
            quote!(#sh::Presence::Sometimes)
        } else {
            quote!(#sh::Presence::Always)
        };
        if !flatten && !field.attrs.skip_serializing() && !seen.insert(json.clone()) {
            errors.push(syn::Error::new_spanned(
                field.original,
                format!("two fields of `{name}` serialize as `{json}`: the JSON would carry the key twice and Step Functions would see only one"),
            ));
        }
        let shape = field_type_shape(field, container);
        entries.push(quote!(#sh::Field {
            rust: #rust,
            json: #json,
            shape: &#shape,
            presence: #presence,
            flatten: #flatten,
        }));
    }
    quote!(#sh::Shape::Struct(&#sh::Struct {
        name: #name,
        fields: &[#(#entries),*],
        deny_unknown_fields: #deny_unknown_fields,
        approved: false,
    }))
}

/// The shape of one field's value: its type's, unless serde writes it another way. A field
/// whose type mentions the type being described (a tree's children) is opaque: a constant
/// cannot contain itself, and routing inside a recursive value is out of reach anyway.
fn field_type_shape(field: &Field, container: &syn::Ident) -> TokenStream {
    let sh = quote!(::switchyard_sdk::shape);
    if let Some(declared) = declared_shape(field) {
        return declared;
    }
    if field.attrs.serialize_with().is_some()
        || field.attrs.getter().is_some()
        || mentions(field.ty.to_token_stream(), container)
    {
        return quote!(#sh::Shape::Any);
    }
    let ty = field.ty;
    quote!(<#ty as #sh::JsonShape>::SHAPE)
}

/// `#[shape(string)]` on a field whose type comes from another crate and cannot derive
/// `JsonShape` (a `chrono::DateTime`, say): the JSON it serializes as, declared.
fn declared_shape(field: &Field) -> Option<TokenStream> {
    let attr = field
        .original
        .attrs
        .iter()
        .find(|a| a.path().is_ident("shape"))?;
    let sh = quote!(::switchyard_sdk::shape);
    let declared = attr.parse_args::<syn::Ident>().ok()?;
    Some(match declared.to_string().as_str() {
        "string" => quote!(#sh::Shape::String),
        "number" => quote!(#sh::Shape::Number),
        "integer" => quote!(#sh::Shape::Integer),
        "bool" => quote!(#sh::Shape::Bool),
        "array" => quote!(#sh::Shape::Array(&#sh::Shape::Any)),
        "object" => quote!(#sh::Shape::Map(&#sh::Shape::Any)),
        "opaque" => quote!(#sh::Shape::Any),
        _ => {
            let error = syn::Error::new_spanned(
                &declared,
                "`#[shape(...)]` takes one of: string, number, integer, bool, array, object, opaque",
            )
            .to_compile_error();
            quote!({ #error; #sh::Shape::Any })
        }
    })
}

fn variant_shape(
    variant: &Variant,
    container: &syn::Ident,
    errors: &mut Vec<syn::Error>,
) -> TokenStream {
    let sh = quote!(::switchyard_sdk::shape);
    let rust = unraw(&variant.ident);
    let json = variant.attrs.name().serialize_name().to_owned();
    let unit = matches!(variant.style, Style::Unit);
    let skipped = variant.attrs.skip_serializing();
    let untagged = variant.attrs.untagged();
    // What the variant carries, as serde writes it (the tag, if any, is the enum's).
    let content = match variant.style {
        Style::Unit => quote!(#sh::Shape::Null),
        Style::Newtype => field_type_shape(&variant.fields[0], container),
        Style::Tuple => {
            let elements = variant
                .fields
                .iter()
                .filter(|f| !f.attrs.skip_serializing())
                .map(|f| {
                    let shape = field_type_shape(f, container);
                    quote!(&#shape)
                });
            quote!(#sh::Shape::Tuple(&[#(#elements),*]))
        }
        Style::Struct => struct_shape(container, &rust, &variant.fields, false, None, errors),
    };
    quote!(#sh::Variant {
        rust: #rust,
        json: #json,
        unit: #unit,
        skipped: #skipped,
        untagged: #untagged,
        content: &#content,
    })
}

fn mentions(tokens: TokenStream, ident: &syn::Ident) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(i) => i == *ident || i == "Self",
        proc_macro2::TokenTree::Group(g) => mentions(g.stream(), ident),
        _ => false,
    })
}

/// `type` for `r#type`: the name Rust code uses in a field access.
pub fn unraw(ident: &syn::Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map(str::to_owned).unwrap_or(text)
}
