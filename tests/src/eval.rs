//! The eval: the labelled tickets of `context/sample-tickets.json` through the
//! whole pipeline on the local stack, scored against their labels.
//!
//! Web form tickets are submitted to the form API with the category the
//! customer would pick (the expected one); email and WhatsApp tickets are put
//! on the inbound queue as their webhooks normalize them (email: address and
//! name, proven by the mailbox's authentication; WhatsApp: phone and profile name,
//! proven by Twilio's signature), one at a time. A web form's address is only claimed, so
//! its follow-ups see only their own ticket. Follow-ups go in
//! after the tickets they follow. A ticket counts once the agent decided
//! (answered or escalated); its latency runs from sending to that decision.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};

use support_core::domain::Language;
use support_core::email::own_words;

use crate::{json_attribute, TestApp};

#[derive(Debug, Clone, Deserialize)]
pub struct LabelledTicket {
    pub id: String,
    pub channel: String,
    pub customer: Customer,
    pub subject: Option<String>,
    pub message: String,
    pub expected: Expected,
    pub follow_up_of: Option<String>,
    /// `context/dev-set.json` only: `tune` or `held_out`.
    #[serde(default)]
    pub split: Option<String>,
    /// `context/dev-set.json` only: answerable, escalation, lookalike, unanswerable, other_language.
    #[serde(default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    pub category: String,
    pub escalate: bool,
    pub escalation_reason: Option<String>,
    pub kb_article: Option<String>,
}

/// The labelled tickets of `context/sample-tickets.json`, with what the offline engine is
/// expected to do (see [`offline_expectations`]).
pub fn labelled_tickets() -> Result<Vec<LabelledTicket>> {
    read_labelled("context/sample-tickets.json")
}

/// One split (`tune` or `held_out`) of the development set, `context/dev-set.json`.
pub fn dev_set(split: &str) -> Result<Vec<LabelledTicket>> {
    let mut tickets = read_labelled("context/dev-set.json")?;
    tickets.retain(|t| t.split.as_deref() == Some(split));
    Ok(tickets)
}

fn read_labelled(file: &str) -> Result<Vec<LabelledTicket>> {
    let path = local_stack::workspace_root().join(file);
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let mut tickets: Vec<LabelledTicket> = serde_json::from_str(&text)?;
    tickets.iter_mut().for_each(offline_expectations);
    Ok(tickets)
}

/// The labels say what a support person would do; the offline engine writes English only,
/// so a message in another language that a person would answer goes to a person instead,
/// with a hand-off in the customer's language (reason `other`): a decision, tested here.
fn offline_expectations(ticket: &mut LabelledTicket) {
    let language = Language::of(&own_words(&ticket.message));
    if language != Language::English && !ticket.expected.escalate {
        ticket.expected = Expected {
            category: ticket.expected.category.clone(),
            escalate: true,
            escalation_reason: Some("other".into()),
            kb_article: None,
        };
    }
}

/// What the pipeline did with one labelled ticket.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ticket: LabelledTicket,
    /// `None` when the form refused the message (it never reached the agent).
    pub decided: Option<Decided>,
}

