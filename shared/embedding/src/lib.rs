//! The default [`Embedder`]: sentence-transformers' all-MiniLM-L6-v2 (384 dimensions) run
//! with candle on the CPU, from files on disk. Nothing is downloaded at run time:
//! `scripts/ensure-model.sh` installs and verifies the files in [`default_model_dir`].

mod cached;
pub mod precomputed;
pub mod training;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use support_core::ports::embedder::{EmbedError, Embedder, Embedding};
use tokenizers::{Encoding, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

pub use cached::{shared_embedder, CachedEmbedder};

/// sentence-transformers' `max_seq_length` for this model (its sentence_bert_config.json):
/// at most 256 tokens reach the model, [CLS] and [SEP] included.
pub const MAX_TOKENS: usize = 256;

/// At most this many texts per forward pass (sentence-transformers' default `batch_size`)...
const BATCH_TEXTS: usize = 32;
/// ...and at most this many tokens (texts × their padded length): the attention tensors
/// grow with texts × 12 heads × length², so this bounds peak memory (8 texts of 256 tokens
/// need some 25 MB per tensor), however many texts one call brings.
const BATCH_TOKENS: usize = 2048;

/// Where `scripts/ensure-model.sh` puts the model: `models/all-MiniLM-L6-v2` at the
/// workspace root.
pub fn default_model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2")
}

/// all-MiniLM-L6-v2, computed as sentence-transformers computes it: WordPiece tokens
/// (lower-cased, accents stripped), a BERT forward pass, the mean of the token vectors
/// weighted by the attention mask, then L2 normalisation.
///
/// Truncation: a text longer than [`MAX_TOKENS`] tokens ([CLS] + 254 word pieces + [SEP])
/// is cut to its first 254 word pieces; the rest of the text does not count, as in
/// sentence-transformers.
pub struct MiniLmEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    padding: PaddingParams,
}

impl MiniLmEmbedder {
    /// Reads `config.json`, `tokenizer.json` and `model.safetensors` from `model_dir`.
    /// The first load also tunes glibc's allocator for the whole process (see
    /// `retain_freed_memory`).
    pub fn load(model_dir: &Path) -> Result<Self, EmbedError> {
        retain_freed_memory();
        let config_path = model_file(model_dir, "config.json")?;
        let tokenizer_path = model_file(model_dir, "tokenizer.json")?;
        let weights_path = model_file(model_dir, "model.safetensors")?;

        let config = std::fs::read_to_string(&config_path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Config>(&text).map_err(|e| e.to_string()))
            .map_err(|e| EmbedError(format!("reading {}: {e}", config_path.display())))?;

        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| EmbedError(format!("reading {}: {e}", tokenizer_path.display())))?;
        // tokenizer.json itself says 128 tokens, padded to a fixed 128; sentence-transformers
        // overrides both, and so does this: its 256-token limit, and padding done here per batch.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| EmbedError(format!("tokenizer truncation: {e}")))?;
        let padding = tokenizer.get_padding().cloned().unwrap_or_default();
        tokenizer.with_padding(None);
        let padding = PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..padding
        };

        // SAFETY: the file is mapped read-only for the length of this call (the model copies
        // each tensor out); it is not changed while loading, as ensure-model.sh writes it once.
        // Mapping spares reading 90 MB into a buffer before copying it again.
        let weights = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights_path], DTYPE, &Device::Cpu) }
            .map_err(|e| EmbedError(format!("reading {}: {e}", weights_path.display())))?;
        let model = BertModel::load(weights, &config)
            .map_err(|e| EmbedError(format!("loading the model from {}: {e}", weights_path.display())))?;

        Ok(Self {
            model,
            tokenizer,
            padding,
        })
    }

    /// One forward pass over texts of similar length (padding costs time, not accuracy:
    /// the attention and the pooling both ignore padded positions).
    fn embed_batch(&self, encodings: &mut [Encoding]) -> candle_core::Result<Vec<Embedding>> {
        tokenizers::pad_encodings(encodings, &self.padding).map_err(candle_core::Error::wrap)?;
        let rows = encodings.len();
        let columns = encodings.first().map_or(0, Encoding::len);
        let flat = |part: fn(&Encoding) -> &[u32]| -> candle_core::Result<Tensor> {
            let values: Vec<u32> = encodings.iter().flat_map(|e| part(e).iter().copied()).collect();
            Tensor::from_vec(values, (rows, columns), &Device::Cpu)
        };
        let ids = flat(Encoding::get_ids)?;
        let type_ids = flat(Encoding::get_type_ids)?;
        let mask = flat(Encoding::get_attention_mask)?;

        let tokens = self.model.forward(&ids, &type_ids, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = tokens.broadcast_mul(&mask)?.sum(1)?;
        // sentence-transformers clamps the count to 1e-9; every text has at least [CLS] and [SEP].
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let means: Vec<Vec<f32>> = summed.broadcast_div(&counts)?.to_vec2()?;
        Ok(means.into_iter().map(Embedding::normalised).collect())
    }
}

impl Embedder for MiniLmEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError(format!("tokenizing: {e}")))?;
        // Batches of similar lengths waste little on padding; results go back in input order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        let mut sorted: Vec<Encoding> = order.iter().map(|&i| std::mem::take(&mut encodings[i])).collect();

        let mut embeddings: Vec<Option<Embedding>> = vec![None; texts.len()];
        let mut start = 0;
        while start < sorted.len() {
            // Sorted by length, so the text just added sets the padded length.
            let mut end = start + 1;
            while end < sorted.len()
                && end - start < BATCH_TEXTS
                && (end - start + 1) * sorted[end].len() <= BATCH_TOKENS
            {
                end += 1;
            }
            let batch = self
                .embed_batch(&mut sorted[start..end])
                .map_err(|e| EmbedError(format!("running the model: {e}")))?;
            for (&i, embedding) in order[start..end].iter().zip(batch) {
                embeddings[i] = Some(embedding);
            }
            start = end;
        }
        Ok(embeddings.into_iter().flatten().collect())
    }
}

