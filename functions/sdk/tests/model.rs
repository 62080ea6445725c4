//! The typed conversation (`model.ask::<T>()`, `model.chat(..).tool(..)`) over a scripted
//! model, and the embedded model's answers: they fit the schema, decode, and do not vary.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchyard_sdk::schema::{document, json_schema};
use switchyard_sdk::{
    AssistantTurn, BoxFuture, EmbeddedModel, JsonShape, Model, ModelError, ModelRequest,
    OutputSchema, Prompt, Reply, Tool, ToolCall, Turn,
};
use tokio::sync::Barrier;

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonShape)]
struct Verdict {
    decision: Decision,
    reasons: Vec<Reason>,
    note: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "snake_case")]
enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonShape)]
struct Reason {
    text: String,
    weight: f64,
}

fn verdict_json() -> Value {
    json!({"decision": "approve", "reasons": [{"text": "fits", "weight": 0.9}], "note": null})
}

fn verdict() -> Verdict {
    Verdict {
        decision: Decision::Approve,
        reasons: vec![Reason {
            text: "fits".into(),
            weight: 0.9,
        }],
        note: None,
    }
}

/// A tool's arguments.
#[derive(Debug, Deserialize, JsonShape)]
struct Lookup {
    id: String,
}

fn prompt() -> Prompt {
    Prompt::new("You judge leads.", "Judge lead 42.")
}

/// Answers from a script, in order, and records every request.
struct Scripted {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<ModelRequest>>,
}

impl Scripted {
    fn new(replies: impl IntoIterator<Item = Reply>) -> Self {
        Scripted {
            replies: Mutex::new(replies.into_iter().collect()),
            requests: Mutex::new(Vec::new()),
        }
    }

    fn requests(&self) -> Vec<ModelRequest> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Model for Scripted {
    fn name(&self) -> &str {
        "scripted:test"
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        Box::pin(async move {
            self.requests.lock().expect("lock").push(request.clone());
            self.replies
                .lock()
                .expect("lock")
                .pop_front()
                .ok_or_else(|| ModelError::Malformed("the script has no more replies".into()))
        })
    }
}

/// Delegates to a model and records every request.
struct Recording<M> {
    inner: M,
    requests: Mutex<Vec<ModelRequest>>,
}

impl<M: Model> Model for Recording<M> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn respond<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<Reply, ModelError>> {
        self.requests.lock().expect("lock").push(request.clone());
        self.inner.respond(request)
    }
}

fn answer(value: Value) -> Reply {
    Reply {
        answer: Some(value),
        model: "scripted:test".into(),
        ..Reply::default()
    }
}

fn calls(calls: &[(&str, &str, Value)]) -> Reply {
    Reply {
        tool_calls: calls
            .iter()
            .map(|(id, name, arguments)| ToolCall {
                id: (*id).to_owned(),
                name: (*name).to_owned(),
                arguments: arguments.clone(),
            })
            .collect(),
        model: "scripted:test".into(),
        ..Reply::default()
    }
}

/// A tool that counts its calls and echoes the id it was given.
fn counted(name: &str, count: &Arc<AtomicU32>) -> Tool {
    let count = Arc::clone(count);
    Tool::new(name, "Looks a lead up", move |args: Lookup| {
        count.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, String>(json!({ "id": args.id, "score": 3 })) }
    })
}

