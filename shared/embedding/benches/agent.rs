//! `cargo bench -p support-embedding --bench agent`: the agent's cold init with the
//! embedding model (to an agent ready with the bundled knowledge base and the rails), the
//! intake's and the agent's own time per message over every message of
//! `context/dev-set.json` (offline engine, in-memory ports: no emulator, no network),
//! hybrid knowledge search over 200 generated articles (embedded at run time: only the
//! bundled ones are precomputed), and the peak memory.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use support_core::agent::rails::SemanticRails;
use support_core::agent::{Agent, AgentPorts};
use support_core::domain::{Channel, EmailAddress, IdentityProof, InboundMessage, QueuedMessage, Sender};
use support_core::intake::Intake;
use support_core::knowledge::{Knowledge, KnowledgeBase};
use support_core::ports::customers::memory::MemoryCustomers;
use support_core::ports::engine::offline::OfflineEngine;
use support_core::ports::queue::memory::MemoryQueue;
use support_core::ports::tickets::memory::MemoryTickets;
use support_core::stats::percentile;
use support_embedding::{default_model_dir, shared_embedder};

const TOPICS: &[&str] = &[
    "boards",
    "cards",
    "timeline",
    "dependencies",
    "automations",
    "templates",
    "guests",
    "comments",
    "notifications",
    "invoices",
    "billing",
    "seats",
    "passwords",
    "two-factor",
    "SAML",
    "Slack",
    "GitHub",
    "Zapier",
    "webhooks",
    "API",
    "exports",
    "imports",
    "attachments",
    "mobile",
    "roles",
    "audit",
    "retention",
    "residency",
    "labels",
    "checklists",
];
const ACTIONS: &[&str] = &[
    "set up",
    "troubleshoot",
    "configure",
    "share",
    "archive",
    "restore",
    "limit",
    "filter",
    "sync",
    "migrate",
];

fn generated_articles(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let topic = TOPICS[i % TOPICS.len()];
            let action = ACTIONS[(i / TOPICS.len()) % ACTIONS.len()];
            let slug = format!("article-{i}");
            let body = format!(
                "# How to {action} {topic} ({i})\n<!-- category: general -->\n## Overview\nThis article explains how to {action} {topic} in a workspace, \
                 step {i}. Open Settings, choose {topic}, then {action} what you need. Admins and owners can change it for the team.\n\
                 ## Steps\n1. Open the board menu.\n2. Select {topic} and choose {action}.\n3. Save. Changes apply within a minute.\n\
                 ## Troubleshooting\nIf {topic} does not {action}, check your role, your plan's limits and the audit log for errors {i}.\n"
            );
            (slug, body)
        })
        .collect()
}

