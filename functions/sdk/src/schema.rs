//! JSON Schemas (draft 2020-12) of the JSON a type serializes to, from its [`Shape`].
//!
//! The registry publishes each agent's input and output with these. They come from the same
//! serde-true description the workflow checks use, so a schema cannot disagree with what
//! serde writes: keys after `rename`/`rename_all`, fields `skip_serializing_if` may leave
//! out (not `required`), `flatten`ed fields at the parent's level, and each enum
//! representation (external, internal `tag`, adjacent, untagged) as serde writes it. What
//! Switchyard cannot see (custom `Serialize`, `serialize_with`, `serde_json::Value`, a
//! recursive field) is the schema that accepts anything, `{}`.

use serde_json::{json, Map, Value};

use crate::shape::{Enum, JsonShape, Presence, Repr, Shape, Struct, Variant};

/// The dialect every schema here declares.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schema of `T`'s JSON, with its `$schema` dialect.
pub fn schema_of<T: JsonShape + ?Sized>() -> Value {
    document(&T::SHAPE)
}

/// The schema of a shape's JSON, with its `$schema` dialect.
pub fn document(shape: &Shape) -> Value {
    let mut schema = json_schema(shape);
    if let Value::Object(object) = &mut schema {
        object.insert("$schema".into(), Value::String(DIALECT.into()));
    }
    schema
}

/// The schema of a shape's JSON (no `$schema` key: it nests).
pub fn json_schema(shape: &Shape) -> Value {
    match shape {
        Shape::Any => json!({}),
        Shape::Null => json!({ "type": "null" }),
        Shape::Bool => json!({ "type": "boolean" }),
        Shape::Integer => json!({ "type": "integer" }),
        Shape::Number => json!({ "type": "number" }),
        Shape::String => json!({ "type": "string" }),
        Shape::OneOf(values) => json!({ "type": "string", "enum": values }),
        Shape::Array(element) => json!({ "type": "array", "items": json_schema(element) }),
        Shape::Tuple(elements) => json!({
            "type": "array",
            "prefixItems": elements.iter().map(|e| json_schema(e)).collect::<Vec<_>>(),
            "minItems": elements.len(),
            "maxItems": elements.len(),
        }),
        Shape::Map(value) => json!({
            "type": "object",
            "additionalProperties": json_schema(value),
        }),
        Shape::Nullable(inner) => nullable(json_schema(inner)),
        Shape::Struct(object) => struct_schema(object, None),
        Shape::Enum(enumeration) => enum_schema(enumeration),
    }
}

fn nullable(inner: Value) -> Value {
    if inner == json!({}) {
        return inner;
    }
    json!({ "anyOf": [inner, { "type": "null" }] })
}

/// An object's properties, required keys and the schemas of what it flattens.
#[derive(Default)]
struct ObjectParts {
    properties: Map<String, Value>,
    required: Vec<String>,
    /// Flattened values that are not plain objects (enums, maps): each must also hold.
    all_of: Vec<Value>,
    /// A flattened map or opaque value takes keys this object does not name.
    open: bool,
    /// What a flattened map's values must be: the schema of the keys this object does not
    /// name.
    additional: Option<Value>,
}

impl ObjectParts {
    fn add_fields(&mut self, object: &Struct, optional: bool) {
        for field in object.fields {
            if field.presence == Presence::Never {
                continue;
            }
            if field.flatten {
                let (inner, inner_optional) = match field.shape {
                    Shape::Nullable(inner) => (*inner, true),
                    other => (other, field.presence != Presence::Always),
                };
                match inner {
                    Shape::Struct(inner) => self.add_fields(inner, optional || inner_optional),
                    // The map takes the keys the object does not name, so its values'
                    // schema is the object's `additionalProperties` (an `allOf` would hold
                    // the named keys to it too).
                    Shape::Map(value) => {
                        self.open = true;
                        if !matches!(value, Shape::Any) {
                            self.additional = Some(json_schema(value));
                        }
                    }
                    Shape::Any => self.open = true,
                    other => {
                        self.open = true;
                        let schema = json_schema(other);
                        self.all_of.push(if optional || inner_optional {
                            nullable(schema)
                        } else {
                            schema
                        });
                    }
                }
                continue;
            }
            self.properties
                .insert(field.json.to_owned(), json_schema(field.shape));
            if field.presence == Presence::Always && !optional {
                self.required.push(field.json.to_owned());
            }
        }
    }

