//! The offline engine: a deterministic, retrieval-and-rules responder that
//! speaks the same tool-calling protocol as Bedrock, so the agent's pipeline is
//! identical with either. It needs no network and no model weights, and says
//! plainly in its answers that they come from the help center.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::prompt::customer_message;
use super::tools::{ESCALATE_TO_HUMAN, SEARCH_KNOWLEDGE_BASE, SEND_RESPONSE};
use crate::model::{
    ChatModel, ContentBlock, ConverseRequest, ConverseResponse, Message, ModelError, Role,
    StopReason,
};

/// Searches before the engine gives the question to a person.
const MAX_SEARCHES: usize = 2;
const MAX_ANSWER_CHARS: usize = 1200;

#[derive(Debug, Default, Clone, Copy)]
pub struct OfflineEngine;

#[async_trait]
impl ChatModel for OfflineEngine {
    async fn converse(&self, request: &ConverseRequest) -> Result<ConverseResponse, ModelError> {
        let question = request
            .messages
            .first()
            .and_then(|m| {
                m.content.iter().find_map(|b| match b {
                    ContentBlock::Text(t) => customer_message(t),
                    _ => None,
                })
            })
            .ok_or_else(|| ModelError::Failed("no customer message in the conversation".into()))?;
        let searches: Vec<&Value> = tool_results(request)
            .filter(|c| c.get("hits").is_some())
            .collect();
        let tool_count = request
            .messages
            .iter()
            .flat_map(|m| &m.content)
            .filter(|b| matches!(b, ContentBlock::ToolUse { .. }))
            .count();
        let (name, input) = match searches.last() {
            Some(result) if result["good_match"] == json!(true) => (
                SEND_RESPONSE,
                json!({ "message": compose_answer(&result["hits"]) }),
            ),
            _ if searches.len() < MAX_SEARCHES => (
                SEARCH_KNOWLEDGE_BASE,
                json!({ "query": query_for(&question, searches.len()) }),
            ),
            _ => (
                ESCALATE_TO_HUMAN,
                json!({
                    "reason": "no_answer",
                    "summary": format!("The knowledge base has no good answer after {MAX_SEARCHES} searches. Question: {}", question.trim()),
                }),
            ),
        };
        Ok(ConverseResponse {
            message: Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse {
                    id: format!("offline-{}", tool_count + 1),
                    name: name.into(),
                    input,
                }],
            },
            stop_reason: StopReason::ToolUse,
        })
    }
}

fn tool_results(request: &ConverseRequest) -> impl Iterator<Item = &Value> {
    request
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|b| match b {
            ContentBlock::ToolResult { content, .. } => Some(content),
            _ => None,
        })
}

/// The first search uses the whole message; the second only its longer words,
/// which drops the chatter that can drown a short question.
fn query_for(question: &str, attempt: usize) -> String {
    if attempt == 0 {
        return question.to_owned();
    }
    let keywords: Vec<&str> = question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 5)
        .collect();
    if keywords.is_empty() {
        question.to_owned()
    } else {
        keywords.join(" ")
    }
}

/// An answer made of the best passage (and the next one when it comes from the
/// same article), with the article named so the customer can read on.
fn compose_answer(hits: &Value) -> String {
    let hits = hits.as_array().map(Vec::as_slice).unwrap_or_default();
    let Some(best) = hits.first() else {
        return String::new();
    };
    let title = best["title"].as_str().unwrap_or_default();
    let mut body = best["text"].as_str().unwrap_or_default().to_owned();
    if let Some(next) = hits.get(1).filter(|h| h["article"] == best["article"]) {
        let more = next["text"].as_str().unwrap_or_default();
        if body.len() + more.len() < MAX_ANSWER_CHARS {
            body = format!("{body}\n\n{more}");
        }
    }
    if body.chars().count() > MAX_ANSWER_CHARS {
        body = truncate_at_sentence(&body, MAX_ANSWER_CHARS);
    }
    format!("Here is what our help center says about \"{title}\":\n\n{body}\n\nThis answer was put together automatically from our help center. If it doesn't solve your problem, just reply and a person from our team will take over.")
}

fn truncate_at_sentence(text: &str, max_chars: usize) -> String {
    let cut: String = text.chars().take(max_chars).collect();
    match cut.rfind(['.', '!', '?', '\n']) {
        Some(end) if end > max_chars / 2 => cut[..=end].trim_end().to_owned(),
        _ => format!("{}…", cut.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::prompt::first_user_message;

    fn request(results: Vec<Value>) -> ConverseRequest {
        let mut messages = vec![first_user_message("How do I reset my password?", "")];
        for (i, content) in results.into_iter().enumerate() {
            messages.push(Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse {
                    id: format!("t{i}"),
                    name: SEARCH_KNOWLEDGE_BASE.into(),
                    input: json!({}),
                }],
            });
            messages.push(Message {
                role: Role::User,
                content: vec![ContentBlock::ToolResult {
                    tool_use_id: format!("t{i}"),
                    content,
                    is_error: false,
                }],
            });
        }
        ConverseRequest {
            system: String::new(),
            messages,
            tools: vec![],
        }
    }

    async fn next_tool(results: Vec<Value>) -> (String, Value) {
        let response = OfflineEngine.converse(&request(results)).await.unwrap();
        match &response.message.content[0] {
            ContentBlock::ToolUse { name, input, .. } => (name.clone(), input.clone()),
            other => panic!("expected a tool use, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn searches_first_then_answers_from_a_good_match() {
        let (name, input) = next_tool(vec![]).await;
        assert_eq!(
            (name.as_str(), input["query"].as_str()),
            (SEARCH_KNOWLEDGE_BASE, Some("How do I reset my password?"))
        );
        let good = json!({"good_match": true, "hits": [{"article": "reset-password", "title": "Reset your password", "text": "Choose Forgot password on the login page."}]});
        let (name, input) = next_tool(vec![good]).await;
        assert_eq!(name, SEND_RESPONSE);
        assert!(input["message"]
            .as_str()
            .unwrap()
            .contains("Choose Forgot password"));
    }

    #[tokio::test]
    async fn two_failed_searches_hand_the_question_to_a_person() {
        let miss = json!({"good_match": false, "hits": []});
        assert_eq!(next_tool(vec![miss.clone()]).await.0, SEARCH_KNOWLEDGE_BASE);
        let (name, input) = next_tool(vec![miss.clone(), miss]).await;
        assert_eq!(name, ESCALATE_TO_HUMAN);
        assert_eq!(input["reason"], "no_answer");
    }
}
