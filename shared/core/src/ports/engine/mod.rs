//! The engine that drafts answers: Amazon Bedrock in production, the offline engine
//! locally. Both speak one typed tool-calling protocol: the agent hands over the [`Turn`]
//! and the [`Round`]s so far, the engine answers with text and [`ToolRequest`]s. Nothing
//! parses prompt text; a model-backed engine renders its prompt from these types
//! ([`prompt`]).

pub mod offline;
pub mod prompt;
pub mod tools;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::domain::{Channel, Direction, Language, TicketFacts};

/// The customer's message being handled, with what the engine may know around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub channel: Channel,
    /// The subject line, when the channel has one: it helps only when the words are vague.
    pub subject: Option<String>,
    /// What the customer wrote in this message: no quoted history, no signature.
    pub customer_text: String,
    /// The customer's recent messages across channels, oldest first (this one last).
    pub history: Vec<HistoryLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryLine {
    pub at: DateTime<Utc>,
    pub channel: Channel,
    pub direction: Direction,
    pub text: String,
}

/// A tool call as the engine asked for it: a model may write anything in `input`, so the
/// agent parses it into a [`tools::ToolCall`] before acting.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolRequest {
    pub id: String,
    pub name: String,
    pub input: Value,
}

/// What the engine says in one round.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineReply {
    pub text: Option<String>,
    pub tool_requests: Vec<ToolRequest>,
    /// The model's tokens for this round, as its provider counted them (billed by them).
    pub usage: TokenUsage,
}

/// A model's tokens: read (the prompt, the conversation so far) and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, other: Self) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// One round of the conversation: the engine's reply and what each requested tool returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    pub text: Option<String>,
    pub exchanges: Vec<Exchange>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub request: ToolRequest,
    pub result: ToolResult,
}

/// What a tool returned, typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ToolResult {
    Search(SearchResults),
    Ticket(TicketFacts),
    History { history: Vec<HistoryLine> },
    Error { error: String },
}

impl ToolResult {
    pub fn is_error(&self) -> bool {
        matches!(self, ToolResult::Error { .. })
    }
}

/// The best passages for a query, best first, and whether the best is good enough to answer from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    pub good_match: bool,
    pub hits: Vec<SearchHit>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The article's slug, or `learned:<id>` for an approved learned answer.
    pub article: String,
    pub title: String,
    pub heading: String,
    pub text: String,
    /// The sentences or steps of the passage that answer the query.
    pub excerpt: String,
    /// The search's relevance: the cosine similarity of the query and the passage's
    /// closest sentence, moved by the article classifier (see `knowledge::ArticleModel`).
    pub score: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the engine is throttled: {0}")]
    Throttled(String),
    #[error("the engine timed out: {0}")]
    Timeout(String),
    #[error("the engine failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait Engine: Send + Sync {
    /// Recorded with every decision, e.g. `offline` or `bedrock (<model id>)`.
    fn name(&self) -> String;

    /// Whether it can answer a customer who writes in `language` (in that language, or in
    /// English for languages the team does not support).
    fn answers_in(&self, language: Language) -> bool;

    /// The engine's next reply, given the turn and the rounds so far.
    async fn next(&self, turn: &Turn, rounds: &[Round]) -> Result<EngineReply, EngineError>;
}
