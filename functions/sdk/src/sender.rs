//! Outbound messages agents send (emails to prospects, say), through a pluggable sender.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::BoxFuture;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceipt {
    pub message_id: String,
    /// Where the message went: `outbox` (recorded, not delivered), `ses`, ...
    pub channel: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the sender is unavailable: {0}")]
    Unavailable(String),
    #[error("the message was refused: {0}")]
    Refused(String),
}

pub trait Sender: Send + Sync {
    fn send<'a>(
        &'a self,
        message: &'a OutboundMessage,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>>;
}

/// Records messages in memory: for tests and local runs of agents outside Lambda.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    sent: Mutex<Vec<OutboundMessage>>,
}

impl MemoryOutbox {
    pub fn sent(&self) -> Vec<OutboundMessage> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Sender for MemoryOutbox {
    fn send<'a>(
        &'a self,
        message: &'a OutboundMessage,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
        Box::pin(async move {
            let mut sent = self
                .sent
                .lock()
                .map_err(|_| SendError::Unavailable("outbox lock poisoned".into()))?;
            sent.push(message.clone());
            Ok(SendReceipt {
                message_id: format!("memory-{}", sent.len()),
                channel: "memory".into(),
            })
        })
    }
}
