//! The JSON a type serializes to, as Step Functions sees it.
//!
//! Workflows route on data: a `branch` condition becomes a Choice rule over a JSONPath, a
//! `match` compares an enum's serialized form, a `map` iterates a JSON array, a gate adds
//! an `approval` field to a JSON object. Rust identifiers say nothing about any of that —
//! serde's attributes do. [`JsonShape`] (derived with `#[derive(JsonShape)]`, which reads
//! the same `#[serde(...)]` attributes serde does) describes a type's serialized form as
//! constant data, and the checks below run in `const` items the workflow macro emits at the
//! user's tokens: a use that cannot work is a `cargo build` error there, and the paths the
//! compiler emits are computed from the same description.

// The checks run in `const` items, where nothing can be boxed: a message travels by value.
#![allow(clippy::result_large_err)]

/// A type that describes the JSON serde produces for it.
///
/// Derive it next to `Serialize`/`Deserialize`: `#[derive(Serialize, Deserialize, JsonShape)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not describe its JSON to Switchyard",
    label = "data crossing a workflow step must implement `JsonShape`",
    note = "add `#[derive(switchyard_sdk::JsonShape)]` next to `#[derive(Serialize, Deserialize)]` on `{Self}` (and on the types of its fields): workflows check conditions, maps and gates against the JSON serde produces, not against Rust names; for a field whose type comes from another crate, declare its JSON with `#[shape(string)]` (or `number`, `integer`, `bool`, `array`, `object`, `opaque`)"
)]
pub trait JsonShape {
    const SHAPE: Shape;
}

/// What serde_json writes for a value of some type.
#[derive(Debug)]
pub enum Shape {
    /// Unknown to Switchyard: custom `Serialize` impls, `serialize_with`, `serde_json::Value`.
    Any,
    Null,
    Bool,
    Integer,
    Number,
    String,
    /// A string that is always one of these values (a gate's `decision`).
    OneOf(&'static [&'static str]),
    /// Always a JSON array of this element shape.
    Array(&'static Shape),
    /// A fixed-length JSON array (tuples).
    Tuple(&'static [&'static Shape]),
    /// A JSON object keyed by data (maps): no fixed fields.
    Map(&'static Shape),
    /// `null` or the inner shape (`Option`).
    Nullable(&'static Shape),
    Struct(&'static Struct),
    Enum(&'static Enum),
}

/// A JSON object with named fields.
#[derive(Debug)]
pub struct Struct {
    /// The Rust type's name, for messages.
    pub name: &'static str,
    pub fields: &'static [Field],
    /// `#[serde(deny_unknown_fields)]`: deserializing it refuses extra keys.
    pub deny_unknown_fields: bool,
    /// An [`crate::Approved`]: its `approval` field is a gate's decision, which a later gate
    /// replaces.
    pub approved: bool,
}

#[derive(Debug)]
pub struct Field {
    /// The field as Rust code names it (`r#type` is `type`).
    pub rust: &'static str,
    /// The key serde writes (after `rename` and `rename_all`).
    pub json: &'static str,
    pub shape: &'static Shape,
    pub presence: Presence,
    /// `#[serde(flatten)]`: the field's own fields appear in this object.
    pub flatten: bool,
}

/// Whether a field's key is in the JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Always,
    /// `skip_serializing_if`: absent for some values.
    Sometimes,
    /// `skip` / `skip_serializing`: never written.
    Never,
}

#[derive(Debug)]
pub struct Enum {
    pub name: &'static str,
    pub repr: Repr,
    pub variants: &'static [Variant],
}

/// serde's enum representations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repr {
    /// `"Unit"` / `{"Variant": ...}`: the default.
    External,
    /// `#[serde(tag = "t")]`: `{"t": "Variant", ...}`.
    Internal { tag: &'static str },
    /// `#[serde(tag = "t", content = "c")]`: `{"t": "Variant", "c": ...}`.
    Adjacent {
        tag: &'static str,
        content: &'static str,
    },
    /// `#[serde(untagged)]`: the variant's content alone.
    Untagged,
}

#[derive(Debug)]
pub struct Variant {
    pub rust: &'static str,
    pub json: &'static str,
    /// A unit variant (no fields).
    pub unit: bool,
    /// `skip` / `skip_serializing`: serializing it fails.
    pub skipped: bool,
    /// `#[serde(untagged)]` on the variant.
    pub untagged: bool,
    /// What the variant carries, as serde writes it: `Null` for a unit variant, the field's
    /// shape for a newtype, a `Tuple` or a `Struct` (the enum's tag, if any, not included).
    pub content: &'static Shape,
}

/// One step of a JSONPath: an object key or an array index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(&'static str),
    Index(usize),
}

/// The longest field path a workflow may address.
pub const MAX_PATH: usize = 16;

/// A JSONPath below the step's data, computed from a Rust field path.
#[derive(Clone, Copy, Debug)]
pub struct JsonPath {
    segments: [Segment; MAX_PATH],
    len: usize,
}

impl JsonPath {
    const fn new() -> Self {
        JsonPath {
            segments: [Segment::Index(0); MAX_PATH],
            len: 0,
        }
    }

    const fn push(mut self, segment: Segment) -> Self {
        if self.len < MAX_PATH {
            self.segments[self.len] = segment;
            self.len += 1;
        }
        self
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.len]
    }

    /// The path as the IR writes it: keys and decimal indices.
    pub fn to_strings(&self) -> Vec<String> {
        self.segments()
            .iter()
            .map(|s| match s {
                Segment::Key(key) => (*key).to_owned(),
                Segment::Index(i) => i.to_string(),
            })
            .collect()
    }
}

