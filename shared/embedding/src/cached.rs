//! One embedder per process, remembering what it embedded. The knowledge base's sentences
//! and the rails' examples are embedded once per cold start and again only when they
//! change (a learned answer approved), starting from the precomputed ones; the local
//! stack and the tests, which build many agents in one process, load the model once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use support_core::ports::embedder::{EmbedError, Embedder, Embedding};

use crate::MiniLmEmbedder;

/// An embedder that keeps every embedding it computed, by text.
pub struct CachedEmbedder<E> {
    inner: E,
    known: Mutex<HashMap<String, Embedding>>,
}

impl<E: Embedder> CachedEmbedder<E> {
    pub fn new(inner: E) -> Self {
        Self::with_known(inner, HashMap::new())
    }

    /// Starts from embeddings computed earlier (see [`crate::precomputed`]).
    pub fn with_known(inner: E, known: HashMap<String, Embedding>) -> Self {
        Self {
            inner,
            known: Mutex::new(known),
        }
    }
}

impl<E: Embedder> Embedder for CachedEmbedder<E> {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>, EmbedError> {
        let missing: Vec<&str> = {
            let known = self.known.lock().expect("embedding cache lock");
            let mut missing: Vec<&str> = texts.iter().copied().filter(|t| !known.contains_key(*t)).collect();
            missing.sort_unstable();
            missing.dedup();
            missing
        };
        let computed = self.inner.embed(&missing)?;
        let mut known = self.known.lock().expect("embedding cache lock");
        for (text, embedding) in missing.into_iter().zip(computed) {
            known.insert(text.to_owned(), embedding);
        }
        Ok(texts.iter().map(|t| known[*t].clone()).collect())
    }
}

type Shared = Arc<CachedEmbedder<MiniLmEmbedder>>;

/// The process's embedder for the model in `model_dir`, loaded on first use.
pub fn shared_embedder(model_dir: &Path) -> Result<Arc<dyn Embedder>, EmbedError> {
    static LOADED: LazyLock<Mutex<HashMap<PathBuf, Shared>>> = LazyLock::new(Default::default);
    let mut loaded = LOADED.lock().expect("embedder registry lock");
    if let Some(embedder) = loaded.get(model_dir) {
        return Ok(embedder.clone());
    }
    let precomputed = crate::precomputed::load(model_dir)?;
    let embedder = Arc::new(CachedEmbedder::with_known(
        MiniLmEmbedder::load(model_dir)?,
        precomputed,
    ));
    loaded.insert(model_dir.to_owned(), embedder.clone());
    Ok(embedder)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Counting(AtomicUsize);

    impl Embedder for Counting {
        fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>, EmbedError> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts
                .iter()
                .map(|t| Embedding::normalised(vec![t.len() as f32, 1.0]))
                .collect())
        }
    }

    #[test]
    fn each_text_is_embedded_once() {
        let cached = CachedEmbedder::new(Counting(AtomicUsize::new(0)));
        let first = cached.embed(&["a", "bb", "a"]).unwrap();
        let again = cached.embed(&["bb", "ccc"]).unwrap();
        assert_eq!(cached.inner.0.load(Ordering::SeqCst), 3, "a, bb, then ccc");
        assert_eq!(first[1], again[0]);
        assert_eq!(first[0], first[2]);
    }
}
