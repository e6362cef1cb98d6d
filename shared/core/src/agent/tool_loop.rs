//! The tool loop: the engine proposes, the loop disposes. The ticket exists before the
//! engine is called, the turn ends only with `send_response` or `escalate_to_human`, and
//! the number of rounds is bounded.

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::{EscalationReason, TicketFacts};
use crate::knowledge::KnowledgeBase;
use crate::ports::embedder::EmbedError;
use crate::ports::engine::tools::ToolCall;
use crate::ports::engine::{
    Engine, EngineError, Exchange, Round, SearchHit, SearchResults, TokenUsage, ToolResult, Turn,
};

const MAX_ROUNDS: usize = 6;
const SEARCH_RESULTS: usize = 3;

/// What the agent decided for one customer message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    Respond { text: String, sources: Vec<String> },
    Escalate { reason: EscalationReason, summary: String },
}

/// One tool call and what it returned, kept on the ticket for review.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub tool: String,
    pub input: Value,
    pub output: Value,
}

/// The trusted context of the message being handled: tools read only this.
pub struct Context<'a> {
    pub ticket: &'a TicketFacts,
    pub turn: &'a Turn,
    pub knowledge: &'a KnowledgeBase,
}

/// The knowledge base's passages relevant to `query`, best first: none when nothing
/// reaches the relevance threshold, so nothing unrelated is ever quoted.
pub fn search(knowledge: &KnowledgeBase, query: &str) -> Result<SearchResults, EmbedError> {
    let hits: Vec<SearchHit> = knowledge
        .search(query, SEARCH_RESULTS)?
        .into_iter()
        .filter(|h| h.answers())
        .map(|h| SearchHit {
            article: h.passage.article,
            title: h.passage.title,
            heading: h.passage.heading,
            text: h.passage.text,
            excerpt: h.excerpt,
            score: h.relevance,
        })
        .collect();
    Ok(SearchResults {
        good_match: !hits.is_empty(),
        hits,
    })
}

/// The engine's rounds until it decides; `tokens` adds up what every round used, even when
/// a later one fails.
pub async fn run(
    engine: &dyn Engine,
    context: &Context<'_>,
    tokens: &mut TokenUsage,
) -> Result<(Decision, Vec<Step>), EngineError> {
    let mut rounds: Vec<Round> = Vec::new();
    let mut steps = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    let mut failed_searches = 0;
    for _ in 0..MAX_ROUNDS {
        let reply = engine.next(context.turn, &rounds).await?;
        *tokens += reply.usage;
        if reply.tool_requests.is_empty() {
            // The engine ended its turn without a final tool: its text is not sent on trust.
            return Ok((finish_without_tool(reply.text, sources), steps));
        }
        let mut exchanges = Vec::new();
        for request in reply.tool_requests {
            let step = |output: Value| Step {
                tool: request.name.clone(),
                input: request.input.clone(),
                output,
            };
            let result = match ToolCall::parse(&request) {
                // Two searches without a good match: a person answers, whatever the engine wrote.
                Ok(ToolCall::SendResponse { .. }) if sources.is_empty() && failed_searches >= 2 => {
                    steps.push(step(json!("refused: no knowledge-base match")));
                    let summary = "No knowledge-base article answers this after two searches.".into();
                    let decision = Decision::Escalate {
                        reason: EscalationReason::NoAnswer,
                        summary,
                    };
                    return Ok((decision, steps));
                }
                Ok(ToolCall::SendResponse { message }) => {
                    steps.push(step(json!("sent")));
                    let decision = Decision::Respond { text: message, sources };
                    return Ok((decision, steps));
                }
                Ok(ToolCall::EscalateToHuman { reason, summary }) => {
                    steps.push(step(json!("escalated")));
                    return Ok((Decision::Escalate { reason, summary }, steps));
                }
                Ok(ToolCall::SearchKnowledgeBase { query }) => match search(context.knowledge, &query) {
                    Ok(results) => {
                        if results.good_match {
                            sources.extend(results.hits.iter().map(|h| h.article.clone()));
                            sources.dedup();
                        } else {
                            failed_searches += 1;
                        }
                        ToolResult::Search(results)
                    }
                    Err(e) => ToolResult::Error { error: e.to_string() },
                },
                Ok(ToolCall::CreateTicket {}) => ToolResult::Ticket(context.ticket.clone()),
                Ok(ToolCall::GetCustomerHistory {}) => ToolResult::History {
                    history: context.turn.history.clone(),
                },
                Err(problem) => ToolResult::Error { error: problem },
            };
            steps.push(step(summarize(&result)));
            exchanges.push(Exchange { request, result });
        }
        rounds.push(Round {
            text: reply.text,
            exchanges,
        });
    }
    let decision = Decision::Escalate {
        reason: EscalationReason::Other,
        summary: format!("The engine did not finish within {MAX_ROUNDS} rounds."),
    };
    Ok((decision, steps))
}

fn finish_without_tool(text: Option<String>, sources: Vec<String>) -> Decision {
    match text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
        Some(text) if !sources.is_empty() => Decision::Respond { text, sources },
        _ => Decision::Escalate {
            reason: EscalationReason::Other,
            summary: "The engine ended its turn without answering from the knowledge base.".into(),
        },
    }
}

/// Keeps the stored step small: article ids and scores, not whole passages.
fn summarize(result: &ToolResult) -> Value {
    match result {
        ToolResult::Search(results) => json!({
            "good_match": results.good_match,
            "hits": results.hits.iter().map(|h| json!({"article": h.article, "score": h.score})).collect::<Vec<_>>(),
        }),
        ToolResult::History { history } => json!({ "history_messages": history.len() }),
        other => serde_json::to_value(other).unwrap_or_default(),
    }
}
