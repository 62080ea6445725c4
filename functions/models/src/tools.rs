//! Tools and structured answers as the providers' APIs take them.
//!
//! Every provider wants a tool's input, and OpenAI a response format's root, to be a JSON
//! object, while a [`Tool`]'s arguments and an answer may be any JSON (a list, an enum):
//! such a schema is wrapped as `{"value": schema}` on the way out and the value unwrapped
//! on the way back, so agents never see the wrapper.
//!
//! Anthropic Messages and Bedrock Converse have no response format: a structured answer is
//! a call to an answer tool whose input schema is the answer's, which the request forces.
//! Both also pair every `tool_use` with a `tool_result` in the next user message and refuse
//! two messages of one role in a row, so their conversation is rendered here once, each
//! provider supplying its own blocks.
//!
//! [`Tool`]: switchyard_sdk::Tool

use serde_json::{json, Map, Value};
use switchyard_sdk::{ModelRequest, Turn};

/// What the answer tool says it is for; the model reads it.
pub(crate) const ANSWER_DESCRIPTION: &str =
    "Give your final answer. The input of this call is the answer itself; call it once you \
     have everything you need.";

/// The key a non-object input is wrapped under.
const WRAPPED_KEY: &str = "value";

/// The longest tool name every provider accepts.
const MAX_NAME_CHARS: usize = 64;

/// A tool, or the answer, as the provider is told of it.
pub(crate) struct ToolInput<'a> {
    pub(crate) name: String,
    pub(crate) description: &'a str,
    /// An object's schema: the input's own, or an object around it.
    pub(crate) schema: Value,
    /// The input's schema is not an object's, so it travels as `{"value": input}`.
    wrapped: bool,
}

impl<'a> ToolInput<'a> {
    fn new(name: String, description: &'a str, schema: &Value) -> Self {
        let is_object = schema.get("type").and_then(Value::as_str) == Some("object");
        if is_object {
            return ToolInput {
                name,
                description,
                schema: schema.clone(),
                wrapped: false,
            };
        }
        ToolInput {
            name,
            description,
            schema: json!({
                "type": "object",
                "properties": { WRAPPED_KEY: schema },
                "required": [WRAPPED_KEY],
                "additionalProperties": false,
            }),
            wrapped: true,
        }
    }

    /// The value in a call's input. An input without the wrapper is passed on as it is,
    /// so the decode error, not a guess, goes back to the model.
    pub(crate) fn unwrap(&self, mut input: Value) -> Value {
        if !self.wrapped {
            return input;
        }
        match input.get_mut(WRAPPED_KEY) {
            Some(value) => value.take(),
            None => input,
        }
    }

    /// The call's input that carried `value`.
    pub(crate) fn wrap(&self, value: &Value) -> Value {
        if !self.wrapped {
            return value.clone();
        }
        let mut input = Map::new();
        input.insert(WRAPPED_KEY.to_owned(), value.clone());
        Value::Object(input)
    }
}

/// A request's tools and its answer.
pub(crate) struct Toolbox<'a> {
    pub(crate) tools: Vec<ToolInput<'a>>,
    /// The requested output: the answer tool of providers that answer through a tool
    /// call, OpenAI's response format.
    pub(crate) answer: Option<ToolInput<'a>>,
}

impl<'a> Toolbox<'a> {
    pub(crate) fn new(request: &'a ModelRequest) -> Self {
        let tools: Vec<ToolInput<'a>> = request
            .tools
            .iter()
            .map(|tool| ToolInput::new(tool.name.clone(), &tool.description, &tool.input_schema))
            .collect();
        let answer = request.output.as_ref().map(|output| {
            // A tool of the same name would make calls ambiguous. There are finitely many
            // tools, so some suffix is free.
            let name = (0..)
                .map(|n| answer_name(&output.name, n))
                .find(|name| tools.iter().all(|tool| &tool.name != name))
                .unwrap_or_else(|| output.name.clone());
            ToolInput::new(name, ANSWER_DESCRIPTION, &output.schema)
        });
        Toolbox { tools, answer }
    }

    /// Every tool the provider is told of, the answer tool last.
    pub(crate) fn all(&self) -> impl Iterator<Item = &ToolInput<'a>> {
        self.tools.iter().chain(&self.answer)
    }

    /// The answer in a call to the answer tool, or the input back for any other call.
    pub(crate) fn answer_in(&self, name: &str, input: Value) -> Result<Value, Value> {
        match &self.answer {
            Some(answer) if answer.name == name => Ok(answer.unwrap(input)),
            _ => Err(input),
        }
    }

    /// A call's arguments as the tool takes them.
    pub(crate) fn arguments(&self, name: &str, input: Value) -> Value {
        match self.tools.iter().find(|tool| tool.name == name) {
            Some(tool) => tool.unwrap(input),
            None => input,
        }
    }

    /// A call's input as the model gave it.
    pub(crate) fn input(&self, name: &str, arguments: &Value) -> Value {
        match self.tools.iter().find(|tool| tool.name == name) {
            Some(tool) => tool.wrap(arguments),
            None => arguments.clone(),
        }
    }
}

