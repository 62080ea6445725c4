//! Whether the JSON one step writes can be read by the next, decided from their shapes.
//!
//! Graphs declared in Rust have rustc check every edge (`FlowsInto`). Graphs submitted at run
//! time are checked here, on the same serde-true shapes: a key the next step requires and the
//! previous one never writes (or may leave out, or may write as `null`), a JSON type that
//! differs, a tuple of the wrong length, a variant the reader does not know. What neither side
//! can see into (custom `Serialize`, `serde_json::Value`) is accepted: the agent's own input
//! check still refuses a bad value at run time.

use crate::shape::{Enum, Field, Presence, Shape, Struct};

/// Why the data cannot flow: where (a dotted path into the JSON, `` for the whole) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{detail}", if path.is_empty() { String::new() } else { format!("at `{path}`: ") })]
pub struct FlowError {
    pub path: String,
    pub detail: String,
}

/// What an edge carries: one step's output, or a parallel stage's outputs in branch order
/// (a JSON array, as Step Functions writes it).
#[derive(Clone, Copy, Debug)]
pub enum Carried<'a> {
    One(&'a Shape),
    Outputs(&'a [&'static Shape]),
}

/// `Ok` if every value written as `carried` can be read as `input`.
pub fn check(carried: Carried<'_>, input: &Shape) -> Result<(), FlowError> {
    match carried {
        Carried::One(output) => fits(output, input, ""),
        Carried::Outputs(outputs) => match input {
            Shape::Any => Ok(()),
            Shape::Tuple(elements) if elements.len() == outputs.len() => outputs
                .iter()
                .zip(elements.iter())
                .enumerate()
                .try_for_each(|(i, (o, e))| fits(o, e, &format!("[{i}]"))),
            Shape::Tuple(elements) => Err(FlowError {
                path: String::new(),
                detail: format!(
                    "the step takes {} values and its dependencies write {}",
                    elements.len(),
                    outputs.len()
                ),
            }),
            Shape::Array(element) => outputs
                .iter()
                .enumerate()
                .try_for_each(|(i, o)| fits(o, element, &format!("[{i}]"))),
            other => Err(mismatch("", other, "a list of its dependencies' outputs")),
        },
    }
}

fn kind(shape: &Shape) -> String {
    match shape {
        Shape::Any => "any JSON".into(),
        Shape::Null => "null".into(),
        Shape::Bool => "a boolean".into(),
        Shape::Integer => "an integer".into(),
        Shape::Number => "a number".into(),
        Shape::String => "a string".into(),
        Shape::OneOf(values) => format!("one of {}", values.join(", ")),
        Shape::Array(_) => "a list".into(),
        Shape::Tuple(elements) => format!("a list of {} values", elements.len()),
        Shape::Map(_) => "an object keyed by data".into(),
        Shape::Nullable(inner) => format!("{} or null", kind(inner)),
        Shape::Struct(object) => format!("a `{}` object", object.name),
        Shape::Enum(enumeration) => format!("a `{}`", enumeration.name),
    }
}

