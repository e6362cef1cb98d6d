//! What is computed ahead of time and kept beside the model in one safetensors file:
//! the embeddings of the texts every agent embeds at start (the knowledge base's
//! sentences), so a cold start reads them instead of running the model ~1,300 times, and
//! the trained classifiers: the semantic rails' and the knowledge search's article
//! classifier. Texts are the keys, so an edited article only misses its changed sentences,
//! which are then embedded at run time.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use support_core::agent::rails::IntentModel;
use support_core::classifier::LinearClassifier;
use support_core::domain::EscalationReason;
use support_core::knowledge::ArticleModel;
use support_core::ports::embedder::{EmbedError, Embedding};

pub const FILE_NAME: &str = "precomputed-embeddings.safetensors";
const VECTORS: &str = "vectors";
/// The texts, in the vectors' row order, as a JSON array in the file's metadata.
const TEXTS: &str = "texts";
/// Each classifier is stored as `<name>_weights`, `<name>_bias`, and its classes in row
/// order as a JSON array in the metadata, `<name>_classes`.
const INTENTS: &str = "intent";
const ARTICLES: &str = "article";
/// The rails' class of no escalation; the others are reason codes.
const NO_ESCALATION: &str = "none";

/// The file's bytes, or `None` when there is no file.
fn read(model_dir: &Path) -> Result<Option<Vec<u8>>, EmbedError> {
    let path = model_dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EmbedError(format!("reading {}: {e}", path.display()))),
    }
}

fn broken(model_dir: &Path, problem: impl std::fmt::Display) -> EmbedError {
    let path = model_dir.join(FILE_NAME);
    EmbedError(format!(
        "{} is broken ({problem}): run scripts/ensure-tools.sh",
        path.display()
    ))
}

/// A matrix tensor of the file as rows of f32.
fn matrix(model_dir: &Path, tensors: &SafeTensors, name: &str) -> Result<Vec<Vec<f32>>, EmbedError> {
    let view = tensors.tensor(name).map_err(|e| broken(model_dir, e))?;
    let columns = match view.shape() {
        [_, columns] => *columns,
        [_] => 1,
        _ => return Err(broken(model_dir, format!("{name} is not a matrix"))),
    };
    if view.dtype() != Dtype::F32 {
        return Err(broken(model_dir, format!("{name} is not f32")));
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(values.chunks(columns.max(1)).map(<[f32]>::to_vec).collect())
}

fn metadata_list(model_dir: &Path, bytes: &[u8], key: &str) -> Result<Vec<String>, EmbedError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| broken(model_dir, e))?;
    let json = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(key))
        .ok_or_else(|| broken(model_dir, format!("no {key}")))?;
    serde_json::from_str(json).map_err(|e| broken(model_dir, e))
}

/// The precomputed embeddings in `model_dir`; none when the file is missing.
pub fn load(model_dir: &Path) -> Result<HashMap<String, Embedding>, EmbedError> {
    let Some(bytes) = read(model_dir)? else {
        return Ok(HashMap::new());
    };
    let texts = metadata_list(model_dir, &bytes, TEXTS)?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| broken(model_dir, e))?;
    let rows = matrix(model_dir, &tensors, VECTORS)?;
    if rows.len() != texts.len() {
        return Err(broken(model_dir, "texts and vectors disagree"));
    }
    Ok(texts
        .into_iter()
        .zip(rows)
        .map(|(text, row)| (text, Embedding::normalised(row)))
        .collect())
}