/// A compile-time error message, built without allocation.
pub struct Message {
    buf: [u8; 512],
    len: usize,
}

impl Message {
    pub const fn new() -> Self {
        Message {
            buf: [0; 512],
            len: 0,
        }
    }

    pub const fn push(mut self, text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.buf.len() {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    pub const fn as_str(&self) -> &str {
        let (text, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => text,
            // Cut inside a multi-byte character: keep what is valid.
            Err(e) => match core::str::from_utf8(text.split_at(e.valid_up_to()).0) {
                Ok(text) => text,
                Err(_) => "",
            },
        }
    }
}

impl Default for Message {
    fn default() -> Self {
        Message::new()
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn parse_index(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let mut value = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            return None;
        }
        value = value * 10 + (bytes[i] - b'0') as usize;
        i += 1;
    }
    Some(value)
}

/// A key a JSONPath can address as one key: bracket notation carries anything but quotes,
/// backslashes and control characters, and a key of digits alone would read as a position.
const fn check_key(key: &str) -> Option<Message> {
    let bytes = key.as_bytes();
    let mut digits = !bytes.is_empty();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\'' || b == b'\\' || b == b'"' || b < 0x20 {
            return Some(Message::new().push("the key `").push(key).push("` cannot be addressed by a JSONPath (it holds a quote, backslash or control character); rename it"));
        }
        digits = digits && b.is_ascii_digit();
        i += 1;
    }
    if digits {
        return Some(
            Message::new()
                .push("the key `")
                .push(key)
                .push("` is all digits, which a JSONPath reads as a list position; rename it"),
        );
    }
    None
}

/// What a literal in a condition is compared as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralKind {
    Bool,
    Number,
    String,
}

/// Where a Rust field path leads in the JSON.
#[derive(Clone, Copy, Debug)]
pub struct Resolved {
    pub path: JsonPath,
    pub shape: &'static Shape,
}

/// A field looked up by its Rust name, directly or through flattened fields.
struct Found {
    field: &'static Field,
    /// A flattened field on the way may be absent or null.
    optional_parent: bool,
}

const fn find_field(object: &'static Struct, rust: &str) -> Option<Found> {
    let mut i = 0;
    while i < object.fields.len() {
        let field = &object.fields[i];
        if !field.flatten && str_eq(field.rust, rust) {
            return Some(Found {
                field,
                optional_parent: false,
            });
        }
        i += 1;
    }
    // Rust reaches a flattened field's fields through the field (or `Deref`, for
    // `Approved<T>`); in the JSON they sit at this level.
    let mut i = 0;
    while i < object.fields.len() {
        let field = &object.fields[i];
        if field.flatten {
            if str_eq(field.rust, rust) {
                return Some(Found {
                    field,
                    optional_parent: false,
                });
            }
            let (inner, optional) = match field.shape {
                Shape::Nullable(inner) => (*inner, true),
                other => (other, !matches!(field.presence, Presence::Always)),
            };
            if let Shape::Struct(inner) = inner {
                if let Some(found) = find_field(inner, rust) {
                    return Some(Found {
                        field: found.field,
                        optional_parent: optional || found.optional_parent,
                    });
                }
            }
        }
        i += 1;
    }
    None
}