fn mismatch(path: &str, input: &Shape, written: &str) -> FlowError {
    FlowError {
        path: path.to_owned(),
        detail: format!("the step reads {}, and gets {written}", kind(input)),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn fits(output: &Shape, input: &Shape, path: &str) -> Result<(), FlowError> {
    match (output, input) {
        (_, Shape::Any) | (Shape::Any, _) => Ok(()),
        (Shape::Null, Shape::Nullable(_) | Shape::Null) => Ok(()),
        (Shape::Nullable(o), Shape::Nullable(i)) => fits(o, i, path),
        (other, Shape::Nullable(i)) => fits(other, i, path),
        (Shape::Nullable(_), other) => Err(FlowError {
            path: path.to_owned(),
            detail: format!(
                "the step reads {}, and the value may be null (an `Option`)",
                kind(other)
            ),
        }),
        (Shape::Bool, Shape::Bool)
        | (Shape::String | Shape::OneOf(_), Shape::String)
        | (Shape::Integer, Shape::Integer | Shape::Number)
        | (Shape::Number, Shape::Number) => Ok(()),
        (Shape::OneOf(written), Shape::OneOf(read)) => {
            match written.iter().find(|w| !read.contains(w)) {
                None => Ok(()),
                Some(value) => Err(FlowError {
                    path: path.to_owned(),
                    detail: format!(
                        "`{value}` may be written, and the step reads one of {}",
                        read.join(", ")
                    ),
                }),
            }
        }
        (Shape::Array(o), Shape::Array(i)) => fits(o, i, &format!("{path}[]")),
        (Shape::Tuple(os), Shape::Array(i)) => os
            .iter()
            .enumerate()
            .try_for_each(|(n, o)| fits(o, i, &format!("{path}[{n}]"))),
        (Shape::Tuple(os), Shape::Tuple(is)) if os.len() == is.len() => os
            .iter()
            .zip(is.iter())
            .enumerate()
            .try_for_each(|(n, (o, i))| fits(o, i, &format!("{path}[{n}]"))),
        (Shape::Map(o), Shape::Map(i)) => fits(o, i, &format!("{path}.*")),
        (Shape::Struct(o), Shape::Struct(i)) => fits_object(o, i, path),
        // An object read as a map: every value it writes must fit the map's values.
        (Shape::Struct(o), Shape::Map(value)) => {
            let mut written = Vec::new();
            keys(o, false, &mut written);
            written
                .iter()
                .try_for_each(|(field, _)| fits(field.shape, value, &join(path, field.json)))
        }
        (Shape::Enum(o), Shape::Enum(i)) => fits_enum(o, i, path),
        (written, read) => Err(mismatch(path, read, &kind(written))),
    }
}

/// An object's keys as serde writes them, flattened fields' keys included, with whether a
/// flattened parent may leave them out.
fn keys(object: &'static Struct, optional: bool, out: &mut Vec<(&'static Field, bool)>) {
    for field in object.fields {
        if field.presence == Presence::Never {
            continue;
        }
        if field.flatten {
            let (inner, maybe) = match field.shape {
                Shape::Nullable(inner) => (*inner, true),
                other => (other, field.presence != Presence::Always),
            };
            if let Shape::Struct(inner) = inner {
                keys(inner, optional || maybe, out);
            }
            continue;
        }
        out.push((field, optional));
    }
}

fn fits_object(
    output: &'static Struct,
    input: &'static Struct,
    path: &str,
) -> Result<(), FlowError> {
    let (mut written, mut read) = (Vec::new(), Vec::new());
    keys(output, false, &mut written);
    keys(input, false, &mut read);
    for (field, _) in &read {
        let optional = matches!(field.shape, Shape::Nullable(_) | Shape::Any);
        let here = join(path, field.json);
        match written.iter().find(|(w, _)| w.json == field.json) {
            None if optional => {}
            None => {
                return Err(FlowError {
                    path: here,
                    detail: format!(
                        "`{}` requires `{}`, which `{}` never writes",
                        input.name, field.json, output.name
                    ),
                })
            }
            Some((w, maybe_absent)) => {
                if !optional && (*maybe_absent || w.presence == Presence::Sometimes) {
                    return Err(FlowError {
                        path: here,
                        detail: format!(
                            "`{}` requires `{}`, which `{}` may leave out (`skip_serializing_if` or a flattened `Option`)",
                            input.name, field.json, output.name
                        ),
                    });
                }
                fits(w.shape, field.shape, &here)?;
            }
        }
    }
    if input.deny_unknown_fields {
        if let Some((extra, _)) = written
            .iter()
            .find(|(w, _)| !read.iter().any(|(r, _)| r.json == w.json))
        {
            return Err(FlowError {
                path: join(path, extra.json),
                detail: format!(
                    "`{}` refuses unknown fields (`deny_unknown_fields`), and `{}` writes `{}`",
                    input.name, output.name, extra.json
                ),
            });
        }
    }
    Ok(())
}

fn fits_enum(output: &'static Enum, input: &'static Enum, path: &str) -> Result<(), FlowError> {
    if output.repr != input.repr {
        return Err(FlowError {
            path: path.to_owned(),
            detail: format!(
                "`{}` and `{}` are tagged differently (serde's enum representation)",
                output.name, input.name
            ),
        });
    }
    for variant in output.variants.iter().filter(|v| !v.skipped) {
        match input.variants.iter().find(|v| v.json == variant.json) {
            None => {
                return Err(FlowError {
                    path: path.to_owned(),
                    detail: format!(
                        "`{}` may be written as `{}`, a variant `{}` does not have",
                        output.name, variant.json, input.name
                    ),
                })
            }
            Some(read) => fits(variant.content, read.content, &join(path, variant.json))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::JsonShape;

    #[derive(Serialize, Deserialize, JsonShape)]
    struct Change {
        component: String,
        files: Vec<String>,
    }

    #[derive(Serialize, Deserialize, JsonShape)]
    struct Review {
        component: String,
        #[serde(default)]
        note: Option<String>,
    }

    #[derive(Serialize, Deserialize, JsonShape)]
    struct Renamed {
        #[serde(rename = "Component")]
        component: String,
    }

    #[derive(Serialize, Deserialize, JsonShape)]
    struct Sometimes {
        #[serde(skip_serializing_if = "String::is_empty")]
        component: String,
    }

    #[derive(Serialize, Deserialize, JsonShape)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        component: String,
    }

    fn one<A: JsonShape, B: JsonShape>() -> Result<(), FlowError> {
        check(Carried::One(&A::SHAPE), &B::SHAPE)
    }

    #[test]
    fn what_serde_writes_decides() {
        assert_eq!(one::<Change, Change>(), Ok(()));
        // Fewer fields read, an optional one absent: fine.
        assert_eq!(one::<Change, Review>(), Ok(()));
        let missing = one::<Renamed, Review>().expect_err("renamed key");
        assert_eq!(missing.path, "component");
        assert!(missing.detail.contains("never writes"), "{missing}");
        let maybe = one::<Sometimes, Review>().expect_err("may be absent");
        assert!(maybe.detail.contains("may leave out"), "{maybe}");
        let strict = one::<Change, Strict>().expect_err("unknown field");
        assert_eq!(strict.path, "files");
        assert_eq!(one::<i64, f64>(), Ok(()));
        assert!(one::<f64, i64>().is_err());
        assert!(one::<Option<Change>, Change>().is_err());
        assert_eq!(one::<Change, Option<Change>>(), Ok(()));
        let nested = one::<Vec<Renamed>, Vec<Review>>().expect_err("nested");
        assert_eq!(nested.path, "[].component");
    }

    #[test]
    fn a_stage_writes_a_list_of_its_outputs() {
        const BOTH: &[&Shape] = &[&Change::SHAPE, &Change::SHAPE];
        assert_eq!(
            check(Carried::Outputs(BOTH), &<(Change, Change)>::SHAPE),
            Ok(())
        );
        assert_eq!(check(Carried::Outputs(BOTH), &<Vec<Review>>::SHAPE), Ok(()));
        let three = check(Carried::Outputs(BOTH), &<(Change, Change, Change)>::SHAPE);
        assert!(three.is_err());
        let wrong = check(Carried::Outputs(BOTH), &<(Change, Renamed)>::SHAPE).expect_err("2nd");
        assert_eq!(wrong.path, "[1].Component");
        assert!(check(Carried::Outputs(BOTH), &Change::SHAPE).is_err());
    }
}
