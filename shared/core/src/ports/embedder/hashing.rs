//! A bag-of-words embedder for the core's unit tests: each word (its first five letters,
//! a crude stem) hashed into one of 256 dimensions. Texts that share words are similar,
//! others are not; no model needed. The real model is tested in `support-embedding`.

use std::hash::{DefaultHasher, Hash, Hasher};

use super::{EmbedError, Embedder, Embedding};

const DIMENSIONS: usize = 256;

pub struct HashingEmbedder;

impl Embedder for HashingEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>, EmbedError> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut values = vec![0.0; DIMENSIONS];
                for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2) {
                    let stem: String = word.to_lowercase().chars().take(5).collect();
                    let mut hasher = DefaultHasher::new();
                    stem.hash(&mut hasher);
                    values[(hasher.finish() % DIMENSIONS as u64) as usize] += 1.0;
                }
                Embedding::normalised(values)
            })
            .collect())
    }
}
