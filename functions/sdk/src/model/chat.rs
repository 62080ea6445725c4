//! The typed conversation: ask, run the tools the model calls, check the answer, correct.

use std::collections::HashMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Model, ModelError, ModelRequest, OutputSchema, Prompt, Reply, Tool, ToolResult, Turn};
use crate::{InputError, JsonShape};

/// How many answers that do not fit are sent back with what is wrong, by default.
pub const DEFAULT_CORRECTIONS: u32 = 1;
/// How many rounds of tool calls a conversation may take, by default.
pub const DEFAULT_TOOL_ROUNDS: u32 = 4;

/// A conversation with a model, configured before it is asked.
///
/// ```text
/// let verdict: Verdict = ctx.model
///     .chat(Prompt::new(SYSTEM, user))
///     .tool(Tool::new("word_count", "Counts the words of a text", word_count))
///     .cache(Duration::from_secs(3600))
///     .ask()
///     .await?;
/// ```
pub struct Chat<'m> {
    model: &'m dyn Model,
    prompt: Prompt,
    tools: Vec<Tool>,
    corrections: u32,
    tool_rounds: u32,
    cache_ttl_s: Option<u32>,
}

impl<'m> Chat<'m> {
    pub(super) fn new(model: &'m dyn Model, prompt: Prompt) -> Self {
        Chat {
            model,
            prompt,
            tools: Vec::new(),
            corrections: DEFAULT_CORRECTIONS,
            tool_rounds: DEFAULT_TOOL_ROUNDS,
            cache_ttl_s: None,
        }
    }

    /// Offers the model a function. Names must be unique: a second tool of the same name
    /// replaces the first.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.retain(|t| t.spec().name != tool.spec().name);
        self.tools.push(tool);
        self
    }

    /// How many answers that do not fit are sent back before the ask fails with
    /// [`ModelError::InvalidOutput`] (default 1: two attempts in all).
    pub fn corrections(mut self, corrections: u32) -> Self {
        self.corrections = corrections;
        self
    }

    /// How many rounds of tool calls the model may take before the ask fails with
    /// [`ModelError::TooManyToolRounds`] (default 4).
    pub fn tool_rounds(mut self, rounds: u32) -> Self {
        self.tool_rounds = rounds;
        self
    }

    /// Opt in to the tenant's response cache: an identical request answered within `ttl`
    /// is answered again from the cache, without calling the provider.
    pub fn cache(mut self, ttl: Duration) -> Self {
        self.cache_ttl_s = Some(u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX).max(1));
        self
    }

    /// Free text, after any tool calls.
    pub async fn text(self) -> Result<String, ModelError> {
        let reply = self.converse(None).await?.0;
        reply
            .text
            .ok_or_else(|| ModelError::Malformed("the answer has no text".to_owned()))
    }

    /// A value of `T`: the request carries `T`'s JSON Schema, and the answer is decoded as
    /// serde decodes it. An answer that does not decode is sent back with serde's error
    /// (the field and what is wrong) up to [`Chat::corrections`] times.
    pub async fn ask<T: DeserializeOwned + JsonShape>(self) -> Result<T, ModelError> {
        let output = OutputSchema {
            name: output_name::<T>(),
            schema: crate::schema::json_schema(&T::SHAPE),
        };
        let corrections = self.corrections;
        let (mut reply, mut turns, mut exchange) = self.converse(Some(output.clone())).await?;
        let mut attempts = 1;
        loop {
            let problem = match decode::<T>(&reply) {
                Ok(value) => return Ok(value),
                Err(problem) => problem,
            };
            if attempts > corrections {
                return Err(ModelError::InvalidOutput {
                    type_name: std::any::type_name::<T>().to_owned(),
                    attempts,
                    problem,
                });
            }
            attempts += 1;
            turns.push(Turn::Assistant(reply.turn()));
            turns.push(Turn::Correction {
                message: format!(
                    "That answer does not fit the required schema: {problem}. Answer again \
                     with JSON that fits the schema."
                ),
            });
            (reply, turns, exchange) = exchange.resume(turns).await?;
        }
    }

    /// Exchanges until the model answers without calling tools.
    async fn converse(
        self,
        output: Option<OutputSchema>,
    ) -> Result<(Reply, Vec<Turn>, Exchange<'m>), ModelError> {
        let exchange = Exchange {
            model: self.model,
            request: ModelRequest {
                prompt: self.prompt,
                turns: Vec::new(),
                output,
                tools: self.tools.iter().map(|t| t.spec().clone()).collect(),
                cache_ttl_s: self.cache_ttl_s,
            },
            tools: self
                .tools
                .into_iter()
                .map(|t| (t.spec().name.clone(), t))
                .collect(),
            tool_rounds: self.tool_rounds,
        };
        exchange.resume(Vec::new()).await
    }
}