fn percentiles(micros: &[f64]) -> (f64, f64) {
    let at = |p| percentile(micros, p).unwrap_or(f64::NAN);
    (at(50.0), at(95.0))
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(|l| l.trim().to_owned()))
        .unwrap_or_else(|| "VmHWM unknown".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let started = Instant::now();
    let embedder = shared_embedder(&default_model_dir()).expect("the embedding model (scripts/ensure-model.sh)");
    let classifiers = support_embedding::precomputed::load_classifiers(&default_model_dir()).expect("classifiers");
    let rails = SemanticRails::new(classifiers.intents);
    let articles = classifiers.articles;
    let knowledge = Knowledge::articles_only(embedder.clone()).with_article_model(Arc::new(articles));
    knowledge.current().await.expect("the bundled knowledge base");
    println!(
        "agent cold init with the model (model, precomputed embeddings, rails, bundled knowledge base): {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let dev_set: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(default_model_dir().join("../../context/dev-set.json")).expect("the dev set"),
    )
    .expect("valid JSON");
    let bodies: Vec<String> = dev_set
        .iter()
        .filter_map(|r| r["message"].as_str().map(str::to_owned))
        .collect();

    let articles = generated_articles(200);
    let started = Instant::now();
    let kb = KnowledgeBase::from_articles(articles.iter().map(|(s, b)| (s.as_str(), b.as_str())), embedder.clone())
        .expect("embeds");
    println!(
        "knowledge base: 200 articles, {} passages, embedded and indexed in {:.0} ms",
        kb.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let queries = [
        "How do I set up SAML single sign-on for my team?",
        "my webhooks stopped arriving, how do I fix it",
        "where can I download invoices",
        "can guests comment on cards?",
        "sync on the mobile app is broken",
        "restore an archived board",
        "what are the limits of automations on my plan",
        "export everything to CSV",
    ];
    let mut micros = Vec::new();
    for round in 0..200 {
        let query = queries[round % queries.len()];
        let at = Instant::now();
        let hits = kb.search(query, 3).expect("search");
        micros.push(at.elapsed().as_secs_f64() * 1e6);
        assert!(!hits.is_empty());
    }
    let (p50, p95) = percentiles(&micros);
    println!(
        "knowledge search (top 3, embedding the query), 200 queries: p50 {:.0} µs, p95 {:.0} µs",
        p50, p95
    );

    let tickets = Arc::new(MemoryTickets::default());
    let inbound = Arc::new(MemoryQueue::default());
    let customers = Arc::new(MemoryCustomers::default());
    let intake = Intake::new(customers.clone(), tickets.clone(), inbound.clone());
    let team = Arc::new(support_core::ports::team::memory::MemoryTeam::default());
    let agent = Agent::new(AgentPorts {
        history: tickets.clone(),
        replies: tickets.clone(),
        outbound: support_core::delivery::Outbound {
            email: Arc::new(MemoryQueue::default()),
            whatsapp: Some(Arc::new(MemoryQueue::default())),
        },
        engine: Arc::new(OfflineEngine),
        knowledge: Arc::new(knowledge),
        rails: Arc::new(rails),
        identities: customers.clone(),
        verifications: tickets,
        burst_settle: std::time::Duration::ZERO,
        autonomy: Arc::new(support_core::autonomy::AutonomyPolicy::bundled()),
        team: support_core::agent::Team {
            presence: team.clone(),
            alert: support_core::ports::team::TeamAlert {
                notifier: team,
                console_url: "http://localhost/console/".into(),
            },
        },
        meter: Arc::new(support_core::ports::usage::memory::FixedMeter::default()),
        prices: support_core::cost::PriceTable::bundled().clone(),
    });
    let mut micros = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let message = InboundMessage {
            channel: if i % 2 == 0 { Channel::Email } else { Channel::Whatsapp },
            channel_message_id: format!("bench-{i}"),
            sender: Sender {
                name: Some("Bench Customer".into()),
                email: Some(
                    format!("customer{}@bench.example", i % 50)
                        .parse::<EmailAddress>()
                        .unwrap(),
                ),
                phone: Some(format!("+4477009{:05}", i % 50)),
            },
            subject: None,
            body: body.clone(),
            received_at: Utc::now(),
            correlation_id: format!("bench-{i}"),
            category: None,
            priority: None,
            proof: Some(IdentityProof::MailboxAuthentication),
            attachments: Vec::new(),
            email: None,
            original: None,
            follows_ticket: None,
        };
        let at = Instant::now();
        intake.accept(message).await.expect("accepted");
        let queued = inbound.sent.lock().unwrap().pop().expect("queued");
        let queued: QueuedMessage = serde_json::from_str(&queued.body).unwrap();
        agent.handle(&queued).await.expect("handled");
        micros.push(at.elapsed().as_secs_f64() * 1e6);
    }
    let (p50, p95) = percentiles(&micros);
    println!(
        "intake and agent per message, offline engine, in-memory ports, the {} dev-set messages: p50 {:.1} ms, p95 {:.1} ms",
        bodies.len(),
        p50 / 1e3,
        p95 / 1e3
    );
    println!("peak memory: {}", peak_memory());
}