/// Who reads the value at a resolved path, which decides what the path may go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Step Functions, through a JSONPath (a Choice rule, `ItemsPath`): it fails the run on
    /// a missing path, so every step must always be in the JSON.
    StepFunctions,
    /// A gate's summary, read by the approval-request function through a JSON Pointer: a
    /// value that is sometimes absent (`skip_serializing_if`, a flattened `Option`) shows as
    /// absent.
    Summary,
}

/// Resolves a Rust field path (`order.total`, `pair.0`) on a value of shape `root` to the
/// JSONPath serde produces, refusing every step that may not exist in the JSON.
pub const fn resolve(root: &'static Shape, rust_path: &[&str]) -> Result<Resolved, Message> {
    resolve_for(root, rust_path, Reader::StepFunctions)
}

/// [`resolve`] for `reader`: what it refuses depends on what a missing value does to it.
pub const fn resolve_for(
    root: &'static Shape,
    rust_path: &[&str],
    reader: Reader,
) -> Result<Resolved, Message> {
    let summary = matches!(reader, Reader::Summary);
    let mut shape = root;
    let mut path = JsonPath::new();
    let mut i = 0;
    while i < rust_path.len() {
        let segment = rust_path[i];
        match shape {
            Shape::Struct(object) => {
                let Some(found) = find_field(object, segment) else {
                    return Err(Message::new()
                        .push("`")
                        .push(object.name)
                        .push("` has no serialized field `")
                        .push(segment)
                        .push("`"));
                };
                let field = found.field;
                match field.presence {
                    Presence::Always => {}
                    // The summary shows an absent value as absent.
                    Presence::Sometimes if summary => {}
                    Presence::Sometimes => {
                        return Err(Message::new()
                            .push("`")
                            .push(segment)
                            .push("` may be absent from the JSON (`skip_serializing_if`): Step Functions fails a run that reads a missing field; route on a field serde always writes"))
                    }
                    Presence::Never if summary => {
                        return Err(Message::new()
                            .push("`")
                            .push(segment)
                            .push("` is never serialized (`#[serde(skip)]`): the gate's input never holds it, so its page could never show it"))
                    }
                    Presence::Never => {
                        return Err(Message::new()
                            .push("`")
                            .push(segment)
                            .push("` is never serialized (`#[serde(skip)]`): Step Functions never sees it"))
                    }
                }
                if found.optional_parent && !summary {
                    return Err(Message::new()
                        .push("`")
                        .push(segment)
                        .push("` comes from a flattened field that may be absent: Step Functions fails a run that reads a missing field"));
                }
                if field.flatten {
                    // Its fields are this object's: the path does not change.
                    shape = field.shape;
                } else {
                    // A JSON Pointer addresses every key; a JSONPath does not.
                    if !summary {
                        if let Some(message) = check_key(field.json) {
                            return Err(message);
                        }
                    }
                    if path.len == MAX_PATH {
                        return Err(Message::new().push("this field path is deeper than Switchyard addresses (16 levels)"));
                    }
                    path = path.push(Segment::Key(field.json));
                    shape = field.shape;
                }
            }
            Shape::Tuple(elements) => match parse_index(segment) {
                Some(index) if index < elements.len() => {
                    path = path.push(Segment::Index(index));
                    shape = elements[index];
                }
                _ => return Err(Message::new().push("no such tuple element: `").push(segment).push("`")),
            },
            Shape::Nullable(_) if summary => {
                return Err(Message::new()
                    .push("cannot reach `")
                    .push(segment)
                    .push("` through an `Option`; list the `Option` field itself (its page shows `—` while it is `None`)"))
            }
            Shape::Nullable(_) => {
                return Err(Message::new()
                    .push("cannot reach `")
                    .push(segment)
                    .push("` through an `Option`: when it is `None` the JSON has no such path and Step Functions fails the run"))
            }
            Shape::Any => {
                return Err(Message::new()
                    .push("cannot reach `")
                    .push(segment)
                    .push("`: its parent serializes in a way Switchyard cannot see (custom `Serialize`, `serialize_with` or `serde_json::Value`)"))
            }
            Shape::Enum(shape) if summary => {
                return Err(Message::new()
                    .push("cannot reach `")
                    .push(segment)
                    .push("` inside the enum `")
                    .push(shape.name)
                    .push("`: which fields its JSON has depends on the variant; list the enum field itself"))
            }
            _ => {
                return Err(Message::new()
                    .push("cannot reach `")
                    .push(segment)
                    .push("`: its parent does not serialize as a JSON object with named fields"))
            }
        }
        i += 1;
    }
    Ok(Resolved { path, shape })
}

