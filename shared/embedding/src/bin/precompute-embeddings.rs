//! Build-time work for the agent, written beside the model (`precomputed-embeddings.safetensors`):
//! - the embeddings of the texts every agent embeds at start (the bundled knowledge base's
//!   sentences), so a cold start reads them;
//! - the semantic rails' classifier, trained on the examples of
//!   `context/semantic-rails.json` and the tune split of `context/dev-set.json` (the
//!   held-out split is never seen: it measures).
//!
//! Incremental: texts already embedded are not embedded again. `scripts/ensure-tools.sh`
//! runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support_core::agent::rails::{judged_units, labelled_examples};
use support_core::domain::text::customer_words;
use support_core::domain::EscalationReason;
use support_core::knowledge::bundled_chunk_texts;
use support_core::ports::embedder::Embedder;
use support_embedding::{default_model_dir, intent, precomputed, MiniLmEmbedder};

/// A text and the escalation reason a semantic rail should find in it (`None`: none).
type Labelled = (String, Option<EscalationReason>);

/// The tune split's messages, judged as the agent judges them (each sentence and the
/// whole), labelled with the escalation reason a semantic rail should find.
fn tune_split(workspace: &Path) -> Result<Vec<Labelled>, Box<dyn std::error::Error>> {
    let records: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(workspace.join("context/dev-set.json"))?)?;
    let mut labelled = Vec::new();
    for record in records.iter().filter(|r| r["split"] == "tune") {
        let reason = record["expected"]["escalation_reason"]
            .as_str()
            .and_then(|r| r.parse::<EscalationReason>().ok())
            .filter(|r| *r != EscalationReason::NoAnswer);
        let words = customer_words(record["message"].as_str().unwrap_or_default());
        labelled.extend(judged_units(&words).into_iter().map(|unit| (unit, reason)));
    }
    Ok(labelled)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model_dir = std::env::args().nth(1).map_or_else(default_model_dir, PathBuf::from);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let training: Vec<Labelled> = labelled_examples()
        .into_iter()
        .map(|(reason, text)| (text, reason))
        .chain(tune_split(&workspace)?)
        .collect();
    let mut texts: Vec<String> = bundled_chunk_texts()
        .into_iter()
        .chain(training.iter().map(|(text, _)| text.clone()))
        .collect();
    texts.sort_unstable();
    texts.dedup();
    let mut known: HashMap<String, _> = precomputed::load(&model_dir)?;
    let missing: Vec<&str> = texts
        .iter()
        .map(String::as_str)
        .filter(|t| !known.contains_key(*t))
        .collect();
    let new = missing.len();
    if !missing.is_empty() {
        let embedder = MiniLmEmbedder::load(&model_dir)?;
        for (text, embedding) in missing.iter().zip(embedder.embed(&missing)?) {
            known.insert((*text).to_owned(), embedding);
        }
    }
    let examples: Vec<_> = training
        .iter()
        .map(|(text, reason)| (known[text].clone(), *reason))
        .collect();
    let intents = intent::train(&examples)?;
    let kept: Vec<_> = texts
        .into_iter()
        .map(|text| {
            let embedding = known[&text].clone();
            (text, embedding)
        })
        .collect();
    precomputed::save(&model_dir, &kept, &intents)?;
    let file = model_dir.join(precomputed::FILE_NAME);
    println!(
        "{} texts precomputed ({new} new) and the rails' classifier trained on {} examples, in {}",
        kept.len(),
        examples.len(),
        file.display()
    );
    Ok(())
}
