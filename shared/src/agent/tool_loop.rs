//! The tool loop: the model proposes, the loop disposes. The ticket exists
//! before the model is called, the turn ends only with `send_response` or
//! `escalate_to_human`, and the number of rounds is bounded.

use serde::Serialize;
use serde_json::{json, Value};

use super::prompt::{first_user_message, history_text, SYSTEM_PROMPT};
use super::tools::{specs, ToolCall};
use crate::domain::{Channel, ConversationMessage, EscalationReason, Ticket};
use crate::knowledge::{KnowledgeBase, MATCH_THRESHOLD};
use crate::model::{ChatModel, ContentBlock, ConverseRequest, Message, ModelError, Role};

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
pub struct Turn<'a> {
    pub ticket: &'a Ticket,
    pub channel: Channel,
    pub customer_text: &'a str,
    pub history: &'a [ConversationMessage],
    pub knowledge: &'a KnowledgeBase,
}

pub async fn run(model: &dyn ChatModel, turn: &Turn<'_>) -> Result<(Decision, Vec<Step>), ModelError> {
    let mut request = ConverseRequest {
        system: SYSTEM_PROMPT.to_owned(),
        messages: vec![first_user_message(
            turn.customer_text,
            turn.channel,
            &history_text(turn.history),
        )],
        tools: specs(),
    };
    let mut steps = Vec::new();
    let mut sources = Vec::new();
    let mut failed_searches = 0;
    for _ in 0..MAX_ROUNDS {
        let response = model.converse(&request).await?;
        let uses: Vec<(String, String, Value)> = response
            .message
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolUse { id, name, input } => Some((id.clone(), name.clone(), input.clone())),
                _ => None,
            })
            .collect();
        if uses.is_empty() {
            // The model ended its turn without a final tool: its text is not sent on trust.
            let text = response.message.content.iter().find_map(|b| match b {
                ContentBlock::Text(t) => Some(t.trim().to_owned()),
                _ => None,
            });
            return Ok((finish_without_tool(text, sources), steps));
        }
        request.messages.push(response.message);
        let mut results = Vec::new();
        for (id, name, input) in uses {
            let call = ToolCall::parse(&name, &input);
            let output = match call {
                // Two searches without a good match: a person answers, whatever the model wrote.
                Ok(ToolCall::Respond(_)) if sources.is_empty() && failed_searches >= 2 => {
                    steps.push(Step {
                        tool: name,
                        input,
                        output: json!("refused: no knowledge-base match"),
                    });
                    let summary = "No knowledge-base article answers this after two searches.".into();
                    return Ok((
                        Decision::Escalate {
                            reason: EscalationReason::NoAnswer,
                            summary,
                        },
                        steps,
                    ));
                }
                Ok(ToolCall::Respond(r)) => {
                    steps.push(Step {
                        tool: name,
                        input,
                        output: json!("sent"),
                    });
                    return Ok((
                        Decision::Respond {
                            text: r.message,
                            sources,
                        },
                        steps,
                    ));
                }
                Ok(ToolCall::Escalate(e)) => {
                    steps.push(Step {
                        tool: name,
                        input,
                        output: json!("escalated"),
                    });
                    return Ok((
                        Decision::Escalate {
                            reason: e.reason,
                            summary: e.summary,
                        },
                        steps,
                    ));
                }
                Ok(ToolCall::Search(search)) => {
                    let hits = turn.knowledge.search(&search.query, SEARCH_RESULTS);
                    let good_match = hits.first().is_some_and(|h| h.score >= MATCH_THRESHOLD);
                    if !good_match {
                        failed_searches += 1;
                    }
                    if good_match {
                        sources.extend(
                            hits.iter()
                                .filter(|h| h.score >= MATCH_THRESHOLD)
                                .map(|h| h.passage.article.clone()),
                        );
                        sources.dedup();
                    }
                    json!({ "good_match": good_match, "hits": hits.iter().map(|h| json!({
                        "article": h.passage.article, "title": h.passage.title,
                        "heading": h.passage.heading, "text": h.passage.text, "score": h.score,
                    })).collect::<Vec<_>>() })
                }
                Ok(ToolCall::CreateTicket) => json!({
                    "ticket_id": turn.ticket.id, "status": turn.ticket.status,
                    "category": turn.ticket.category, "priority": turn.ticket.priority,
                }),
                Ok(ToolCall::History) => json!({ "history": history_text(turn.history) }),
                Err(problem) => json!({ "error": problem }),
            };
            let is_error = output.get("error").is_some();
            steps.push(Step {
                tool: name,
                input,
                output: summarize(&output),
            });
            results.push(ContentBlock::ToolResult {
                tool_use_id: id,
                content: output,
                is_error,
            });
        }
        request.messages.push(Message {
            role: Role::User,
            content: results,
        });
    }
    Ok((
        Decision::Escalate {
            reason: EscalationReason::Other,
            summary: format!("The model did not finish within {MAX_ROUNDS} rounds."),
        },
        steps,
    ))
}

fn finish_without_tool(text: Option<String>, sources: Vec<String>) -> Decision {
    match text.filter(|t| !t.is_empty()) {
        Some(text) if !sources.is_empty() => Decision::Respond { text, sources },
        _ => Decision::Escalate {
            reason: EscalationReason::Other,
            summary: "The model ended its turn without answering from the knowledge base.".into(),
        },
    }
}

/// Keeps the stored step small: article ids and scores, not whole passages.
fn summarize(output: &Value) -> Value {
    match output.get("hits").and_then(Value::as_array) {
        Some(hits) => json!({
            "good_match": output["good_match"],
            "hits": hits.iter().map(|h| json!({"article": h["article"], "score": h["score"]})).collect::<Vec<_>>(),
        }),
        None => output.clone(),
    }
}