/// The results the request sent back for the assistant turn before them.
fn tool_results(request: &ModelRequest) -> Vec<switchyard_sdk::ToolResult> {
    match request.turns.last() {
        Some(Turn::ToolResults { results }) => results.clone(),
        other => panic!("expected tool results last, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fitting_answer_is_decoded_and_the_request_carries_the_schema() {
    let script = Scripted::new([answer(verdict_json())]);
    let model: &dyn Model = &script;
    assert_eq!(
        model.ask::<Verdict>(prompt()).await.expect("fits"),
        verdict()
    );

    let requests = script.requests();
    assert_eq!(requests.len(), 1);
    let output = requests[0].output.as_ref().expect("a schema");
    assert_eq!(output.name, "Verdict");
    assert_eq!(output.schema, json_schema(&Verdict::SHAPE));
    assert!(requests[0].turns.is_empty() && requests[0].tools.is_empty());
}

#[tokio::test]
async fn an_answer_given_as_fenced_json_text_is_decoded() {
    let text = format!("```json\n{}\n```", verdict_json());
    let script = Scripted::new([Reply {
        text: Some(text),
        ..Reply::default()
    }]);
    let model: &dyn Model = &script;
    assert_eq!(
        model.ask::<Verdict>(prompt()).await.expect("fits"),
        verdict()
    );
}

#[tokio::test]
async fn an_answer_that_does_not_fit_is_sent_back_with_what_is_wrong() {
    let bad = json!({"decision": "maybe", "reasons": [], "note": null});
    let script = Scripted::new([answer(bad.clone()), answer(verdict_json())]);
    let model: &dyn Model = &script;
    assert_eq!(
        model.ask::<Verdict>(prompt()).await.expect("fits"),
        verdict()
    );

    let requests = script.requests();
    assert_eq!(requests.len(), 2);
    let turns = &requests[1].turns;
    assert_eq!(turns.len(), 2, "{turns:?}");
    assert_eq!(
        turns[0],
        Turn::Assistant(AssistantTurn {
            answer: Some(bad),
            ..AssistantTurn::default()
        })
    );
    match &turns[1] {
        Turn::Correction { message } => {
            assert!(
                message.contains("`decision`") && message.contains("maybe"),
                "{message}"
            );
        }
        other => panic!("expected a correction, got {other:?}"),
    }
    assert_eq!(requests[1].output, requests[0].output);
}

#[tokio::test]
async fn text_that_is_not_json_is_corrected() {
    let script = Scripted::new([
        Reply {
            text: Some("Approve, I think.".into()),
            ..Reply::default()
        },
        answer(verdict_json()),
    ]);
    let model: &dyn Model = &script;
    assert_eq!(
        model.ask::<Verdict>(prompt()).await.expect("fits"),
        verdict()
    );
    match &script.requests()[1].turns[1] {
        Turn::Correction { message } => assert!(message.contains("not JSON"), "{message}"),
        other => panic!("expected a correction, got {other:?}"),
    }
}

#[tokio::test]
async fn two_answers_that_do_not_fit_are_invalid_output() {
    let script = Scripted::new([
        answer(json!({"decision": "maybe"})),
        answer(json!({"decision": "approve", "reasons": "none", "note": null})),
        answer(verdict_json()),
    ]);
    let model: &dyn Model = &script;
    let err = model.ask::<Verdict>(prompt()).await.expect_err("invalid");
    match &err {
        ModelError::InvalidOutput {
            type_name,
            attempts,
            problem,
        } => {
            assert!(type_name.ends_with("Verdict"), "{type_name}");
            assert_eq!(*attempts, 2);
            assert!(problem.contains("`reasons`"), "{problem}");
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(ModelError::INVALID_OUTPUT, "Model.InvalidOutput");
    assert_eq!(script.requests().len(), 2);
}

#[tokio::test]
async fn the_number_of_corrections_is_configurable() {
    let script = Scripted::new([answer(json!(1)), answer(verdict_json())]);
    let model: &dyn Model = &script;
    let err = model
        .chat(prompt())
        .corrections(0)
        .ask::<Verdict>()
        .await
        .expect_err("no correction allowed");
    assert!(matches!(err, ModelError::InvalidOutput { attempts: 1, .. }));
    assert_eq!(script.requests().len(), 1);

    let script = Scripted::new([answer(json!(1)), answer(json!(2)), answer(verdict_json())]);
    let model: &dyn Model = &script;
    let verdict_after_two = model.chat(prompt()).corrections(2).ask::<Verdict>().await;
    assert_eq!(verdict_after_two.expect("fits"), verdict());
    // Each correction is remembered: answer, correction, answer, correction.
    assert_eq!(script.requests()[2].turns.len(), 4);
}

#[tokio::test]
async fn the_calls_of_one_turn_run_side_by_side_and_go_back_together() {
    // Each tool waits for the other: run one after the other, both would time out.
    let barrier = Arc::new(Barrier::new(2));
    let meeting = |name: &str| {
        let barrier = Arc::clone(&barrier);
        Tool::new(name, "Waits for the other tool", move |args: Lookup| {
            let barrier = Arc::clone(&barrier);
            async move {
                tokio::time::timeout(Duration::from_secs(2), barrier.wait())
                    .await
                    .map_err(|_| "the other call did not run beside this one")?;
                Ok::<_, &str>(json!({ "id": args.id }))
            }
        })
    };
    let script = Scripted::new([
        calls(&[
            ("c1", "crm", json!({"id": "42"})),
            ("c2", "web", json!({"id": "43"})),
        ]),
        answer(verdict_json()),
    ]);
    let model: &dyn Model = &script;
    let verdict_with_tools = model
        .chat(prompt())
        .tool(meeting("crm"))
        .tool(meeting("web"))
        .ask::<Verdict>()
        .await;
    assert_eq!(verdict_with_tools.expect("fits"), verdict());

    let requests = script.requests();
    assert_eq!(requests.len(), 2);
    let names: Vec<&str> = requests[0].tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["crm", "web"]);
    assert_eq!(
        requests[0].tools[0].input_schema,
        json_schema(&Lookup::SHAPE)
    );
    let results = tool_results(&requests[1]);
    let summary: Vec<(&str, &str, &Value, bool)> = results
        .iter()
        .map(|r| (r.call_id.as_str(), r.name.as_str(), &r.content, r.is_error))
        .collect();
    assert_eq!(
        summary,
        [
            ("c1", "crm", &json!({"id": "42"}), false),
            ("c2", "web", &json!({"id": "43"}), false)
        ]
    );
    match &requests[1].turns[0] {
        Turn::Assistant(turn) => assert_eq!(turn.tool_calls.len(), 2),
        other => panic!("expected the assistant's calls, got {other:?}"),
    }
}

#[tokio::test]
async fn tool_rounds_are_bounded() {
    let round = || calls(&[("c", "crm", json!({"id": "1"}))]);
    let script = Scripted::new([round(), round(), round(), answer(verdict_json())]);
    let count = Arc::new(AtomicU32::new(0));
    let model: &dyn Model = &script;
    let err = model
        .chat(prompt())
        .tool(counted("crm", &count))
        .tool_rounds(2)
        .ask::<Verdict>()
        .await
        .expect_err("too many rounds");
    assert!(
        matches!(err, ModelError::TooManyToolRounds { rounds: 2 }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(script.requests().len(), 3);
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_call_to_an_unknown_tool_goes_back_as_an_error() {
    let script = Scripted::new([calls(&[("c1", "nope", json!({}))]), answer(verdict_json())]);
    let count = Arc::new(AtomicU32::new(0));
    let model: &dyn Model = &script;
    let verdict_after_error = model
        .chat(prompt())
        .tool(counted("crm", &count))
        .ask::<Verdict>()
        .await;
    assert_eq!(verdict_after_error.expect("fits"), verdict());
    let results = tool_results(&script.requests()[1]);
    assert_eq!(results.len(), 1);
    assert!(results[0].is_error);
    assert_eq!(results[0].call_id, "c1");
    assert_eq!(results[0].content, json!("there is no tool named `nope`"));
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn arguments_that_do_not_decode_go_back_as_an_error() {
    let script = Scripted::new([
        calls(&[
            ("c1", "crm", json!({"ident": 42})),
            ("c2", "crm", json!({"id": 42})),
            ("c3", "crm", json!("not JSON {")),
        ]),
        answer(verdict_json()),
    ]);
    let count = Arc::new(AtomicU32::new(0));
    let model: &dyn Model = &script;
    let verdict_after_errors = model
        .chat(prompt())
        .tool(counted("crm", &count))
        .ask::<Verdict>()
        .await;
    assert_eq!(verdict_after_errors.expect("fits"), verdict());
    let results = tool_results(&script.requests()[1]);
    let messages: Vec<&str> = results
        .iter()
        .map(|r| {
            assert!(r.is_error, "{r:?}");
            r.content.as_str().expect("a message")
        })
        .collect();
    assert!(messages[0].contains("`id`") && messages[0].contains("missing field"));
    assert!(messages[1].contains("`id`") && messages[1].contains("invalid type"));
    assert!(messages[2].contains("`arguments`"), "{}", messages[2]);
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_tool_error_goes_back_to_the_model() {
    let failing = Tool::new("crm", "Always fails", |_: Lookup| async {
        Err::<Value, _>("the CRM is down")
    });
    let script = Scripted::new([
        calls(&[("c1", "crm", json!({"id": "1"}))]),
        answer(verdict_json()),
    ]);
    let model: &dyn Model = &script;
    let verdict_after_error = model.chat(prompt()).tool(failing).ask::<Verdict>().await;
    assert_eq!(verdict_after_error.expect("fits"), verdict());
    let results = tool_results(&script.requests()[1]);
    assert!(results[0].is_error);
    assert_eq!(results[0].content, json!("the CRM is down"));
}

#[tokio::test]
async fn calls_beside_a_structured_answer_are_not_run_nor_remembered() {
    let mut both = answer(json!({"decision": "maybe"}));
    both.tool_calls = calls(&[("c1", "crm", json!({"id": "1"}))]).tool_calls;
    let script = Scripted::new([both, answer(verdict_json())]);
    let count = Arc::new(AtomicU32::new(0));
    let model: &dyn Model = &script;
    let corrected = model
        .chat(prompt())
        .tool(counted("crm", &count))
        .ask::<Verdict>()
        .await;
    assert_eq!(corrected.expect("fits"), verdict());
    assert_eq!(count.load(Ordering::SeqCst), 0);
    match &script.requests()[1].turns[0] {
        Turn::Assistant(turn) => assert!(turn.tool_calls.is_empty(), "{turn:?}"),
        other => panic!("expected the assistant's answer, got {other:?}"),
    }
}

#[tokio::test]
async fn text_after_tools() {
    let script = Scripted::new([
        calls(&[("c1", "crm", json!({"id": "1"}))]),
        Reply {
            text: Some("Lead 1 scores 3.".into()),
            ..Reply::default()
        },
    ]);
    let count = Arc::new(AtomicU32::new(0));
    let model: &dyn Model = &script;
    let text = model
        .chat(prompt())
        .tool(counted("crm", &count))
        .text()
        .await;
    assert_eq!(text.expect("text"), "Lead 1 scores 3.");
    assert!(script.requests()[0].output.is_none());
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn provider_errors_end_the_conversation_as_they_are() {
    let script = Scripted::new([]);
    let model: &dyn Model = &script;
    let err = model.ask::<Verdict>(prompt()).await.expect_err("no reply");
    assert!(matches!(err, ModelError::Malformed(_)), "{err:?}");
}

// The embedded model, over types that exercise every part of the shape model.

#[derive(Debug, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "camelCase")]
struct Account {
    account_id: String,
    #[serde(rename = "ARR")]
    arr: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(flatten)]
    audit: Audit,
    contacts: Vec<Contact>,
    scores: HashMap<String, u32>,
    tiers: BTreeMap<String, Tier>,
    position: (f64, f64),
    stage: Stage,
    event: Event,
    step: Step,
    amount: Amount,
    seats: u8,
    balance: i64,
    active: bool,
    #[serde(skip)]
    cached: u32,
}

#[derive(Debug, Serialize, Deserialize, JsonShape)]
struct Audit {
    created_by: String,
    reviewed: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, JsonShape)]
struct Contact {
    name: String,
    email: Option<String>,
    tier: Tier,
}

#[derive(Debug, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Tier {
    Gold,
    Silver,
}

/// Externally tagged: a unit variant, a newtype, a tuple and a struct.
#[derive(Debug, Serialize, Deserialize, JsonShape)]
enum Stage {
    Lead,
    Qualified(u32),
    Negotiating(String, f64),
    Won { at: u64, by: Contact },
}

/// Internally tagged.
#[derive(Debug, Serialize, Deserialize, JsonShape)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Event {
    Moved { from: String, to: String },
    Created,
    Wrapped(Audit),
}

/// Adjacently tagged.
#[derive(Debug, Serialize, Deserialize, JsonShape)]
#[serde(tag = "t", content = "c")]
enum Step {
    Go(u32, String),
    Start,
}

#[derive(Debug, Serialize, Deserialize, JsonShape)]
#[serde(untagged)]
enum Amount {
    Exact(i64),
    Range { low: i64, high: i64 },
}

#[derive(Debug, Serialize, Deserialize, JsonShape)]
#[serde(deny_unknown_fields)]
struct Strict {
    #[serde(rename = "type")]
    kind: String,
    count: u16,
}

/// A struct that flattens an enum: its variant's keys sit beside the struct's.
#[derive(Debug, Serialize, Deserialize, JsonShape)]
struct Tagged {
    id: String,
    #[serde(flatten)]
    event: Event,
}

/// The embedded model's structured answer for `T`: it fits `T`'s published schema, serde
/// decodes it, and the chat loop returns it on the first attempt.
async fn embedded_answer<T>() -> T
where
    T: DeserializeOwned + JsonShape,
{
    let model = EmbeddedModel;
    let request = ModelRequest {
        output: Some(OutputSchema {
            name: "answer".into(),
            schema: json_schema(&T::SHAPE),
        }),
        ..ModelRequest::text(prompt())
    };
    let reply = model.respond(&request).await.expect("answers");
    let value = reply.answer.expect("a structured answer");
    let schema = document(&T::SHAPE);
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("invalid schema {schema}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{value} does not fit {schema}: {errors:?}"
    );
    if let Err(e) = serde_json::from_value::<T>(value.clone()) {
        panic!(
            "{value} does not decode as {}: {e}",
            std::any::type_name::<T>()
        );
    }
    let model: &dyn Model = &model;
    model
        .chat(prompt())
        .corrections(0)
        .ask::<T>()
        .await
        .expect("decodes on the first attempt")
}

#[tokio::test]
async fn embedded_answers_fit_the_schema_and_decode() {
    let account: Account = embedded_answer().await;
    assert!(account.account_id.contains("Judge lead 42."), "{account:?}");
    assert_eq!(account.contacts.len(), 2);
    assert!(matches!(account.stage, Stage::Lead));
    assert_eq!(account.cached, 0);

    embedded_answer::<Verdict>().await;
    embedded_answer::<Vec<Contact>>().await;
    embedded_answer::<Option<Contact>>().await;
    embedded_answer::<HashMap<String, Contact>>().await;
    embedded_answer::<(String, u32, bool)>().await;
    embedded_answer::<Stage>().await;
    embedded_answer::<Event>().await;
    embedded_answer::<Step>().await;
    embedded_answer::<Amount>().await;
    embedded_answer::<Strict>().await;
    embedded_answer::<Tagged>().await;
    embedded_answer::<Tier>().await;
    embedded_answer::<u32>().await;
    embedded_answer::<f64>().await;
    embedded_answer::<String>().await;
    embedded_answer::<bool>().await;
    embedded_answer::<Value>().await;
}

#[tokio::test]
async fn embedded_answers_do_not_vary_for_a_prompt() {
    let request = |user: &str| ModelRequest {
        output: Some(OutputSchema {
            name: "Account".into(),
            schema: json_schema(&Account::SHAPE),
        }),
        ..ModelRequest::text(Prompt::new("You judge leads.", user))
    };
    let model = EmbeddedModel;
    let first = model.respond(&request("Lead 42")).await.expect("answers");
    let again = model.respond(&request("Lead 42")).await.expect("answers");
    let other = model.respond(&request("Lead 43")).await.expect("answers");
    assert_eq!(first, again);
    assert_ne!(first.answer, other.answer);
    assert_eq!(first.model, EmbeddedModel::NAME);
    assert!(first.tokens_in > 0 && first.tokens_out > 0);
    assert_eq!(first.cost_usd, 0.0);

    let text = model.complete(&prompt()).await.expect("text");
    assert_eq!(text, model.complete(&prompt()).await.expect("text"));
    assert!(text.text.starts_with("Judge lead 42."), "{}", text.text);
}

#[tokio::test]
async fn the_embedded_model_calls_each_tool_once_then_answers() {
    let crm = Arc::new(AtomicU32::new(0));
    let web = Arc::new(AtomicU32::new(0));
    let model = Recording {
        inner: EmbeddedModel,
        requests: Mutex::new(Vec::new()),
    };
    let dyn_model: &dyn Model = &model;
    let verdict_with_tools = dyn_model
        .chat(prompt())
        .tool(counted("crm", &crm))
        .tool(counted("web", &web))
        .ask::<Verdict>()
        .await;
    verdict_with_tools.expect("answers");
    assert_eq!(
        (crm.load(Ordering::SeqCst), web.load(Ordering::SeqCst)),
        (1, 1)
    );
    let requests = model.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 2);
    let results = tool_results(&requests[1]);
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| !r.is_error), "{results:?}");
}