#[derive(Debug, Clone)]
pub struct Decided {
    pub category: String,
    pub escalated: bool,
    pub reason: Option<String>,
    /// Articles of the first knowledge search's top 3.
    pub top3: Vec<String>,
    /// The articles an answer was drawn from (none when escalated).
    pub sources: Vec<String>,
    pub latency: Duration,
    pub agent_ms: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Scores {
    pub n: usize,
    pub category_accuracy: f64,
    pub escalation_precision: f64,
    pub escalation_recall: f64,
    pub escalation_rate: f64,
    pub reason_accuracy: f64,
    pub kb_hit_at_3: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub agent_p50_ms: f64,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

fn percentile(values: Vec<f64>, p: f64) -> f64 {
    support_core::stats::percentile(&values, p).unwrap_or(0.0)
}

pub fn score(outcomes: &[&Outcome]) -> Scores {
    let decided: Vec<(&LabelledTicket, &Decided)> = outcomes
        .iter()
        .filter_map(|o| o.decided.as_ref().map(|d| (&o.ticket, d)))
        .collect();
    let n = decided.len();
    let true_pos = decided
        .iter()
        .filter(|(t, d)| t.expected.escalate && d.escalated)
        .count();
    let predicted = decided.iter().filter(|(_, d)| d.escalated).count();
    let actual = decided.iter().filter(|(t, _)| t.expected.escalate).count();
    let with_article: Vec<_> = decided
        .iter()
        .filter(|(t, _)| t.expected.kb_article.is_some())
        .collect();
    let kb_hits = with_article
        .iter()
        .filter(|(t, d)| d.top3.contains(t.expected.kb_article.as_ref().unwrap()))
        .count();
    let reasons_right = decided
        .iter()
        .filter(|(t, d)| t.expected.escalate && d.escalated && t.expected.escalation_reason == d.reason)
        .count();
    Scores {
        n,
        category_accuracy: ratio(
            decided
                .iter()
                .filter(|(t, d)| t.expected.category == d.category)
                .count(),
            n,
        ),
        escalation_precision: ratio(true_pos, predicted),
        escalation_recall: ratio(true_pos, actual),
        escalation_rate: ratio(predicted, n),
        reason_accuracy: ratio(reasons_right, true_pos),
        kb_hit_at_3: ratio(kb_hits, with_article.len()),
        p50_ms: percentile(
            decided.iter().map(|(_, d)| d.latency.as_secs_f64() * 1e3).collect(),
            50.0,
        ),
        p95_ms: percentile(
            decided.iter().map(|(_, d)| d.latency.as_secs_f64() * 1e3).collect(),
            95.0,
        ),
        agent_p50_ms: percentile(decided.iter().map(|(_, d)| d.agent_ms).collect(), 50.0),
    }
}

pub struct Report {
    pub outcomes: Vec<Outcome>,
    pub overall: Scores,
    pub per_channel: BTreeMap<String, Scores>,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, name: &str, s: &Scores| {
            let _ = writeln!(
                out,
                "{name:<10} n={:<3} category={:>5.1}%  escalation precision={:.2} recall={:.2} rate={:>5.1}%  reason={:>5.1}%  KB hit@3={:>5.1}%  latency p50={:>6.0} ms p95={:>6.0} ms  agent p50={:>5.0} ms",
                s.n, s.category_accuracy * 100.0, s.escalation_precision, s.escalation_recall, s.escalation_rate * 100.0,
                s.reason_accuracy * 100.0, s.kb_hit_at_3 * 100.0, s.p50_ms, s.p95_ms, s.agent_p50_ms
            );
        };
        line(&mut out, "overall", &self.overall);
        for (channel, s) in &self.per_channel {
            line(&mut out, channel, s);
        }
        let refused: Vec<&str> = self
            .outcomes
            .iter()
            .filter(|o| o.decided.is_none())
            .map(|o| o.ticket.id.as_str())
            .collect();
        if !refused.is_empty() {
            let _ = writeln!(
                out,
                "refused by the form's validation (not scored): {}",
                refused.join(", ")
            );
        }
        let _ = writeln!(out, "\nmisses:");
        for o in &self.outcomes {
            let Some(d) = &o.decided else { continue };
            let e = &o.ticket.expected;
            let mut wrong = Vec::new();
            if e.category != d.category {
                wrong.push(format!("category {} (want {})", d.category, e.category));
            }
            if e.escalate != d.escalated || (e.escalate && e.escalation_reason != d.reason) {
                wrong.push(format!(
                    "escalated={} {:?} (want {} {:?})",
                    d.escalated, d.reason, e.escalate, e.escalation_reason
                ));
            }
            if let Some(article) = &e.kb_article {
                if !d.top3.contains(article) {
                    wrong.push(format!("KB top3 {:?} (want {article})", d.top3));
                }
            }
            if !wrong.is_empty() {
                let _ = writeln!(out, "  {} [{}] {}", o.ticket.id, o.ticket.channel, wrong.join("; "));
            }
        }
        out
    }
}

/// Runs every labelled ticket through `app` and scores the results.
pub async fn run(app: &TestApp, tickets: &[LabelledTicket]) -> Result<Report> {
    let (first, follow_ups): (Vec<_>, Vec<_>) = tickets.iter().partition(|t| t.follow_up_of.is_none());
    let mut outcomes = Vec::new();
    // One at a time, so each latency is the message's own, not time spent queued behind the others.
    for ticket in first.into_iter().chain(follow_ups) {
        let sent_at = Instant::now();
        let decided = match send(app, ticket).await? {
            Some(id) => Some(wait_for_decision(app, &id, sent_at, Duration::from_secs(60)).await?),
            None => None,
        };
        outcomes.push(Outcome {
            ticket: ticket.clone(),
            decided,
        });
    }
    outcomes.sort_by(|a, b| a.ticket.id.cmp(&b.ticket.id));
    let overall = score(&outcomes.iter().collect::<Vec<_>>());
    let mut per_channel = BTreeMap::new();
    for channel in ["email", "web_form", "whatsapp"] {
        let of_channel: Vec<&Outcome> = outcomes.iter().filter(|o| o.ticket.channel == channel).collect();
        per_channel.insert(channel.to_owned(), score(&of_channel));
    }
    Ok(Report {
        outcomes,
        overall,
        per_channel,
    })
}

/// Hands the ticket to the system the way its channel would; returns its ticket id,
/// or `None` if the web form refused it.
async fn send(app: &TestApp, ticket: &LabelledTicket) -> Result<Option<String>> {
    if ticket.channel == "web_form" {
        let form = json!({
            "name": ticket.customer.name,
            "email": ticket.customer.email,
            "subject": ticket.subject,
            "category": ticket.expected.category,
            "message": ticket.message,
        });
        // As the form does: a 503 (the store was busy) is retried with the same key, so a
        // submission the first attempt stored is not stored twice.
        let mut attempts = 0;
        let response = loop {
            attempts += 1;
            let response = app
                .http
                .post(format!("{}/support/submit", app.base_url))
                .header("idempotency-key", format!("eval-{}", ticket.id))
                .json(&form)
                .send()
                .await?;
            if response.status() != 503 || attempts == 3 {
                break response;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        return match response.status().as_u16() {
            201 => Ok(response.json::<Value>().await?["ticket_id"].as_str().map(str::to_owned)),
            422 => Ok(None),
            other => bail!("{}: the form answered {other}", ticket.id),
        };
    }
    // As the channels' webhooks prove their senders: Twilio's signed number, the mailbox's
    // authentication verdict.
    let (sender, proof) = if ticket.channel == "whatsapp" {
        (
            json!({ "name": ticket.customer.name, "phone": ticket.customer.phone }),
            "twilio_sender",
        )
    } else {
        (
            json!({ "name": ticket.customer.name, "email": ticket.customer.email }),
            "mailbox_authentication",
        )
    };
    let message = json!({
        "channel": ticket.channel,
        "channel_message_id": ticket.id,
        "sender": sender,
        "proof": proof,
        "subject": ticket.subject,
        "body": ticket.message,
        "received_at": chrono::Utc::now(),
        "correlation_id": format!("eval-{}", ticket.id),
    });
    Ok(Some(app.deliver(&message).await?))
}

async fn wait_for_decision(app: &TestApp, ticket_id: &str, sent_at: Instant, timeout: Duration) -> Result<Decided> {
    let ticket = app.decided_ticket(ticket_id, timeout).await?;
    let latency = sent_at.elapsed();
    let (top3, sources, agent_ms) = agent_run(app, ticket_id).await?;
    Ok(Decided {
        category: ticket["category"].as_str().unwrap_or_default().to_owned(),
        escalated: ticket["status"] == "escalated",
        reason: ticket["escalation_reason"].as_str().map(str::to_owned),
        top3,
        sources,
        latency,
        agent_ms,
    })
}

/// A run's attribute that holds JSON text (`Null` when absent).
/// The first search's top articles, the answer's sources and the agent's own time, from
/// the run it recorded.
async fn agent_run(app: &TestApp, ticket_id: &str) -> Result<(Vec<String>, Vec<String>, f64)> {
    let runs = app.ticket_items(ticket_id, "RUN#").await?;
    let Some(run) = runs.first() else {
        return Ok((Vec::new(), Vec::new(), 0.0));
    };
    let decision = json_attribute(run, "decision")?;
    let sources = decision["sources"]
        .as_array()
        .map(|s| s.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let steps = json_attribute(run, "steps")?;
    let top3 = steps
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["tool"] == "search_knowledge_base"))
        .and_then(|s| s["output"]["hits"].as_array())
        .map(|hits| {
            hits.iter()
                .take(3)
                .filter_map(|h| h["article"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let agent_ms = run
        .get("duration_ms")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    Ok((top3, sources, agent_ms))
}

/// The understanding issue's measures, over one set of outcomes.
#[derive(Debug, Clone, Default)]
pub struct Understanding {
    pub n: usize,
    /// Per reason: (recall, precision, how many expected).
    pub per_reason: BTreeMap<String, (f64, f64, usize)>,
    pub escalation_recall: f64,
    /// Escalated, of the messages a person would answer.
    pub false_escalations: f64,
    /// Answered from the right article, of the messages a person would answer from one.
    pub answer_correctness: f64,
    /// Answered from the wrong article, or answered when it should have escalated, of all.
    pub wrong_confident: f64,
    /// Unanswerable questions handed over as `no_answer`.
    pub no_answer_recall: f64,
    pub p95_ms: f64,
    pub agent_p95_ms: f64,
}

pub fn understanding(outcomes: &[&Outcome]) -> Understanding {
    let decided: Vec<(&LabelledTicket, &Decided)> = outcomes
        .iter()
        .filter_map(|o| o.decided.as_ref().map(|d| (&o.ticket, d)))
        .collect();
    let count = |f: &dyn Fn(&LabelledTicket, &Decided) -> bool| decided.iter().filter(|(t, d)| f(t, d)).count();
    let mut per_reason = BTreeMap::new();
    let reasons: std::collections::BTreeSet<String> = decided
        .iter()
        .filter_map(|(t, _)| t.expected.escalation_reason.clone())
        .collect();
    for reason in reasons {
        let want = Some(reason.clone());
        let expected = count(&|t, _| t.expected.escalation_reason == want);
        let found = count(&|t, d| t.expected.escalation_reason == want && d.reason == want);
        let predicted = count(&|_, d| d.reason == want);
        per_reason.insert(reason, (ratio(found, expected), ratio(found, predicted), expected));
    }
    let answerable = count(&|t, _| !t.expected.escalate);
    let should_escalate = count(&|t, _| t.expected.escalate);
    let right_source = |t: &LabelledTicket, d: &Decided| d.sources.first() == t.expected.kb_article.as_ref();
    Understanding {
        n: decided.len(),
        per_reason,
        escalation_recall: ratio(count(&|t, d| t.expected.escalate && d.escalated), should_escalate),
        false_escalations: ratio(count(&|t, d| !t.expected.escalate && d.escalated), answerable),
        answer_correctness: ratio(
            count(&|t, d| !t.expected.escalate && !d.escalated && right_source(t, d)),
            count(&|t, _| !t.expected.escalate && t.expected.kb_article.is_some()),
        ),
        wrong_confident: ratio(
            count(&|t, d| !d.escalated && !d.sources.is_empty() && (t.expected.escalate || !right_source(t, d))),
            decided.len(),
        ),
        no_answer_recall: ratio(
            count(&|t, d| t.kind.as_deref() == Some("unanswerable") && d.reason.as_deref() == Some("no_answer")),
            count(&|t, _| t.kind.as_deref() == Some("unanswerable")),
        ),
        p95_ms: percentile(
            decided.iter().map(|(_, d)| d.latency.as_secs_f64() * 1e3).collect(),
            95.0,
        ),
        agent_p95_ms: percentile(decided.iter().map(|(_, d)| d.agent_ms).collect(), 95.0),
    }
}

impl Understanding {
    pub fn render(&self, name: &str) -> String {
        let mut out = format!(
            "{name:<10} n={:<3} escalation recall={:.2}  false escalations={:>5.1}%  answer correctness={:>5.1}%  wrong confident={:>5.1}%  no_answer recall={:.2}  latency p95={:>5.0} ms  agent p95={:>4.0} ms\n",
            self.n,
            self.escalation_recall,
            self.false_escalations * 100.0,
            self.answer_correctness * 100.0,
            self.wrong_confident * 100.0,
            self.no_answer_recall,
            self.p95_ms,
            self.agent_p95_ms
        );
        for (reason, (recall, precision, n)) in &self.per_reason {
            let _ = writeln!(
                out,
                "           {reason:<14} n={n:<3} recall={recall:.2} precision={precision:.2}"
            );
        }
        out
    }
}

/// The understanding measures overall and per channel, as text.
pub fn render_understanding(report: &Report) -> String {
    let all: Vec<&Outcome> = report.outcomes.iter().collect();
    let mut out = understanding(&all).render("overall");
    for channel in ["email", "web_form", "whatsapp"] {
        let of_channel: Vec<&Outcome> = report.outcomes.iter().filter(|o| o.ticket.channel == channel).collect();
        out.push_str(&understanding(&of_channel).render(channel));
    }
    out
}