/// The output's name, or with the `n`th suffix that tells it from a tool's.
fn answer_name(output: &str, n: u32) -> String {
    let suffix = match n {
        0 => return output.to_owned(),
        1 => "_answer".to_owned(),
        n => format!("_answer{n}"),
    };
    let kept: String = output
        .chars()
        .take(MAX_NAME_CHARS.saturating_sub(suffix.len()))
        .collect();
    kept + &suffix
}

/// A tool's output as text: a string as it is, anything else as JSON.
pub(crate) fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    User,
    Assistant,
}

/// A provider's content blocks.
pub(crate) trait Blocks: Sized {
    fn text(text: String) -> Self;
    fn tool_use(id: &str, name: &str, input: Value) -> Self;
    fn tool_result(call_id: &str, content: &Value, is_error: bool) -> Self;
}

/// The prompt's user message and the turns since, as alternating messages.
///
/// An answer is remembered as the call that gave it when the reply had a call id, so a
/// correction is that call's error result; otherwise (a conversation begun with another
/// provider) it is remembered as text and corrected by a user message.
pub(crate) fn conversation<B: Blocks>(
    request: &ModelRequest,
    toolbox: &Toolbox<'_>,
) -> Vec<(Role, Vec<B>)> {
    let mut messages = Alternating(Vec::new());
    messages.push(Role::User, vec![B::text(request.prompt.user.clone())]);
    // The call id of the last answer, to which a correction replies.
    let mut answer_call: Option<&str> = None;
    for turn in &request.turns {
        match turn {
            Turn::Assistant(turn) => {
                let mut blocks = Vec::new();
                if let Some(text) = turn.text.as_deref().filter(|t| !t.trim().is_empty()) {
                    blocks.push(B::text(text.to_owned()));
                }
                blocks.extend(turn.tool_calls.iter().map(|call| {
                    B::tool_use(
                        &call.id,
                        &call.name,
                        toolbox.input(&call.name, &call.arguments),
                    )
                }));
                answer_call = None;
                if let Some(answer) = &turn.answer {
                    match (turn.answer_call_id.as_deref(), &toolbox.answer) {
                        (Some(id), Some(tool)) => {
                            blocks.push(B::tool_use(id, &tool.name, tool.wrap(answer)));
                            answer_call = Some(id);
                        }
                        _ => blocks.push(B::text(answer.to_string())),
                    }
                }
                messages.push(Role::Assistant, blocks);
            }
            Turn::ToolResults { results } => messages.push(
                Role::User,
                results
                    .iter()
                    .map(|r| B::tool_result(&r.call_id, &r.content, r.is_error))
                    .collect(),
            ),
            Turn::Correction { message } => {
                let block = match answer_call.take() {
                    Some(id) => B::tool_result(id, &Value::String(message.clone()), true),
                    None => B::text(message.clone()),
                };
                messages.push(Role::User, vec![block]);
            }
        }
    }
    messages.0
}

/// Messages where two of one role in a row become one.
struct Alternating<B>(Vec<(Role, Vec<B>)>);