    fn into_schema(self, title: Option<&str>, closed: bool) -> Value {
        let mut schema = Map::new();
        if let Some(title) = title {
            schema.insert("title".into(), json!(title));
        }
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), Value::Object(self.properties));
        if !self.required.is_empty() {
            schema.insert("required".into(), json!(self.required));
        }
        if closed && !self.open {
            schema.insert("additionalProperties".into(), json!(false));
        } else if let Some(additional) = self.additional {
            schema.insert("additionalProperties".into(), additional);
        }
        if !self.all_of.is_empty() {
            schema.insert("allOf".into(), Value::Array(self.all_of));
        }
        Value::Object(schema)
    }
}

/// A struct's object; `tag` is an internally tagged enum's `"tag": "Variant"` pair.
fn struct_schema(object: &Struct, tag: Option<(&str, &str)>) -> Value {
    let mut parts = ObjectParts::default();
    if let Some((tag, value)) = tag {
        parts
            .properties
            .insert(tag.into(), json!({ "const": value }));
        parts.required.push(tag.into());
    }
    parts.add_fields(object, false);
    parts.into_schema(Some(object.name), object.deny_unknown_fields)
}

fn enum_schema(enumeration: &Enum) -> Value {
    let variants: Vec<Value> = enumeration
        .variants
        .iter()
        .filter(|v| !v.skipped)
        .map(|v| variant_schema(enumeration.repr, v))
        .collect();
    let mut schema = Map::new();
    schema.insert("title".into(), json!(enumeration.name));
    match variants.len() {
        // An enum with nothing serde can write: no value fits.
        0 => {
            schema.insert("not".into(), json!({}));
        }
        _ => {
            schema.insert("anyOf".into(), Value::Array(variants));
        }
    }
    Value::Object(schema)
}

fn variant_schema(repr: Repr, variant: &Variant) -> Value {
    let content = || json_schema(variant.content);
    if variant.untagged {
        return content();
    }
    let name = variant.json;
    match repr {
        Repr::External if variant.unit => json!({ "const": name }),
        Repr::External => json!({
            "type": "object",
            "properties": { name: content() },
            "required": [name],
            "additionalProperties": false,
        }),
        Repr::Internal { tag } => match variant.content {
            Shape::Struct(object) => struct_schema(object, Some((tag, name))),
            // A unit (or a newtype of a unit) is the tag alone.
            Shape::Null => json!({
                "type": "object",
                "properties": { tag: { "const": name } },
                "required": [tag],
            }),
            // A newtype of a map: the tag beside its keys, which are the map's values.
            Shape::Map(value) => json!({
                "type": "object",
                "properties": { tag: { "const": name } },
                "required": [tag],
                "additionalProperties": json_schema(value),
            }),
            // A newtype of an opaque value: the tag beside its keys.
            other => json!({
                "type": "object",
                "properties": { tag: { "const": name } },
                "required": [tag],
                "allOf": [json_schema(other)],
            }),
        },
        Repr::Adjacent { tag, .. } if variant.unit => json!({
            "type": "object",
            "properties": { tag: { "const": name } },
            "required": [tag],
        }),
        Repr::Adjacent { tag, content: key } => json!({
            "type": "object",
            "properties": { tag: { "const": name }, key: content() },
            "required": [tag, key],
        }),
        Repr::Untagged => content(),
    }
}