/// A condition `field OP literal`: the field must always be in the JSON, with a JSON type
/// Step Functions compares like Rust does.
/// `text` is the literal's value when it is a string: compared with a field that only takes
/// a few values, it must be one of them.
pub const fn check_condition(
    root: &'static Shape,
    rust_path: &[&str],
    literal: LiteralKind,
    text: &str,
) -> Option<Message> {
    let resolved = match resolve(root, rust_path) {
        Ok(resolved) => resolved,
        Err(message) => return Some(message),
    };
    if let (Shape::OneOf(values), LiteralKind::String) = (resolved.shape, literal) {
        let mut i = 0;
        while i < values.len() {
            if str_eq(values[i], text) {
                return None;
            }
            i += 1;
        }
        let mut message = Message::new()
            .push("`")
            .push(text)
            .push("` is never the value here, so this condition never holds: it is one of ");
        let mut i = 0;
        while i < values.len() {
            if i > 0 {
                message = message.push(", ");
            }
            message = message.push("`").push(values[i]).push("`");
            i += 1;
        }
        return Some(message);
    }
    let fits = matches!(
        (resolved.shape, literal),
        (Shape::Bool, LiteralKind::Bool)
            | (Shape::Integer | Shape::Number, LiteralKind::Number)
            | (Shape::String, LiteralKind::String)
    );
    if fits {
        return None;
    }
    let what = match literal {
        LiteralKind::Bool => "a bool",
        LiteralKind::Number => "a number",
        LiteralKind::String => "a string",
    };
    Some(
        Message::new()
            .push("this condition compares ")
            .push(what)
            .push(", but the field serializes as ")
            .push(describe(resolved.shape))
            .push(": Step Functions compares the JSON, so the rule would never hold as Rust says"),
    )
}

/// A `map` source: always a JSON array.
pub const fn check_map_items(root: &'static Shape, rust_path: &[&str]) -> Option<Message> {
    let resolved = match resolve(root, rust_path) {
        Ok(resolved) => resolved,
        Err(message) => return Some(message),
    };
    match resolved.shape {
        Shape::Array(_) => None,
        other => Some(
            Message::new()
                .push("`map` iterates a JSON array, but this field serializes as ")
                .push(describe(other))
                .push("; map over a `Vec` (or another list serde writes as an array) that is always present"),
        ),
    }
}

/// Entry `index` of a gate's summary (`summary = [strategy.headline, budget_usd]`): a field
/// of the gate's input that serde writes, reached through objects and tuples only, and not
/// a value an earlier entry already shows (two Rust paths may lead to one JSON key, through
/// `flatten`).
pub const fn check_summary_field(
    root: &'static Shape,
    entries: &[&[&str]],
    index: usize,
) -> Option<Message> {
    let resolved = match resolve_for(root, entries[index], Reader::Summary) {
        Ok(resolved) => resolved,
        Err(message) => return Some(message),
    };
    let mut earlier = 0;
    while earlier < index {
        if let Ok(other) = resolve_for(root, entries[earlier], Reader::Summary) {
            if same_path(&resolved.path, &other.path) {
                return Some(
                    push_rust_path(
                        Message::new().push("the summary already shows this value, as `"),
                        entries[earlier],
                    )
                    .push("`; list each field once"),
                );
            }
        }
        earlier += 1;
    }
    None
}

const fn same_path(a: &JsonPath, b: &JsonPath) -> bool {
    if a.len != b.len {
        return false;
    }
    let mut i = 0;
    while i < a.len {
        let same = match (a.segments[i], b.segments[i]) {
            (Segment::Key(x), Segment::Key(y)) => str_eq(x, y),
            (Segment::Index(x), Segment::Index(y)) => x == y,
            _ => false,
        };
        if !same {
            return false;
        }
        i += 1;
    }
    true
}

