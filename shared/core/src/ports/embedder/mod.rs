//! The embedder port: text to a sentence embedding, for the semantic rails and the dense
//! half of knowledge search. The default adapter (all-MiniLM-L6-v2 on candle) lives in
//! the `support-embedding` crate, so functions that never embed do not link a model runtime.

#[cfg(test)]
pub mod hashing;

/// A unit-length sentence vector: the cosine similarity of two is their dot product.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding(Vec<f32>);

impl Embedding {
    /// Scales `values` to unit length (a zero vector stays zero).
    pub fn normalised(mut values: Vec<f32>) -> Self {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            values.iter_mut().for_each(|v| *v /= norm);
        }
        Self(values)
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// Cosine similarity, -1 to 1.
    pub fn cosine(&self, other: &Embedding) -> f32 {
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("embedding failed: {0}")]
pub struct EmbedError(pub String);

pub trait Embedder: Send + Sync {
    /// One embedding per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>, EmbedError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_vectors_have_cosine_one_with_themselves() {
        let a = Embedding::normalised(vec![3.0, 4.0]);
        assert!((a.cosine(&a) - 1.0).abs() < 1e-6);
        assert_eq!(a.as_slice(), [0.6, 0.8]);
    }
}
