//! Build-time work for the agent, written beside the model (`precomputed-embeddings.safetensors`):
//! - the embeddings of the texts every agent embeds at start (the bundled knowledge base's
//!   sentences), so a cold start reads them;
//! - the semantic rails' classifier, trained on the examples of
//!   `context/semantic-rails.json` and the tune split of `context/dev-set.json` (the
//!   held-out split is never seen: it measures);
//! - the knowledge search's article classifier, trained on the questions of
//!   `context/knowledge-questions.json`.
//!
//! Incremental: texts already embedded are not embedded again. `scripts/ensure-tools.sh`
//! runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support_core::agent::rails::{judged_units, labelled_examples};
use support_core::domain::EscalationReason;
use support_core::email::own_words;
use support_core::knowledge::{article_questions, bundled_chunk_texts};
use support_core::ports::embedder::Embedder;
use support_embedding::{default_model_dir, precomputed, training, MiniLmEmbedder};

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
        let words = own_words(record["message"].as_str().unwrap_or_default());
        labelled.extend(judged_units(&words).into_iter().map(|unit| (unit, reason)));
    }
    Ok(labelled)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model_dir = std::env::args().nth(1).map_or_else(default_model_dir, PathBuf::from);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let rail_examples: Vec<Labelled> = labelled_examples()
        .into_iter()
        .map(|(reason, text)| (text, reason))
        .chain(tune_split(&workspace)?)
        .collect();
    let questions = article_questions();
    let mut texts: Vec<String> = bundled_chunk_texts()
        .into_iter()
        .chain(rail_examples.iter().map(|(text, _)| text.clone()))
        .chain(questions.iter().map(|(_, question)| question.clone()))
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
    let examples: Vec<_> = rail_examples
        .iter()
        .map(|(text, reason)| (known[text].clone(), *reason))
        .collect();
    let mut reasons: Vec<Option<EscalationReason>> = rail_examples.iter().map(|(_, reason)| *reason).collect();
    reasons.sort_by_key(|class| class.map_or(0, |reason| reason.precedence() + 1));
    reasons.dedup();
    let intents = training::train(&examples, reasons)?;
    let article_examples: Vec<_> = questions
        .iter()
        .map(|(article, question)| (known[question].clone(), article.clone()))
        .collect();
    let mut slugs: Vec<String> = questions.iter().map(|(article, _)| article.clone()).collect();
    slugs.dedup();
    let articles = training::train(&article_examples, slugs)?;
    let kept: Vec<_> = texts
        .into_iter()
        .map(|text| {
            let embedding = known[&text].clone();
            (text, embedding)
        })
        .collect();
    precomputed::save(&model_dir, &kept, &intents, &articles)?;
    let file = model_dir.join(precomputed::FILE_NAME);
    println!(
        "{} texts precomputed ({new} new), the rails' classifier trained on {} examples and the article classifier on {} questions, in {}",
        kept.len(),
        examples.len(),
        article_examples.len(),
        file.display()
    );
    Ok(())
}