/// `order.total`, as the declaration writes it.
const fn push_rust_path(mut message: Message, rust_path: &[&str]) -> Message {
    let mut i = 0;
    while i < rust_path.len() {
        if i > 0 {
            message = message.push(".");
        }
        message = message.push(rust_path[i]);
        i += 1;
    }
    message
}

/// How a `match` arm's variant is recognised in the JSON.
#[derive(Clone, Copy, Debug)]
pub struct VariantTest {
    /// Where the string to compare is.
    pub path: JsonPath,
    /// The string it equals for this variant.
    pub value: &'static str,
}

/// A `match` arm on a unit variant of the enum at `rust_path`.
pub const fn variant_test(
    root: &'static Shape,
    rust_path: &[&str],
    variant: &str,
) -> Result<VariantTest, Message> {
    let resolved = match resolve(root, rust_path) {
        Ok(resolved) => resolved,
        Err(message) => return Err(message),
    };
    let Shape::Enum(shape) = resolved.shape else {
        return Err(Message::new()
            .push("`match` routes on an enum, but this field serializes as ")
            .push(describe(resolved.shape)));
    };
    let mut i = 0;
    let mut found = None;
    while i < shape.variants.len() {
        if str_eq(shape.variants[i].rust, variant) {
            found = Some(&shape.variants[i]);
        }
        i += 1;
    }
    let Some(found) = found else {
        return Err(Message::new()
            .push("`")
            .push(shape.name)
            .push("` has no variant `")
            .push(variant)
            .push("`"));
    };
    if found.skipped {
        return Err(Message::new()
            .push("variant `")
            .push(variant)
            .push("` is never serialized (`#[serde(skip)]`): no run can take this arm"));
    }
    if !found.unit {
        return Err(Message::new()
            .push("`match` arms name unit variants; `")
            .push(variant)
            .push("` carries data"));
    }
    if found.untagged {
        return Err(Message::new().push("variant `").push(variant).push(
            "` is `#[serde(untagged)]`: its JSON does not say which variant it is; give it a tag",
        ));
    }
    let path = resolved.path;
    match shape.repr {
        Repr::External => Ok(VariantTest {
            path,
            value: found.json,
        }),
        Repr::Internal { tag } | Repr::Adjacent { tag, .. } => Ok(VariantTest {
            path: path.push(Segment::Key(tag)),
            value: found.json,
        }),
        Repr::Untagged => Err(Message::new()
            .push("`")
            .push(shape.name)
            .push("` is `#[serde(untagged)]`: its JSON does not say which variant it is, so Step Functions cannot route on it; use the default or an internal tag (`#[serde(tag = \"kind\")]`)")),
    }
}

/// The key a gate writes its decision to.
pub const APPROVAL_FIELD: &str = "approval";

/// A gate's subject: a JSON object that has no `approval` key of its own.
pub const fn check_gate_subject(root: &'static Shape) -> Option<Message> {
    let Shape::Struct(object) = root else {
        return Some(
            Message::new()
                .push("an approval gate adds the decision to its input as `approval`, so the input must serialize as a JSON object (a struct with named fields), not as ")
                .push(describe(root)),
        );
    };
    if object.approved {
        // A previous gate's decision, which this gate's replaces.
        return None;
    }
    if let Some(found) = find_field(object, APPROVAL_FIELD) {
        if !found.field.flatten {
            return Some(Message::new().push("`").push(object.name).push("` already has a field serialized as `approval`, where the gate writes its decision; rename it"));
        }
    }
    if has_json_key(object, APPROVAL_FIELD) {
        return Some(Message::new().push("`").push(object.name).push("` already has a field serialized as `approval`, where the gate writes its decision; rename it"));
    }
    None
}

const fn has_json_key(object: &'static Struct, key: &str) -> bool {
    let mut i = 0;
    while i < object.fields.len() {
        let field = &object.fields[i];
        if field.flatten {
            let inner = match field.shape {
                Shape::Nullable(inner) => *inner,
                other => other,
            };
            if let Shape::Struct(inner) = inner {
                if !inner.approved && has_json_key(inner, key) {
                    return true;
                }
            }
        } else if !matches!(field.presence, Presence::Never) && str_eq(field.json, key) {
            return true;
        }
        i += 1;
    }
    false
}

