//! Embeddings computed ahead of time for the texts every agent embeds at start (the
//! knowledge base's sentences, the rails' examples), kept beside the model in one
//! safetensors file: a cold start reads them instead of running the model ~2,000 times.
//! Texts are the keys, so an edited article only misses its changed sentences, which are
//! then embedded at run time.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use support_core::ports::embedder::{EmbedError, Embedding};

pub const FILE_NAME: &str = "precomputed-embeddings.safetensors";
const VECTORS: &str = "vectors";
/// The texts, in the vectors' row order, as a JSON array in the file's metadata.
const TEXTS: &str = "texts";

/// The precomputed embeddings in `model_dir`; none when the file is missing.
pub fn load(model_dir: &Path) -> Result<HashMap<String, Embedding>, EmbedError> {
    let path = model_dir.join(FILE_NAME);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(EmbedError(format!("reading {}: {e}", path.display()))),
    };
    let broken = |e: String| {
        EmbedError(format!(
            "{} is broken ({e}): run scripts/ensure-model.sh",
            path.display()
        ))
    };
    let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(|e| broken(e.to_string()))?;
    let texts: Vec<String> = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(TEXTS))
        .ok_or_else(|| broken("no texts".into()))
        .and_then(|json| serde_json::from_str(json).map_err(|e| broken(e.to_string())))?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| broken(e.to_string()))?;
    let vectors = tensors.tensor(VECTORS).map_err(|e| broken(e.to_string()))?;
    let [rows, dimensions] = vectors.shape() else {
        return Err(broken("vectors are not a matrix".into()));
    };
    if *rows != texts.len() || vectors.dtype() != Dtype::F32 {
        return Err(broken("texts and vectors disagree".into()));
    }
    let values: Vec<f32> = vectors
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(texts
        .into_iter()
        .zip(values.chunks_exact(*dimensions))
        .map(|(text, row)| (text, Embedding::normalised(row.to_vec())))
        .collect())
}

/// Writes `embeddings` to `model_dir`, replacing what was there.
pub fn save(model_dir: &Path, embeddings: &[(String, Embedding)]) -> Result<(), EmbedError> {
    let dimensions = embeddings.first().map_or(0, |(_, e)| e.as_slice().len());
    let texts: Vec<&str> = embeddings.iter().map(|(t, _)| t.as_str()).collect();
    let bytes: Vec<u8> = embeddings
        .iter()
        .flat_map(|(_, e)| e.as_slice().iter().flat_map(|v| v.to_le_bytes()))
        .collect();
    let failed = |e: String| EmbedError(format!("writing {}: {e}", model_dir.join(FILE_NAME).display()));
    let view =
        TensorView::new(Dtype::F32, vec![embeddings.len(), dimensions], &bytes).map_err(|e| failed(e.to_string()))?;
    let metadata = HashMap::from([(
        TEXTS.to_owned(),
        serde_json::to_string(&texts).expect("texts serialize"),
    )]);
    let file = safetensors::serialize([(VECTORS, view)], Some(metadata)).map_err(|e| failed(e.to_string()))?;
    std::fs::write(model_dir.join(FILE_NAME), file).map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_embeddings_load_back_by_text() {
        let dir = std::env::temp_dir().join(format!("precomputed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(load(&dir).unwrap().is_empty(), "no file, nothing precomputed");
        let a = Embedding::normalised(vec![1.0, 2.0, 2.0]);
        let b = Embedding::normalised(vec![0.0, 1.0, 0.0]);
        save(
            &dir,
            &[("step list\n1. one".into(), a.clone()), ("b".into(), b.clone())],
        )
        .unwrap();
        let loaded = load(&dir).unwrap();
        assert_eq!(loaded["step list\n1. one"], a);
        assert_eq!(loaded["b"], b);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
