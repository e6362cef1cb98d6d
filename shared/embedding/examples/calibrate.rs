//! `cargo run --release -p support-embedding --example calibrate [tune|held_out]`: for each
//! message of `context/dev-set.json`'s split, prints as JSON lines what the thresholds of
//! the semantic rails and the knowledge search are calibrated on: per judged sentence, the
//! closest escalation example and look-alike; the search's top passages with relevance.

use std::sync::Arc;

use serde_json::{json, Value};
use support_core::agent::rails::{judged_units, SemanticRails};
use support_core::domain::text::customer_words;
use support_core::knowledge::{bundled_articles, KnowledgeBase};
use support_embedding::{default_model_dir, shared_embedder};

fn main() {
    let split = std::env::args().nth(1).unwrap_or_else(|| "tune".into());
    let path = default_model_dir().join("../../context/dev-set.json");
    let records: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).expect("dev set")).expect("json");
    let embedder = shared_embedder(&default_model_dir()).expect("model");
    let rails = SemanticRails::bundled(embedder.as_ref()).expect("rails");
    let kb = KnowledgeBase::from_articles(bundled_articles(), Arc::clone(&embedder)).expect("kb");
    for record in records.iter().filter(|r| r["split"] == split.as_str()) {
        let own = customer_words(record["message"].as_str().unwrap_or_default());
        let units = judged_units(&own);
        let texts: Vec<&str> = units.iter().map(String::as_str).collect();
        let vectors = embedder.embed(&texts).expect("embed");
        let closest: Vec<Value> = vectors
            .iter()
            .filter_map(|v| rails.closest(v))
            .map(|c| json!({"reason": c.reason, "score": c.score, "lookalike": c.lookalike}))
            .collect();
        let hits: Vec<Value> = kb
            .search(&own, 3)
            .expect("search")
            .iter()
            .map(|h| json!({"article": h.passage.article, "score": h.score}))
            .collect();
        println!(
            "{}",
            json!({"id": record["id"], "kind": record["kind"], "expected": record["expected"], "rails": closest, "hits": hits})
        );
    }
}