/// Data of shape `carried` feeding a step that deserializes `accepted`: when `accepted`
/// refuses unknown fields (`deny_unknown_fields`), every key the carried JSON may hold must
/// be one it knows — an approval gate's `approval`, for one.
pub const fn check_flow(carried: &'static Shape, accepted: &'static Shape) -> Option<Message> {
    let (Shape::Struct(carried), Shape::Struct(accepted)) = (carried, accepted) else {
        return None;
    };
    if !denies_unknown(accepted) {
        return None;
    }
    match first_unknown_key(carried, accepted) {
        Some(key) => Some(
            Message::new()
                .push("this edge carries a field `")
                .push(key)
                .push("` that `")
                .push(accepted.name)
                .push("` does not have, and `")
                .push(accepted.name)
                .push("` is `#[serde(deny_unknown_fields)]`: the step would refuse its input on every run; drop `deny_unknown_fields` or take the carried type"),
        ),
        None => None,
    }
}

const fn first_unknown_key(
    carried: &'static Struct,
    accepted: &'static Struct,
) -> Option<&'static str> {
    let mut i = 0;
    while i < carried.fields.len() {
        let field = &carried.fields[i];
        if field.flatten {
            let inner = match field.shape {
                Shape::Nullable(inner) => *inner,
                other => other,
            };
            if let Shape::Struct(inner) = inner {
                if let Some(key) = first_unknown_key(inner, accepted) {
                    return Some(key);
                }
            }
        } else if !matches!(field.presence, Presence::Never) && !has_json_key(accepted, field.json)
        {
            return Some(field.json);
        }
        i += 1;
    }
    None
}

const fn denies_unknown(object: &'static Struct) -> bool {
    if object.deny_unknown_fields {
        return true;
    }
    let mut i = 0;
    while i < object.fields.len() {
        let field = &object.fields[i];
        if field.flatten {
            if let Shape::Struct(inner) = field.shape {
                if denies_unknown(inner) {
                    return true;
                }
            }
        }
        i += 1;
    }
    false
}

/// The workflow's run input: a value the API can start a run with.
pub const fn check_run_input(root: &'static Shape) -> Option<Message> {
    match root {
        Shape::Struct(_) | Shape::Map(_) | Shape::Any | Shape::Enum(_) => None,
        other => Some(
            Message::new()
                .push("a workflow's input must serialize as a JSON object (a struct), not as ")
                .push(describe(other)),
        ),
    }
}

const fn describe(shape: &Shape) -> &'static str {
    match shape {
        Shape::Any => "something Switchyard cannot see (custom `Serialize`, `serialize_with` or `serde_json::Value`)",
        Shape::Null => "`null`",
        Shape::Bool => "a bool",
        Shape::Integer | Shape::Number => "a number",
        Shape::String | Shape::OneOf(_) => "a string",
        Shape::Array(_) => "an array",
        Shape::Tuple(_) => "a fixed-length array (tuple)",
        Shape::Map(_) => "a JSON object with data keys (a map)",
        Shape::Nullable(_) => "a value that may be `null` (`Option`)",
        Shape::Struct(_) => "an object",
        Shape::Enum(_) => "an enum",
    }
}

/// The JSONPath (as IR segments) of a Rust field path, for the compiler. The workflow's
/// `const` checks have already refused every path this cannot resolve.
pub fn json_path<T: JsonShape>(rust_path: &[&str]) -> Vec<String> {
    match resolve(&T::SHAPE, rust_path) {
        Ok(resolved) => resolved.path.to_strings(),
        Err(message) => panic!("{}", message.as_str()),
    }
}

/// The JSON path (as IR segments) a gate's summary entry reads, for the compiler. The
/// workflow's `const` checks have already refused every path this cannot resolve.
pub fn summary_path<T: JsonShape>(rust_path: &[&str]) -> Vec<String> {
    match resolve_for(&T::SHAPE, rust_path, Reader::Summary) {
        Ok(resolved) => resolved.path.to_strings(),
        Err(message) => panic!("{}", message.as_str()),
    }
}

/// The path and string a `match` arm compares, for the compiler.
pub fn variant_rule<T: JsonShape>(rust_path: &[&str], variant: &str) -> (Vec<String>, String) {
    match variant_test(&T::SHAPE, rust_path, variant) {
        Ok(test) => (test.path.to_strings(), test.value.to_owned()),
        Err(message) => panic!("{}", message.as_str()),
    }
}