/// A forward pass allocates and frees buffers of 0.1 to 25 MB, op after op. By default
/// glibc hands such blocks back to the kernel when freed (munmap, heap trimming), so the next
/// pass page-faults them in again: a third of the time at 256 tokens. Fixed thresholds keep
/// freed memory in the process for reuse. Process-wide, but it changes no result, and the
/// resident memory stays near the peak the model's working set reaches anyway.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn retain_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: mallopt only sets the allocator's thresholds, under its own lock; 32 MB is
        // the largest mmap threshold glibc accepts on 64-bit.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
        }
    });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn retain_freed_memory() {}

fn model_file(model_dir: &Path, name: &str) -> Result<PathBuf, EmbedError> {
    let path = model_dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(EmbedError(format!(
            "{} is missing: run scripts/ensure-model.sh (scripts/ensure-tools.sh runs it) to install all-MiniLM-L6-v2",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// One load for all the tests (a debug-build load is the slow part).
    fn embedder() -> &'static MiniLmEmbedder {
        static EMBEDDER: OnceLock<MiniLmEmbedder> = OnceLock::new();
        EMBEDDER.get_or_init(|| MiniLmEmbedder::load(&default_model_dir()).unwrap_or_else(|e| panic!("{e}")))
    }

    fn embed_one(text: &str) -> Embedding {
        embedder().embed(&[text]).unwrap().remove(0)
    }

    #[test]
    fn embeddings_have_384_dimensions_and_unit_length() {
        let embedding = embed_one("How do I export my board to CSV?");
        assert_eq!(embedding.as_slice().len(), 384);
        let norm = embedding.as_slice().iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }

    /// Reference values: sentence-transformers' own output for this model, as pinned by a
    /// public R port's integration test (its first row is also the model's well-known
    /// "This is an example sentence" vector); the ids check the tokenizer alone.
    #[test]
    fn matches_sentence_transformers_reference_values() {
        let cases: [(&str, &[u32], [f32; 6]); 4] = [
            (
                "This is an example sentence",
                &[101, 2023, 2003, 2019, 2742, 6251, 102],
                [0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273],
            ),
            (
                "Each sentence is converted.",
                &[101, 2169, 6251, 2003, 4991, 1012, 102],
                [0.07853645, 0.08856265, -0.0020927, -0.00717247, -0.01252624, 0.01881747],
            ),
            (
                "",
                &[101, 102],
                [-0.11883835, 0.04829856, -0.00254805, -0.01101118, 0.0519507, 0.01029179],
            ),
            (
                "Café déjà vu — 東京",
                &[101, 7668, 2139, 3900, 24728, 1517, 1879, 1755, 102],
                [0.05083271, 0.00967685, 0.09635572, -0.00997369, -0.01987603, 0.01692343],
            ),
        ];
        let texts: Vec<&str> = cases.iter().map(|(text, _, _)| *text).collect();
        let embeddings = embedder().embed(&texts).unwrap();
        for ((text, ids, prefix), embedding) in cases.iter().zip(&embeddings) {
            let encoding = embedder().tokenizer.encode(*text, true).unwrap();
            assert_eq!(encoding.get_ids(), *ids, "{text:?}");
            for (got, want) in embedding.as_slice().iter().zip(prefix) {
                assert!((got - want).abs() < 1e-5, "{text:?}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn a_batch_embeds_each_text_as_it_would_alone() {
        let texts = [
            "How do I export my board to CSV?",
            "I want my money back",
            "download my board as a spreadsheet",
            "The timeline view does not show dependencies between cards since the last update, \
             and my team relies on it for planning every sprint.",
            "",
        ];
        let batch = embedder().embed(&texts).unwrap();
        assert_eq!(batch.len(), texts.len());
        for (text, together) in texts.iter().zip(&batch) {
            let alone = embed_one(text);
            let gap = alone
                .as_slice()
                .iter()
                .zip(together.as_slice())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(gap < 1e-4, "{text:?}: differs by {gap}");
        }
    }

    #[test]
    fn a_paraphrase_scores_higher_than_an_unrelated_request() {
        let question = embed_one("How do I export my board to CSV?");
        let paraphrase = embed_one("download my board as a spreadsheet");
        let unrelated = embed_one("I want my money back");
        let (close, far) = (question.cosine(&paraphrase), question.cosine(&unrelated));
        assert!(close > far + 0.1, "paraphrase {close}, unrelated {far}");
    }

    #[test]
    fn text_past_the_token_limit_does_not_count() {
        let long = "card ".repeat(300);
        assert_eq!(
            embedder().tokenizer.encode(long.as_str(), true).unwrap().len(),
            MAX_TOKENS
        );
        let longer = format!("{long} refund my invoice now");
        let [a, b] = <[Embedding; 2]>::try_from(embedder().embed(&[&long, &longer]).unwrap()).unwrap();
        assert!(a.cosine(&b) > 0.9999);
    }

    #[test]
    fn no_texts_no_embeddings() {
        assert!(embedder().embed(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_missing_model_names_the_file_and_the_setup_script() {
        let dir = Path::new("/nonexistent/all-MiniLM-L6-v2");
        let Err(error) = MiniLmEmbedder::load(dir) else {
            panic!("loaded a model from nowhere");
        };
        assert!(error.0.contains("/nonexistent/all-MiniLM-L6-v2/config.json"), "{error}");
        assert!(error.0.contains("scripts/ensure-model.sh"), "{error}");
    }
}
