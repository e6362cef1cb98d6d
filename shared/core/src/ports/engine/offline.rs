//! The offline engine: a deterministic, retrieval-and-rules responder that
//! speaks the same tool-calling protocol as Bedrock, so the agent's pipeline is
//! identical with either. It needs no network and no model weights, and says
//! plainly in its answers that they come from the help center.
//!
//! Per turn it: searches with the customer's words (plus the earlier message a
//! follow-up refers to, and the subject when the words alone are vague); answers with
//! the excerpts that answer when a search found relevant passages; searches a second
//! time with the key words and the subject; and otherwise hands the question to a
//! person. It writes English only: the agent hands other languages to a person. It runs
//! no model, so its replies use no tokens.

use std::sync::LazyLock;

use async_trait::async_trait;
use regex::Regex;

use super::tools::ToolCall;
use super::{Engine, EngineError, EngineReply, Round, SearchHit, SearchResults, TokenUsage, ToolResult, Turn};
use crate::agent::format::WHATSAPP_PREFERRED_CHARS;
use crate::agent::words::{contains_any, split_sentences, Words};
use crate::domain::{Channel, Direction, EscalationReason, Language};
use crate::knowledge::is_learned;

/// Searches before the engine gives the question to a person.
const MAX_SEARCHES: usize = 2;
const MAX_ANSWER_CHARS: usize = 1200;
/// Another passage of the same article joins the answer when its relevance is within this
/// of the best's.
const JOIN_MARGIN: f32 = 0.05;
/// Fewer words than this say too little to search with alone: the subject joins them.
const VAGUE_WORDS: usize = 5;

const FOLLOW_UP: &[&str] = &[
    "following up",
    "follow up",
    "follow-up",
    "as i said",
    "my email",
    "my previous",
    "my last message",
    "again",
    "still",
    "any news",
    "nochmal",
    "sigo con",
    "sobre o",
    "wegen meiner",
];

/// "Does Tandem have X?", "Is there a way to X?", "Does the desktop app work offline?":
/// questions about whether a feature exists, which only an article naming it can answer.
static FEATURE_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:does|do)\s+(?:tandem|you|it|the\s[\w\s-]{0,40}?)\s+(?:have|support|offer|include|provide)\s+(?:an?\s+|any\s+)?(?P<feature>[^?.!,\n]+)|\bis\s+there\s+(?:a|any)\s+(?:way|option)\s+(?:for\s+tandem\s+)?to\s+(?P<action>[^?.!,\n]+)|\bdoes\s+(?P<subject>[\w\s-]{0,40}?)\s+work\s+offline",
    )
    .expect("valid regex")
});

/// Words that say nothing about which feature is meant.
const NOT_FEATURE_WORDS: &[&str] = &[
    "tandem",
    "that",
    "with",
    "like",
    "each",
    "from",
    "into",
    "your",
    "their",
    "this",
    "have",
    "built",
    "version",
    "automatically",
    "there",
    "which",
    "would",
    "could",
    "should",
    "able",
    "install",
    "some",
    "kind",
    "sort",
    "feature",
    "option",
    "function",
    "the",
    "app",
    "make",
    "same",
    "every",
    "turn",
];

/// What a passage must contain to answer a question about whether a feature exists.
#[derive(Debug, PartialEq)]
enum Feature {
    /// "Does Tandem have time tracking?": the words as a phrase.
    Named(Vec<String>),
    /// "Is there a way to make dependent cards move?": the words anywhere.
    Described(Vec<String>),
}

/// The feature a question asks about, if it asks whether one exists.
fn asked_feature(question: &str) -> Option<Feature> {
    let captures = FEATURE_QUESTION.captures(question)?;
    let (phrase, named) = match (
        captures.name("feature"),
        captures.name("action"),
        captures.name("subject"),
    ) {
        (Some(f), _, _) => (f.as_str().to_owned(), true),
        (_, Some(a), _) => (a.as_str().to_owned(), false),
        (_, _, Some(subject)) => (format!("{} offline", subject.as_str()), true),
        _ => return None,
    };
    let words: Vec<String> = Words::new(&phrase)
        .as_str()
        .split(' ')
        .filter(|w| w.chars().count() >= 4 && !NOT_FEATURE_WORDS.contains(w))
        .map(|w| w.chars().take(5).collect())
        .collect();
    match (words.is_empty(), named) {
        (true, _) => None,
        (false, true) => Some(Feature::Named(words)),
        (false, false) => Some(Feature::Described(words)),
    }
}

fn stems(text: &str) -> Vec<String> {
    Words::new(text)
        .as_str()
        .split(' ')
        .map(|w| w.chars().take(5).collect())
        .collect()
}