macro_rules! leaf {
    ($shape:ident: $($ty:ty),*) => {
        $(impl JsonShape for $ty { const SHAPE: Shape = Shape::$shape; })*
    };
}

leaf!(Bool: bool);
leaf!(Integer: i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
leaf!(Number: f32, f64);
leaf!(String: String, str, char);
leaf!(Null: ());
leaf!(Any: serde_json::Value);

impl JsonShape for serde_json::Map<String, serde_json::Value> {
    const SHAPE: Shape = Shape::Map(&Shape::Any);
}

macro_rules! wrapper {
    ($($ty:ident),*) => {
        $(impl<T: JsonShape + ?Sized> JsonShape for $ty<T> { const SHAPE: Shape = T::SHAPE; })*
    };
}
use std::{boxed::Box, rc::Rc, sync::Arc};
wrapper!(Box, Rc, Arc);

impl<T: JsonShape + ?Sized> JsonShape for &T {
    const SHAPE: Shape = T::SHAPE;
}

impl<T: JsonShape> JsonShape for Option<T> {
    const SHAPE: Shape = Shape::Nullable(&T::SHAPE);
}

macro_rules! list {
    ($($ty:ident),*) => {
        $(impl<T: JsonShape> JsonShape for std::collections::$ty<T> { const SHAPE: Shape = Shape::Array(&T::SHAPE); })*
    };
}
list!(VecDeque, LinkedList, BTreeSet, BinaryHeap);

impl<T: JsonShape> JsonShape for Vec<T> {
    const SHAPE: Shape = Shape::Array(&T::SHAPE);
}

impl<T: JsonShape> JsonShape for [T] {
    const SHAPE: Shape = Shape::Array(&T::SHAPE);
}

impl<T: JsonShape, const N: usize> JsonShape for [T; N] {
    const SHAPE: Shape = Shape::Array(&T::SHAPE);
}

impl<T: JsonShape, S> JsonShape for std::collections::HashSet<T, S> {
    const SHAPE: Shape = Shape::Array(&T::SHAPE);
}

impl<K, V: JsonShape, S> JsonShape for std::collections::HashMap<K, V, S> {
    const SHAPE: Shape = Shape::Map(&V::SHAPE);
}

impl<K, V: JsonShape> JsonShape for std::collections::BTreeMap<K, V> {
    const SHAPE: Shape = Shape::Map(&V::SHAPE);
}

macro_rules! tuple {
    ($($name:ident),+) => {
        impl<$($name: JsonShape),+> JsonShape for ($($name,)+) {
            const SHAPE: Shape = Shape::Tuple(&[$(&$name::SHAPE),+]);
        }
    };
}
tuple!(A);
tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);
tuple!(A, B, C, D, E);
tuple!(A, B, C, D, E, F);
tuple!(A, B, C, D, E, F, G);
tuple!(A, B, C, D, E, F, G, H);
tuple!(A, B, C, D, E, F, G, H, I);
tuple!(A, B, C, D, E, F, G, H, I, J);
tuple!(A, B, C, D, E, F, G, H, I, J, K);
tuple!(A, B, C, D, E, F, G, H, I, J, K, L);

#[cfg(test)]
mod tests {
    use super::*;

    static INNER: Struct = Struct {
        name: "Inner",
        fields: &[Field {
            rust: "score",
            json: "Score",
            shape: &Shape::Number,
            presence: Presence::Always,
            flatten: false,
        }],
        deny_unknown_fields: false,
        approved: false,
    };
    static OUTER: Shape = Shape::Struct(&Struct {
        name: "Outer",
        fields: &[
            Field {
                rust: "inner",
                json: "inner",
                shape: &Shape::Struct(&INNER),
                presence: Presence::Always,
                flatten: true,
            },
            Field {
                rust: "kind",
                json: "type",
                shape: &Shape::String,
                presence: Presence::Always,
                flatten: false,
            },
            Field {
                rust: "maybe",
                json: "maybe",
                shape: &Shape::Number,
                presence: Presence::Sometimes,
                flatten: false,
            },
        ],
        deny_unknown_fields: false,
        approved: false,
    });

