//! Typed functions a model may call.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::ToolSpec;
use crate::{BoxFuture, InputError, JsonShape};

type Call = dyn Fn(Value) -> BoxFuture<'static, Result<Value, String>> + Send + Sync;

/// A typed async function offered to a model: its arguments' JSON Schema comes from the
/// argument type's serde-true shape, the model's arguments are decoded as serde decodes
/// them, and its output is sent back as JSON. A decode error or the function's own error
/// goes back to the model as the call's error result, for it to correct.
#[derive(Clone)]
pub struct Tool {
    spec: ToolSpec,
    call: Arc<Call>,
}

impl Tool {
    /// `name` must be `[A-Za-z0-9_-]{1,64}` (what every provider accepts).
    pub fn new<I, O, E, F, Fut>(name: &str, description: &str, function: F) -> Tool
    where
        I: DeserializeOwned + JsonShape + Send + 'static,
        O: Serialize + 'static,
        E: Display + 'static,
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
    {
        let function = Arc::new(function);
        Tool {
            spec: ToolSpec {
                name: name.to_owned(),
                description: description.to_owned(),
                input_schema: crate::schema::json_schema(&I::SHAPE),
            },
            call: Arc::new(move |arguments: Value| {
                let function = function.clone();
                Box::pin(async move {
                    let input = InputError::decode::<I>(arguments, "arguments")
                        .map_err(|e| format!("bad arguments at `{}`: {}", e.field, e.message))?;
                    let output = function(input).await.map_err(|e| e.to_string())?;
                    serde_json::to_value(output).map_err(|e| e.to_string())
                })
            }),
        }
    }

    pub fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    /// Runs the function on the model's arguments.
    pub async fn call(&self, arguments: Value) -> Result<Value, String> {
        (self.call)(arguments).await
    }
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("spec", &self.spec).finish()
    }
}