/// Whether a passage has what the feature question asks about.
fn covers(passage: &str, feature: &Feature) -> bool {
    match feature {
        Feature::Named(words) => names_feature(passage, words),
        Feature::Described(words) => {
            let tokens = stems(passage);
            words.iter().all(|w| tokens.contains(w))
        }
    }
}

/// Whether a passage names the feature: its words in order, each within three
/// words of the previous (word stems: the first five letters).
fn names_feature(passage: &str, feature: &[String]) -> bool {
    let tokens = stems(passage);
    let starts = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == feature[0])
        .map(|(i, _)| i);
    starts.into_iter().any(|start| {
        let mut at = start;
        feature[1..].iter().all(
            |word| match tokens[at + 1..tokens.len().min(at + 4)].iter().position(|t| t == word) {
                Some(offset) => {
                    at += offset + 1;
                    true
                }
                None => false,
            },
        )
    })
}

/// A search result the engine can answer from: a good match that, for a
/// question about a feature, actually names that feature.
fn answers(result: &SearchResults, question: &str) -> bool {
    if !result.good_match {
        return false;
    }
    match asked_feature(question) {
        None => true,
        Some(feature) => result.hits.iter().any(|h| covers(&h.text, &feature)),
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct OfflineEngine;

#[async_trait]
impl Engine for OfflineEngine {
    fn name(&self) -> String {
        "offline".into()
    }

    fn answers_in(&self, language: Language) -> bool {
        language == Language::English
    }

    async fn next(&self, turn: &Turn, rounds: &[Round]) -> Result<EngineReply, EngineError> {
        let searches: Vec<&SearchResults> = rounds
            .iter()
            .flat_map(|r| &r.exchanges)
            .filter_map(|e| match &e.result {
                ToolResult::Search(results) => Some(results),
                _ => None,
            })
            .collect();
        let calls_so_far: usize = rounds.iter().map(|r| r.exchanges.len()).sum();
        let call = match searches.last() {
            Some(result) if answers(result, &turn.customer_text) => ToolCall::SendResponse {
                message: compose_answer(&result.hits, turn.channel, asks_two_things(&turn.customer_text)),
            },
            _ if searches.len() < MAX_SEARCHES => ToolCall::SearchKnowledgeBase {
                query: query_for(turn, searches.len()),
            },
            _ => ToolCall::EscalateToHuman {
                reason: EscalationReason::NoAnswer,
                summary: format!(
                    "No knowledge-base article answers this after {MAX_SEARCHES} searches. Question: {}",
                    turn.customer_text.trim()
                ),
            },
        };
        // No model: no tokens.
        Ok(EngineReply {
            text: None,
            tool_requests: vec![call.into_request(format!("offline-{}", calls_so_far + 1))],
            usage: TokenUsage::default(),
        })
    }
}

/// The earlier customer message a follow-up refers to: the latest inbound one
/// in the history that is not this message.
fn referenced_message(turn: &Turn) -> Option<&str> {
    if !contains_any(&Words::new(&turn.customer_text), FOLLOW_UP) {
        return None;
    }
    let this = turn.customer_text.replace('\n', " ");
    turn.history
        .iter()
        .rev()
        .filter(|line| line.direction == Direction::Inbound)
        .map(|line| line.text.as_str())
        .find(|text| {
            let text = text.replace('\n', " ");
            text.trim() != this.trim() && !this.ends_with(text.trim())
        })
}

/// The first search uses the customer's words as written (with what a follow-up refers
/// to, and the subject when the words alone are vague): the search compares each sentence
/// and the whole, so the sentences stay. The second uses only the longer words, with the
/// subject, which drops the chatter that can drown a short question.
fn query_for(turn: &Turn, attempt: usize) -> String {
    let mut query = focus(&turn.customer_text);
    if let Some(earlier) = referenced_message(turn) {
        query = format!("{query}\n{}", focus(earlier));
    }
    let subject = turn.subject.as_deref().unwrap_or_default();
    if attempt == 0 {
        if query.split_whitespace().count() < VAGUE_WORDS && !subject.is_empty() {
            query = format!("{subject}: {query}");
        }
        return query.trim().to_owned();
    }
    let keywords: Vec<&str> = query.split_whitespace().filter(|w| w.chars().count() >= 5).collect();
    unique_words(&format!("{subject} {}", keywords.join(" ")))
}

/// Above this many words a message is searched by its questions only: the
/// real question is often buried in a long story.
const LONG_MESSAGE_WORDS: usize = 120;

fn focus(message: &str) -> String {
    if message.split_whitespace().count() <= LONG_MESSAGE_WORDS {
        return message.to_owned();
    }
    let questions: Vec<&str> = split_sentences(message)
        .into_iter()
        .filter(|s| s.trim_end().ends_with('?'))
        .collect();
    if questions.is_empty() {
        message.to_owned()
    } else {
        questions.concat()
    }
}

/// Each word once: repeating a word must not weigh it more in the search.
fn unique_words(text: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    text.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty() && seen.insert(w.to_lowercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An answer from the excerpts that answer: the best passage's, those of the same
/// article that are nearly as relevant, and a second article's when the message asks two
/// things. WhatsApp gets the first sentences only.
fn compose_answer(hits: &[SearchHit], channel: Channel, two_questions: bool) -> String {
    let Some(best) = hits.first() else {
        return String::new();
    };
    if channel == Channel::Whatsapp {
        let short = first_sentences(&best.excerpt, WHATSAPP_PREFERRED_CHARS);
        return format!("{short} (from {}) Reply if you need more detail.", citation(best));
    }
    let mut parts = vec![best.excerpt.clone()];
    let mut titles = vec![citation(best)];
    for hit in &hits[1..] {
        let close = hit.score >= best.score - JOIN_MARGIN;
        // Every hit here answers (the search dropped the rest): a second question's
        // article joins however close it is.
        let joins = (close && hit.article == best.article) || (two_questions && hit.article != best.article);
        if joins && parts.iter().map(String::len).sum::<usize>() + hit.excerpt.len() < MAX_ANSWER_CHARS {
            parts.push(hit.excerpt.clone());
            if !titles.contains(&citation(hit)) {
                titles.push(citation(hit));
            }
        }
    }
    let body = truncate_at_sentence(&parts.join("\n\n"), MAX_ANSWER_CHARS);
    let sources = titles.join(" and ");
    format!(
        "Here is what we found ({sources}):\n\n{body}\n\nThis answer was put together automatically. If it doesn't solve your problem, just reply and a person from our team will take over."
    )
}

/// Where an excerpt comes from, as the reply names it: a help article by its title, or an
/// answer our team wrote (learned from a resolved ticket) by the question it answers.
fn citation(hit: &SearchHit) -> String {
    match is_learned(&hit.article) {
        true => format!("our team's answer to \"{}\"", hit.title),
        false => format!("our help article \"{}\"", hit.title),
    }
}

/// "Where are invoices? And how do I change the card?": a second article may answer the second part.
fn asks_two_things(question: &str) -> bool {
    let words = Words::new(question);
    question.matches('?').count() >= 2
        || (question.contains("1)") && question.contains("2)"))
        || contains_any(&words, &["two things", "2 things", "two questions", "2 questions"])
}

fn first_sentences(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for sentence in split_sentences(text) {
        if !out.is_empty() && out.chars().count() + sentence.chars().count() > max_chars {
            break;
        }
        out.push_str(sentence);
    }
    truncate_at_sentence(out.trim(), max_chars)
}

fn truncate_at_sentence(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max_chars).collect();
    match cut.rfind(['.', '!', '?', '\n']) {
        Some(end) if end > max_chars / 2 => cut[..=end].trim_end().to_owned(),
        _ => format!("{}…", cut.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::Value;

    use super::*;
    use crate::ports::engine::{Exchange, HistoryLine};

    const SEARCH: &str = "search_knowledge_base";
    const RESPOND: &str = "send_response";
    const ESCALATE: &str = "escalate_to_human";

    fn turn(question: &str, channel: Channel, history: &[(Channel, &str)]) -> Turn {
        Turn {
            channel,
            subject: None,
            customer_text: question.into(),
            history: history
                .iter()
                .map(|(channel, text)| HistoryLine {
                    at: Utc::now(),
                    channel: *channel,
                    direction: Direction::Inbound,
                    text: (*text).into(),
                })
                .collect(),
        }
    }

    fn search_round(results: SearchResults) -> Round {
        Round {
            text: None,
            exchanges: vec![Exchange {
                request: ToolCall::SearchKnowledgeBase { query: "q".into() }.into_request("t"),
                result: ToolResult::Search(results),
            }],
        }
    }

    /// The engine's next tool call, as it goes on the wire: name and input.
    async fn next_tool(turn: Turn, searches: Vec<SearchResults>) -> (String, Value) {
        let rounds: Vec<Round> = searches.into_iter().map(search_round).collect();
        let reply = OfflineEngine.next(&turn, &rounds).await.unwrap();
        let request = reply.tool_requests.into_iter().next().expect("a tool call");
        (request.name, request.input)
    }

    fn hit(article: &str, title: &str, score: f32, text: &str) -> SearchHit {
        SearchHit {
            article: article.into(),
            title: title.into(),
            heading: String::new(),
            text: text.into(),
            excerpt: text.into(),
            score,
        }
    }

    fn good() -> SearchResults {
        SearchResults {
            good_match: true,
            hits: vec![hit(
                "reset-password",
                "Reset your password",
                0.8,
                "Choose Forgot password on the login page. The link is valid for one hour. Check spam if it does not arrive.",
            )],
        }
    }

    #[tokio::test]
    async fn searches_first_then_answers_from_a_good_match() {
        let (name, input) = next_tool(turn("How do I reset my password?", Channel::Email, &[]), vec![]).await;
        assert_eq!(name, SEARCH);
        assert!(input["query"]
            .as_str()
            .unwrap()
            .starts_with("How do I reset my password"));
        let (name, input) = next_tool(turn("How do I reset my password?", Channel::Email, &[]), vec![good()]).await;
        assert_eq!(name, RESPOND);
        let answer = input["message"].as_str().unwrap();
        assert!(answer.contains("Choose Forgot password") && answer.contains("put together automatically"));
    }

    #[tokio::test]
    async fn whatsapp_answers_are_short() {
        let (_, input) = next_tool(turn("reset pw?", Channel::Whatsapp, &[]), vec![good()]).await;
        let answer = input["message"].as_str().unwrap();
        assert!(answer.chars().count() < 400, "{answer}");
    }

    #[tokio::test]
    async fn follow_ups_search_with_the_message_they_refer_to() {
        let history = [
            (Channel::Email, "How do I import boards from Trello?"),
            (Channel::Whatsapp, "following up on my email, still stuck"),
        ];
        let question = "following up on my email, still stuck";
        let (_, input) = next_tool(turn(question, Channel::Whatsapp, &history), vec![]).await;
        assert!(
            input["query"].as_str().unwrap().contains("import boards from Trello"),
            "{input}"
        );
    }

    #[tokio::test]
    async fn a_vague_message_is_searched_with_its_subject() {
        let mut vague = turn("still not working", Channel::Email, &[]);
        vague.subject = Some("Slack notifications".into());
        let (_, input) = next_tool(vague, vec![]).await;
        assert!(
            input["query"].as_str().unwrap().contains("Slack notifications"),
            "{input}"
        );
        let mut clear = turn("How do I export my board to CSV?", Channel::Email, &[]);
        clear.subject = Some("Billing".into());
        let (_, input) = next_tool(clear, vec![]).await;
        assert!(!input["query"].as_str().unwrap().contains("Billing"), "{input}");
    }

    #[test]
    fn feature_questions_need_a_passage_that_names_the_feature() {
        let Some(Feature::Named(feature)) = asked_feature("Does Tandem have built-in time tracking, like a timer?")
        else {
            panic!("a feature question")
        };
        assert_eq!(feature, ["time", "track"]);
        assert!(!names_feature(
            "Track progress over a long time on the timeline.",
            &feature
        ));
        assert!(names_feature("Time tracking is on every card.", &feature));
        assert_eq!(
            asked_feature("Does the Tandem desktop app on Mac work offline?"),
            Some(Feature::Named(vec!["deskt".into(), "offli".into()]))
        );
        let described = asked_feature("Is there a way to make the dependent cards move automatically?").unwrap();
        assert!(covers("Cards that depend on a moved card move with it.", &described));
        assert_eq!(asked_feature("How do I export a board?"), None);
    }

    #[tokio::test]
    async fn a_match_that_does_not_name_the_asked_feature_is_no_answer() {
        let unrelated = SearchResults {
            good_match: true,
            hits: vec![hit(
                "timeline-view",
                "Timeline",
                0.6,
                "The timeline shows cards over time.",
            )],
        };
        let question = "Does Tandem have time tracking?";
        let (name, _) = next_tool(turn(question, Channel::Email, &[]), vec![unrelated.clone()]).await;
        assert_eq!(name, SEARCH);
        let (name, _) = next_tool(turn(question, Channel::Email, &[]), vec![unrelated.clone(), unrelated]).await;
        assert_eq!(name, ESCALATE);
    }

    #[tokio::test]
    async fn two_failed_searches_hand_the_question_to_a_person() {
        let miss = SearchResults {
            good_match: false,
            hits: vec![],
        };
        let (name, _) = next_tool(
            turn("Do you have time tracking?", Channel::Email, &[]),
            vec![miss.clone()],
        )
        .await;
        assert_eq!(name, SEARCH);
        let (name, input) = next_tool(
            turn("Do you have time tracking?", Channel::Email, &[]),
            vec![miss.clone(), miss],
        )
        .await;
        assert_eq!(name, ESCALATE);
        assert_eq!(input["reason"], "no_answer");
    }
}