impl<B> Alternating<B> {
    fn push(&mut self, role: Role, blocks: Vec<B>) {
        // An empty message is refused; leaving it out keeps the roles alternating.
        if blocks.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => self.0.push((role, blocks)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::{AssistantTurn, OutputSchema, Prompt, ToolCall, ToolResult, ToolSpec};

    #[derive(Debug, PartialEq)]
    enum Block {
        Text(String),
        Use(String, String, Value),
        Result(String, Value, bool),
    }

    impl Blocks for Block {
        fn text(text: String) -> Self {
            Block::Text(text)
        }
        fn tool_use(id: &str, name: &str, input: Value) -> Self {
            Block::Use(id.into(), name.into(), input)
        }
        fn tool_result(call_id: &str, content: &Value, is_error: bool) -> Self {
            Block::Result(call_id.into(), content.clone(), is_error)
        }
    }

    fn request(output: Value, tools: &[(&str, Value)]) -> ModelRequest {
        ModelRequest {
            output: Some(OutputSchema {
                name: "Answer".into(),
                schema: output,
            }),
            tools: tools
                .iter()
                .map(|(name, schema)| ToolSpec {
                    name: (*name).to_owned(),
                    description: "d".into(),
                    input_schema: schema.clone(),
                })
                .collect(),
            ..ModelRequest::text(Prompt::new("", "Count."))
        }
    }

    #[test]
    fn only_non_object_inputs_are_wrapped() {
        let object = json!({"type": "object", "properties": {}});
        let list = json!({"type": "array", "items": {"type": "string"}});
        let request = request(
            list.clone(),
            &[("crm", object.clone()), ("tags", list.clone())],
        );
        let toolbox = Toolbox::new(&request);

        assert_eq!(toolbox.tools[0].schema, object);
        assert_eq!(toolbox.arguments("crm", json!({"a": 1})), json!({"a": 1}));
        assert_eq!(toolbox.tools[1].schema["properties"]["value"], list);
        assert_eq!(toolbox.tools[1].schema["required"], json!(["value"]));
        assert_eq!(
            toolbox.arguments("tags", json!({"value": ["a"]})),
            json!(["a"])
        );
        assert_eq!(
            toolbox.input("tags", &json!(["a"])),
            json!({"value": ["a"]})
        );

        let answer = toolbox.answer.as_ref().expect("an answer tool");
        assert_eq!(
            (answer.name.as_str(), answer.description),
            ("Answer", ANSWER_DESCRIPTION)
        );
        assert_eq!(
            toolbox.answer_in("Answer", json!({"value": ["b"]})),
            Ok(json!(["b"]))
        );
        // Without the wrapper the input goes to decoding as it is, to be corrected.
        assert_eq!(toolbox.answer_in("Answer", json!(["b"])), Ok(json!(["b"])));
        assert_eq!(toolbox.answer_in("crm", json!({})), Err(json!({})));
        assert_eq!(toolbox.all().count(), 3);
    }

    #[test]
    fn the_answer_tool_never_shares_a_tool_name() {
        let schema = json!({"type": "object"});
        let request = request(
            schema.clone(),
            &[("Answer", schema.clone()), ("Answer_answer", schema)],
        );
        let toolbox = Toolbox::new(&request);
        assert_eq!(toolbox.answer.expect("answer tool").name, "Answer_answer2");
        assert_eq!(answer_name(&"a".repeat(64), 1).len(), 64);
    }

    #[test]
    fn a_correction_answers_the_call_that_gave_the_answer_and_roles_alternate() {
        let mut request = request(
            json!({"type": "string"}),
            &[("tags", json!({"type": "array"}))],
        );
        request.turns = vec![
            Turn::Assistant(AssistantTurn {
                text: Some("Looking.".into()),
                tool_calls: vec![ToolCall {
                    id: "t1".into(),
                    name: "tags".into(),
                    arguments: json!([1]),
                }],
                ..AssistantTurn::default()
            }),
            Turn::ToolResults {
                results: vec![ToolResult {
                    call_id: "t1".into(),
                    name: "tags".into(),
                    content: json!("down"),
                    is_error: true,
                }],
            },
            Turn::Assistant(AssistantTurn {
                answer: Some(json!(7)),
                answer_call_id: Some("a1".into()),
                ..AssistantTurn::default()
            }),
            Turn::Correction {
                message: "not a string".into(),
            },
            // Remembered from a provider without call ids: text, corrected by a message.
            Turn::Assistant(AssistantTurn {
                answer: Some(json!(8)),
                ..AssistantTurn::default()
            }),
            Turn::Correction {
                message: "still not a string".into(),
            },
            // Nothing said: left out, and the two user messages around it become one.
            Turn::Assistant(AssistantTurn::default()),
            Turn::Correction {
                message: "say something".into(),
            },
        ];
        let toolbox = Toolbox::new(&request);
        let messages = conversation::<Block>(&request, &toolbox);
        assert_eq!(
            messages,
            [
                (Role::User, vec![Block::Text("Count.".into())]),
                (
                    Role::Assistant,
                    vec![
                        Block::Text("Looking.".into()),
                        Block::Use("t1".into(), "tags".into(), json!({"value": [1]}))
                    ]
                ),
                (
                    Role::User,
                    vec![Block::Result("t1".into(), json!("down"), true)]
                ),
                (
                    Role::Assistant,
                    vec![Block::Use(
                        "a1".into(),
                        "Answer".into(),
                        json!({"value": 7})
                    )]
                ),
                (
                    Role::User,
                    vec![Block::Result("a1".into(), json!("not a string"), true)]
                ),
                (Role::Assistant, vec![Block::Text("8".into())]),
                (
                    Role::User,
                    vec![
                        Block::Text("still not a string".into()),
                        Block::Text("say something".into())
                    ]
                ),
            ]
        );
    }
}
