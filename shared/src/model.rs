//! The model interface: a conversation with tool calling, shaped like the
//! Bedrock Converse API so Bedrock and the offline engine are interchangeable.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentBlock {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: Value,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

impl Message {
    pub fn user_text(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: vec![ContentBlock::Text(text.into())],
        }
    }
}

/// A tool the model may call, with the JSON schema of its input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub input_schema: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConverseRequest {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConverseResponse {
    pub message: Message,
    pub stop_reason: StopReason,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model is throttled: {0}")]
    Throttled(String),
    #[error("the model timed out: {0}")]
    Timeout(String),
    #[error("the model failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait ChatModel: Send + Sync {
    async fn converse(&self, request: &ConverseRequest) -> Result<ConverseResponse, ModelError>;
}