fn load_classifier<Class>(
    model_dir: &Path,
    bytes: &[u8],
    tensors: &SafeTensors,
    name: &str,
    class: impl Fn(&str) -> Result<Class, String>,
) -> Result<LinearClassifier<Class>, EmbedError> {
    let classes = metadata_list(model_dir, bytes, &format!("{name}_classes"))?
        .iter()
        .map(|c| class(c).map_err(|e| broken(model_dir, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let weights = matrix(model_dir, tensors, &format!("{name}_weights"))?;
    let bias = matrix(model_dir, tensors, &format!("{name}_bias"))?.concat();
    LinearClassifier::new(classes, weights, bias).map_err(|e| broken(model_dir, e))
}

/// The classifiers trained by `precompute-embeddings`.
#[derive(Debug)]
pub struct Classifiers {
    /// The semantic rails'.
    pub intents: IntentModel,
    /// The knowledge search's.
    pub articles: ArticleModel,
}

/// Both classifiers, from one read of the file.
pub fn load_classifiers(model_dir: &Path) -> Result<Classifiers, EmbedError> {
    let bytes = read(model_dir)?.ok_or_else(|| broken(model_dir, "missing"))?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| broken(model_dir, e))?;
    Ok(Classifiers {
        intents: load_classifier(model_dir, &bytes, &tensors, INTENTS, |name| match name {
            NO_ESCALATION => Ok(None),
            reason => reason.parse::<EscalationReason>().map(Some).map_err(|e| e.to_string()),
        })?,
        articles: load_classifier(model_dir, &bytes, &tensors, ARTICLES, |slug| Ok(slug.to_owned()))?,
    })
}

fn f32_bytes<'a>(values: impl IntoIterator<Item = &'a f32>) -> Vec<u8> {
    values.into_iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A tensor as the file keeps it: its name, shape and little-endian bytes.
type StoredTensor = (String, Vec<usize>, Vec<u8>);
/// A metadata entry: its key and JSON value.
type MetadataEntry = (String, String);

/// A classifier as the file keeps it: its weights and bias, and the metadata entry naming
/// its classes.
fn stored<Class>(
    name: &str,
    model: &LinearClassifier<Class>,
    class_name: impl Fn(&Class) -> String,
) -> ([StoredTensor; 2], MetadataEntry) {
    let classes: Vec<String> = model.classes().iter().map(class_name).collect();
    let tensors = [
        (
            format!("{name}_weights"),
            vec![classes.len(), model.weights()[0].len()],
            f32_bytes(model.weights().iter().flatten()),
        ),
        (format!("{name}_bias"), vec![classes.len()], f32_bytes(model.bias())),
    ];
    let metadata = (
        format!("{name}_classes"),
        serde_json::to_string(&classes).expect("classes serialize"),
    );
    (tensors, metadata)
}

/// Writes `embeddings` and the classifiers to `model_dir`, replacing what was there.
pub fn save(
    model_dir: &Path,
    embeddings: &[(String, Embedding)],
    intents: &IntentModel,
    articles: &ArticleModel,
) -> Result<(), EmbedError> {
    let failed = |e: String| EmbedError(format!("writing {}: {e}", model_dir.join(FILE_NAME).display()));
    let dimensions = embeddings.first().map_or(0, |(_, e)| e.as_slice().len());
    let texts: Vec<&str> = embeddings.iter().map(|(t, _)| t.as_str()).collect();
    let vectors = (
        VECTORS.to_owned(),
        vec![embeddings.len(), dimensions],
        f32_bytes(embeddings.iter().flat_map(|(_, e)| e.as_slice())),
    );
    let (intent_tensors, intent_classes) = stored(INTENTS, intents, |class| {
        class.map_or_else(|| NO_ESCALATION.to_owned(), |reason| reason.to_string())
    });
    let (article_tensors, article_classes) = stored(ARTICLES, articles, String::clone);
    let all: Vec<StoredTensor> = std::iter::once(vectors)
        .chain(intent_tensors)
        .chain(article_tensors)
        .collect();
    let views = all
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|view| (name.as_str(), view))
                .map_err(|e| failed(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = HashMap::from([
        (
            TEXTS.to_owned(),
            serde_json::to_string(&texts).expect("texts serialize"),
        ),
        intent_classes,
        article_classes,
    ]);
    let file = safetensors::serialize(views, Some(metadata)).map_err(|e| failed(e.to_string()))?;
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
        let intents = IntentModel::new(
            vec![None, Some(EscalationReason::Refund)],
            vec![vec![0.5, 0.0, -1.0], vec![1.0, 2.0, 3.0]],
            vec![0.1, -0.2],
        )
        .unwrap();
        let articles = ArticleModel::new(
            vec!["export-data".into(), "invite-teammates".into()],
            vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.0, 1.0]],
            vec![0.0, 0.5],
        )
        .unwrap();
        let embeddings = [("step list\n1. one".into(), a.clone()), ("b".into(), b.clone())];
        save(&dir, &embeddings, &intents, &articles).unwrap();
        let loaded = load(&dir).unwrap();
        assert_eq!(loaded["step list\n1. one"], a);
        assert_eq!(loaded["b"], b);
        let classifiers = load_classifiers(&dir).unwrap();
        assert_eq!(classifiers.intents, intents);
        assert_eq!(classifiers.articles, articles);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
