//! An agent's published JSON Schemas describe exactly what serde writes: every value of the
//! type validates against its schema, and JSON serde would not write (a Rust name where a
//! rename applies, a missing tag, a wrong type) does not.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchyard_sdk::schema::{schema_of, DIALECT};
use switchyard_sdk::{Approved, JsonShape};

#[derive(Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    #[serde(rename = "total_usd")]
    total: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    coupon: Option<String>,
    note: Option<String>,
    #[serde(skip)]
    #[allow(dead_code)] // never serialized: that is the point
    internal: u32,
    #[serde(flatten)]
    audit: Audit,
    lines: Vec<(String, u32)>,
    tags: BTreeMap<String, bool>,
    status: Status,
    event: Event,
    step: Step,
    any: Shape,
}

#[derive(Serialize, Deserialize, JsonShape)]
struct Audit {
    created_by: String,
}

#[derive(Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Status {
    InReview,
    Paid { at: u64 },
    Refunded(f64),
}

#[derive(Serialize, Deserialize, JsonShape)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Event {
    Created,
    Moved { from: String, to: String },
    Wrapped(Audit),
}

#[derive(Serialize, Deserialize, JsonShape)]
#[serde(tag = "t", content = "c")]
enum Step {
    Start,
    Go(u32, String),
}

#[derive(Serialize, Deserialize, JsonShape)]
#[serde(untagged)]
enum Shape {
    Number(i64),
    Words { words: Vec<String> },
}

#[derive(Serialize, Deserialize, JsonShape)]
#[serde(deny_unknown_fields)]
struct Strict {
    #[serde(rename = "type")]
    kind: String,
}

fn validator<T: JsonShape>() -> jsonschema::Validator {
    let schema = schema_of::<T>();
    assert_eq!(schema["$schema"], DIALECT);
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("invalid schema {schema}: {e}"))
}

fn sample(status: Status, event: Event, step: Step, any: Shape, coupon: Option<&str>) -> Order {
    Order {
        order_id: "o-1".into(),
        total: 12.5,
        coupon: coupon.map(str::to_owned),
        note: None,
        internal: 7,
        audit: Audit {
            created_by: "ada".into(),
        },
        lines: vec![("pen".into(), 2)],
        tags: BTreeMap::from([("gift".into(), true)]),
        status,
        event,
        step,
        any,
    }
}

fn serialized<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("serializes")
}

#[test]
fn every_value_serde_writes_fits_the_schema() {
    let validator = validator::<Order>();
    let samples = [
        sample(
            Status::InReview,
            Event::Created,
            Step::Start,
            Shape::Number(3),
            None,
        ),
        sample(
            Status::Paid { at: 1 },
            Event::Moved {
                from: "a".into(),
                to: "b".into(),
            },
            Step::Go(1, "x".into()),
            Shape::Words {
                words: vec!["hi".into()],
            },
            Some("SAVE"),
        ),
        sample(
            Status::Refunded(2.0),
            Event::Wrapped(Audit {
                created_by: "bo".into(),
            }),
            Step::Start,
            Shape::Number(-1),
            None,
        ),
    ];
    for order in samples {
        let value = serialized(&order);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{value}: {errors:?}");
    }
}

/// Changes a good value into one serde would not write.
type Breaks = fn(&mut Value);

#[test]
fn json_serde_would_not_write_does_not_fit() {
    let validator = validator::<Order>();
    let good = serialized(&sample(
        Status::Paid { at: 1 },
        Event::Created,
        Step::Go(2, "y".into()),
        Shape::Number(1),
        Some("C"),
    ));
    assert!(validator.is_valid(&good), "{good}");
    let broken: [(&str, Breaks); 12] = [
        // The Rust name, not the serialized key.
        ("rust field name", |v| {
            let id = v["orderId"].take();
            v.as_object_mut().map(|o| o.remove("orderId"));
            v["order_id"] = id;
        }),
        ("renamed field missing", |v| {
            v.as_object_mut().map(|o| o.remove("total_usd"));
        }),
        ("wrong type", |v| v["total_usd"] = json!("12.5")),
        ("flattened field missing", |v| {
            v.as_object_mut().map(|o| o.remove("created_by"));
        }),
        ("tuple too long", |v| v["lines"][0] = json!(["pen", 2, 3])),
        ("map value type", |v| v["tags"]["gift"] = json!("yes")),
        ("variant by its Rust name", |v| {
            v["status"] = json!({ "Paid": { "at": 1 } })
        }),
        ("unknown unit variant", |v| v["status"] = json!("DONE")),
        ("internal tag missing", |v| v["event"] = json!({})),
        ("internal tag unknown", |v| {
            v["event"] = json!({ "kind": "deleted" })
        }),
        ("adjacent content missing", |v| {
            v["step"] = json!({ "t": "Go" })
        }),
        ("untagged fits no variant", |v| v["any"] = json!("three")),
    ];
    for (why, break_it) in broken {
        let mut value = good.clone();
        break_it(&mut value);
        assert!(!validator.is_valid(&value), "{why}: {value} was accepted");
    }
}

#[test]
fn optional_keys_are_not_required_and_skipped_fields_do_not_appear() {
    let schema = schema_of::<Order>();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // `skip_serializing_if` may leave `coupon` out; `note` is always written, maybe null.
    assert!(!required.contains(&"coupon"), "{required:?}");
    assert!(required.contains(&"note") && required.contains(&"created_by"));
    assert!(schema["properties"].get("internal").is_none());
    assert_eq!(schema["title"], "Order");
}

#[test]
fn deny_unknown_fields_closes_the_object_and_gates_add_their_decision() {
    let strict = validator::<Strict>();
    assert!(strict.is_valid(&json!({ "type": "a" })));
    assert!(!strict.is_valid(&json!({ "type": "a", "extra": 1 })));
    assert!(!strict.is_valid(&json!({ "kind": "a" })));

    let approved = validator::<Approved<Audit>>();
    let value = serialized(&Approved {
        subject: Audit {
            created_by: "ada".into(),
        },
        approval: switchyard_sdk::ApprovalDecision {
            decision: "approve".into(),
            approver: Some("lee".into()),
            notes: None,
            choice: None,
            auto_approved: false,
        },
    });
    assert!(approved.is_valid(&value), "{value}");
    let mut maybe = value.clone();
    maybe["approval"]["decision"] = json!("maybe");
    assert!(!approved.is_valid(&maybe));
}

#[derive(Serialize, Deserialize, JsonShape)]
struct Counts {
    label: String,
    #[serde(flatten)]
    counts: BTreeMap<String, u32>,
}

#[derive(Serialize, Deserialize, JsonShape)]
#[serde(tag = "kind")]
enum Tally {
    Counts(BTreeMap<String, u32>),
}

#[test]
fn a_flattened_map_types_only_the_keys_the_object_does_not_name() {
    let counts = validator::<Counts>();
    let value = serialized(&Counts {
        label: "votes".into(),
        counts: BTreeMap::from([("yes".to_owned(), 3), ("no".to_owned(), 1)]),
    });
    assert!(counts.is_valid(&value), "{value}");
    assert!(!counts.is_valid(&json!({ "label": "votes", "yes": "three" })));

    let tally = validator::<Tally>();
    let value = serialized(&Tally::Counts(BTreeMap::from([("yes".to_owned(), 3)])));
    assert!(tally.is_valid(&value), "{value}");
    assert!(!tally.is_valid(&json!({ "kind": "Counts", "yes": "three" })));
}
