//! Embeds, ahead of time, the texts every agent embeds at start (the bundled knowledge
//! base's sentences and the semantic rails' examples) into the model's directory.
//! Incremental: texts already there are not embedded again. scripts/ensure-model.sh runs it.

use std::collections::HashMap;
use std::path::PathBuf;

use support_core::agent::rails;
use support_core::knowledge::bundled_chunk_texts;
use support_core::ports::embedder::Embedder;
use support_embedding::{default_model_dir, precomputed, MiniLmEmbedder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model_dir = std::env::args().nth(1).map_or_else(default_model_dir, PathBuf::from);
    let mut texts: Vec<String> = bundled_chunk_texts()
        .into_iter()
        .chain(rails::example_texts())
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
    let kept: Vec<_> = texts
        .into_iter()
        .map(|text| {
            let embedding = known[&text].clone();
            (text, embedding)
        })
        .collect();
    precomputed::save(&model_dir, &kept)?;
    let file = model_dir.join(precomputed::FILE_NAME);
    println!("{} texts precomputed in {} ({new} new)", kept.len(), file.display());
    Ok(())
}
