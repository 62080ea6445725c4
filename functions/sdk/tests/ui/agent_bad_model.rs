// Mistakes: models the functions could not build: an unknown provider, a provider without
// its model, an embedded variant that does not exist, a model that is not a string, and a
// model given twice.
use serde::{Deserialize, Serialize};
use switchyard_sdk::JsonShape;
use switchyard_sdk::{agent, AgentError};

#[derive(Serialize, Deserialize, JsonShape)]
pub struct Note {
    pub text: String,
}

#[agent(model = "gemini:pro")]
async fn unknown_provider(note: Note) -> Result<Note, AgentError> {
    Ok(note)
}

#[agent(model = "anthropic:")]
async fn empty_model(note: Note) -> Result<Note, AgentError> {
    Ok(note)
}

#[agent(model = "embedded:large")]
async fn embedded_variant(note: Note) -> Result<Note, AgentError> {
    Ok(note)
}

#[agent(model = anthropic)]
async fn not_a_string(note: Note) -> Result<Note, AgentError> {
    Ok(note)
}

#[agent(model = "openai:gpt-4o-mini", capabilities = ["notes"], model = "openai:gpt-4o")]
async fn given_twice(note: Note) -> Result<Note, AgentError> {
    Ok(note)
}

fn main() {}
