//! A multinomial logistic regression over sentence embeddings: one weight row and bias per
//! class. The semantic rails judge escalation reasons with one, the knowledge search the
//! article a question is about with another. Both are trained at build time by
//! `support-embedding`'s `precompute-embeddings`; at run time they only multiply.

use crate::ports::embedder::Embedding;

#[derive(Debug, Clone, PartialEq)]
pub struct LinearClassifier<Class> {
    classes: Vec<Class>,
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
#[error("the classifier is malformed: {0}")]
pub struct MalformedModel(String);

impl<Class> LinearClassifier<Class> {
    pub fn new(classes: Vec<Class>, weights: Vec<Vec<f32>>, bias: Vec<f32>) -> Result<Self, MalformedModel> {
        if classes.len() != weights.len() || classes.len() != bias.len() || classes.is_empty() {
            return Err(MalformedModel(format!(
                "{} classes, {} weight rows, {} biases",
                classes.len(),
                weights.len(),
                bias.len()
            )));
        }
        if weights.iter().any(|row| row.len() != weights[0].len()) {
            return Err(MalformedModel("weight rows of different lengths".into()));
        }
        Ok(Self { classes, weights, bias })
    }

    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    pub fn weights(&self) -> &[Vec<f32>] {
        &self.weights
    }

    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// Each class's probability for `vector` (softmax), in the order of [`Self::classes`].
    pub fn probabilities(&self, vector: &Embedding) -> Vec<f32> {
        let logits: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(row, b)| row.iter().zip(vector.as_slice()).map(|(w, x)| w * x).sum::<f32>() + b)
            .collect();
        let max = logits.iter().copied().fold(f32::MIN, f32::max);
        let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        exp.into_iter().map(|e| e / sum).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_follow_the_weights_and_sum_to_one() {
        let model =
            LinearClassifier::new(vec!["a", "b"], vec![vec![4.0, 0.0], vec![0.0, 4.0]], vec![0.0, 0.0]).unwrap();
        let p = model.probabilities(&Embedding::normalised(vec![1.0, 0.0]));
        assert!(p[0] > 0.95 && (p[0] + p[1] - 1.0).abs() < 1e-6, "{p:?}");
        assert!(LinearClassifier::new(vec!["a"], vec![], vec![0.0]).is_err());
        assert!(LinearClassifier::new(vec!["a", "b"], vec![vec![1.0], vec![1.0, 2.0]], vec![0.0, 0.0]).is_err());
    }
}