    #[test]
    fn flattened_and_renamed_fields_resolve_to_their_json_keys() {
        let path = resolve(&OUTER, &["inner", "score"]).map(|r| r.path.to_strings());
        assert_eq!(path.ok(), Some(vec!["Score".to_owned()]));
        let path = resolve(&OUTER, &["score"]).map(|r| r.path.to_strings());
        assert_eq!(path.ok(), Some(vec!["Score".to_owned()]));
        let path = resolve(&OUTER, &["kind"]).map(|r| r.path.to_strings());
        assert_eq!(path.ok(), Some(vec!["type".to_owned()]));
    }

    #[test]
    fn fields_that_may_be_absent_are_refused() {
        let error = check_condition(&OUTER, &["maybe"], LiteralKind::Number, "");
        assert!(error.is_some_and(|m| m.as_str().contains("may be absent")));
        let error = check_condition(&OUTER, &["kind"], LiteralKind::Number, "");
        assert!(error.is_some_and(|m| m.as_str().contains("serializes as a string")));
        assert!(check_condition(&OUTER, &["kind"], LiteralKind::String, "x").is_none());
    }

    static KIND: Enum = Enum {
        name: "Kind",
        repr: Repr::External,
        variants: &[],
    };
    static GATE: Shape = Shape::Struct(&Struct {
        name: "Gate",
        fields: &[
            Field {
                rust: "outer",
                json: "outer",
                shape: &OUTER,
                presence: Presence::Always,
                flatten: false,
            },
            Field {
                rust: "secret",
                json: "secret",
                shape: &Shape::String,
                presence: Presence::Never,
                flatten: false,
            },
            Field {
                rust: "kind",
                json: "kind",
                shape: &Shape::Enum(&KIND),
                presence: Presence::Always,
                flatten: false,
            },
            Field {
                rust: "note",
                json: "it's",
                shape: &Shape::Nullable(&Shape::Struct(&INNER)),
                presence: Presence::Always,
                flatten: false,
            },
        ],
        deny_unknown_fields: false,
        approved: false,
    });

    fn summary(entries: &[&[&str]], index: usize) -> Option<String> {
        check_summary_field(&GATE, entries, index).map(|m| m.as_str().to_owned())
    }

    #[test]
    fn a_summary_shows_values_that_may_be_absent_and_keys_a_jsonpath_cannot_address() {
        let entries: &[&[&str]] = &[&["outer", "maybe"], &["note"], &["outer", "kind"]];
        for index in 0..entries.len() {
            assert_eq!(summary(entries, index), None, "{:?}", entries[index]);
        }
        let path =
            resolve_for(&GATE, &["outer", "maybe"], Reader::Summary).map(|r| r.path.to_strings());
        assert_eq!(
            path.ok(),
            Some(vec!["outer".to_owned(), "maybe".to_owned()])
        );
        assert!(resolve(&GATE, &["outer", "maybe"]).is_err());
    }

    #[test]
    fn a_summary_refuses_what_it_could_never_show() {
        let cases: &[(&[&str], &str)] = &[
            (&["secret"], "never serialized"),
            (&["kind", "x"], "inside the enum `Kind`"),
            (
                &["note", "score"],
                "through an `Option`; list the `Option` field itself",
            ),
            (&["outer", "nope"], "`Outer` has no serialized field `nope`"),
        ];
        for (path, expected) in cases {
            let message = summary(&[path], 0).unwrap_or_default();
            assert!(message.contains(expected), "{path:?}: {message}");
        }
    }

    #[test]
    fn a_summary_refuses_one_json_value_twice_however_it_is_reached() {
        let entries: &[&[&str]] = &[&["outer", "inner", "score"], &["note"], &["outer", "score"]];
        assert_eq!(summary(entries, 1), None);
        assert_eq!(
            summary(entries, 2).as_deref(),
            Some("the summary already shows this value, as `outer.inner.score`; list each field once")
        );
    }

    #[test]
    fn keys_a_jsonpath_cannot_address_are_refused() {
        assert!(check_key("is-vip").is_none());
        assert!(check_key("order total").is_none());
        assert!(check_key("it's").is_some_and(|m| m.as_str().contains("quote")));
        assert!(check_key("42").is_some_and(|m| m.as_str().contains("all digits")));
    }

    #[test]
    fn messages_cut_on_character_boundaries() {
        let long = "é".repeat(400);
        let message = Message::new().push(&long);
        assert!(message.as_str().chars().all(|c| c == 'é'));
        assert_eq!(message.as_str().len(), 512);
    }
}