/// The fixed part of a conversation and its tools.
struct Exchange<'m> {
    model: &'m dyn Model,
    request: ModelRequest,
    tools: HashMap<String, Tool>,
    tool_rounds: u32,
}

impl<'m> Exchange<'m> {
    /// Sends the conversation `turns`, running the tools the model calls, until it answers.
    async fn resume(mut self, turns: Vec<Turn>) -> Result<(Reply, Vec<Turn>, Self), ModelError> {
        self.request.turns = turns;
        let mut rounds = 0;
        loop {
            let mut reply = self.model.respond(&self.request).await?;
            if reply.answer.is_some() {
                // A structured answer ends the exchange. Calls the model asked for beside it
                // are never run, so they are not remembered either: a call without a result
                // in the conversation is refused by providers that pair them (Anthropic,
                // Bedrock) if the answer has to be corrected.
                reply.tool_calls.clear();
            }
            if reply.tool_calls.is_empty() {
                let turns = std::mem::take(&mut self.request.turns);
                return Ok((reply, turns, self));
            }
            rounds += 1;
            if rounds > self.tool_rounds {
                return Err(ModelError::TooManyToolRounds {
                    rounds: self.tool_rounds,
                });
            }
            // Independent calls of one turn run side by side.
            let results = futures_util::future::join_all(reply.tool_calls.iter().map(|call| {
                let tool = self.tools.get(&call.name);
                async move {
                    let outcome = match tool {
                        Some(tool) => tool.call(call.arguments.clone()).await,
                        None => Err(format!("there is no tool named `{}`", call.name)),
                    };
                    let (content, is_error) = match outcome {
                        Ok(output) => (output, false),
                        Err(message) => (Value::String(message), true),
                    };
                    ToolResult {
                        call_id: call.id.clone(),
                        name: call.name.clone(),
                        content,
                        is_error,
                    }
                }
            }))
            .await;
            self.request.turns.push(Turn::Assistant(reply.turn()));
            self.request.turns.push(Turn::ToolResults { results });
        }
    }
}

/// The answer as `T`, or what is wrong with it, for the model to read.
fn decode<T: DeserializeOwned>(reply: &Reply) -> Result<T, String> {
    let value = match (&reply.answer, &reply.text) {
        (Some(value), _) => value.clone(),
        (None, Some(text)) => serde_json::from_str::<Value>(strip_fence(text))
            .map_err(|e| format!("the answer is not JSON ({e})"))?,
        (None, None) => return Err("the answer is empty".to_owned()),
    };
    InputError::decode::<T>(value, "the answer").map_err(|e| match e.field.as_str() {
        "the answer" => format!("the answer: {}", e.message),
        field => format!("at `{field}`: {}", e.message),
    })
}

/// Models asked for JSON in text sometimes wrap it in a Markdown code fence.
fn strip_fence(text: &str) -> &str {
    let trimmed = text.trim();
    trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.strip_suffix("```"))
        .map(str::trim)
        .unwrap_or(trimmed)
}

/// The type's name as an identifier providers accept (`[A-Za-z0-9_-]{1,64}`): module paths
/// dropped, generic arguments kept (`Vec<app::Lead>` is `Vec_Lead`), so the model sees a
/// meaningful name and different types do not share one.
fn output_name<T: JsonShape>() -> String {
    identifier(std::any::type_name::<T>())
}

fn identifier(type_name: &str) -> String {
    let mut name = String::new();
    let mut segment = String::new();
    let mut rest = type_name.chars().peekable();
    while let Some(c) = rest.next() {
        if c.is_ascii_alphanumeric() || c == '_' {
            segment.push(c);
        } else if c == ':' && rest.peek() == Some(&':') {
            // A module of the path: only the last segment names the type.
            rest.next();
            segment.clear();
        } else {
            push_word(&mut name, &mut segment);
        }
    }
    push_word(&mut name, &mut segment);
    let name: String = name.chars().take(64).collect();
    if name.is_empty() {
        "answer".to_owned()
    } else {
        name
    }
}

fn push_word(name: &mut String, segment: &mut String) {
    if segment.is_empty() {
        return;
    }
    if !name.is_empty() {
        name.push('_');
    }
    name.push_str(segment);
    segment.clear();
}

#[cfg(test)]
mod tests {
    use super::identifier;

    #[test]
    fn type_names_become_provider_identifiers() {
        assert_eq!(identifier("app::leads::Lead"), "Lead");
        assert_eq!(identifier("alloc::vec::Vec<app::Lead>"), "Vec_Lead");
        assert_eq!(identifier("(u32, alloc::string::String)"), "u32_String");
        assert_eq!(identifier("&[u8; 4]"), "u8_4");
        assert_eq!(identifier("()"), "answer");
        assert_eq!(identifier(&"a".repeat(100)).len(), 64);
    }
}
