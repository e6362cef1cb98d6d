//! `cargo run --release -p support-embedding --example calibrate [tune|held_out|sample]`: for
//! each message of `context/dev-set.json`'s split (or of `context/sample-tickets.json`), prints as JSON lines what the thresholds of
//! the semantic rails and the knowledge search are calibrated on: per judged sentence, the
//! likeliest escalation reason and its probability; the search's top passages with relevance.

use std::sync::Arc;

use serde_json::{json, Value};
use support_core::agent::guardrails::{before_model, BeforeModel};
use support_core::agent::rails::judged_units;
use support_core::agent::sentiment;
use support_core::domain::Channel;
use support_core::email::own_words;
use support_core::knowledge::{bundled_articles, KnowledgeBase};
use support_embedding::{default_model_dir, precomputed, shared_embedder};

fn main() {
    let split = std::env::args().nth(1).unwrap_or_else(|| "tune".into());
    // `sample`: the labelled tickets of context/sample-tickets.json; `<file>.json`: any
    // file of messages in that format; all of their messages.
    let whole_file = split == "sample" || split.ends_with(".json");
    let path = match split.as_str() {
        "sample" => default_model_dir().join("../../context/sample-tickets.json"),
        file if file.ends_with(".json") => file.into(),
        _ => default_model_dir().join("../../context/dev-set.json"),
    };
    let records: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("labelled set")).expect("json");
    let embedder = shared_embedder(&default_model_dir()).expect("model");
    let precomputed::Classifiers { intents, articles } =
        precomputed::load_classifiers(&default_model_dir()).expect("classifiers");
    let kb = KnowledgeBase::from_articles(bundled_articles(), Arc::clone(&embedder))
        .expect("kb")
        .with_article_model(Arc::new(articles));
    for record in records.iter().filter(|r| whole_file || r["split"] == split.as_str()) {
        let own = own_words(record["message"].as_str().unwrap_or_default());
        let units = judged_units(&own);
        let texts: Vec<&str> = units.iter().map(String::as_str).collect();
        let vectors = embedder.embed(&texts).expect("embed");
        let rails: Vec<Value> = vectors
            .iter()
            .filter_map(|v| intents.likeliest_reason(v))
            .map(|(reason, p)| json!({"reason": reason, "score": p}))
            .collect();
        // What the keyword rules alone decide, and how sure the rails are that the whole
        // message is no escalation (the look-alike override).
        let keywords = match before_model(&own, Channel::WebForm, sentiment::score(&own), false) {
            BeforeModel::Escalate { reason, .. } => Some(reason),
            _ => None,
        };
        let no_escalation = vectors
            .last()
            .map(|whole| intents.probabilities(whole)[0])
            .unwrap_or_default();
        let hits: Vec<Value> = kb
            .search(&own, 3)
            .expect("search")
            .iter()
            .map(|h| json!({"article": h.passage.article, "relevance": h.relevance, "similarity": h.similarity, "lexical": h.lexical}))
            .collect();
        println!(
            "{}",
            json!({"id": record["id"], "kind": record["kind"], "expected": record["expected"], "rails": rails, "keywords": keywords, "no_escalation": no_escalation, "hits": hits})
        );
    }
}
