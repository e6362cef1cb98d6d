//! Trains support-core's classifiers (the semantic rails' `IntentModel`, the knowledge
//! search's `ArticleModel`): a multinomial logistic regression over sentence embeddings,
//! fitted with candle's AdamW on the mean cross-entropy plus an L2 penalty, as
//! scikit-learn's `LogisticRegression(C=1)` fits it. It runs at build time
//! (`precompute-embeddings`); the agent only multiplies.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{loss, AdamW, Optimizer, ParamsAdamW};
use support_core::classifier::LinearClassifier;
use support_core::ports::embedder::{EmbedError, Embedding};

/// scikit-learn's inverse regularisation strength: the penalty is ||W||² / (2·C·n).
const C: f64 = 1.0;
const STEPS: usize = 600;
const LEARNING_RATE: f64 = 0.05;

fn failed(e: candle_core::Error) -> EmbedError {
    EmbedError(format!("training a classifier: {e}"))
}

/// Fits a classifier on embeddings labelled with their class. `classes` lists every class
/// once, in the model's row order.
pub fn train<Class: PartialEq>(
    examples: &[(Embedding, Class)],
    classes: Vec<Class>,
) -> Result<LinearClassifier<Class>, EmbedError> {
    let n = examples.len();
    let dimensions = examples.first().map_or(0, |(e, _)| e.as_slice().len());
    let device = Device::Cpu;
    let inputs: Vec<f32> = examples.iter().flat_map(|(e, _)| e.as_slice().to_vec()).collect();
    let labels: Vec<u32> = examples
        .iter()
        .map(|(_, class)| classes.iter().position(|c| c == class).map(|i| i as u32))
        .collect::<Option<_>>()
        .ok_or_else(|| EmbedError("training a classifier: an example of an unlisted class".into()))?;
    let x = Tensor::from_vec(inputs, (n, dimensions), &device).map_err(failed)?;
    let y = Tensor::from_vec(labels, n, &device).map_err(failed)?;
    let weights = Var::zeros((classes.len(), dimensions), DType::F32, &device).map_err(failed)?;
    let bias = Var::zeros(classes.len(), DType::F32, &device).map_err(failed)?;
    let params = ParamsAdamW {
        lr: LEARNING_RATE,
        weight_decay: 0.0,
        ..ParamsAdamW::default()
    };
    let mut optimizer = AdamW::new(vec![weights.clone(), bias.clone()], params).map_err(failed)?;
    let penalty = 1.0 / (2.0 * C * n as f64);
    for _ in 0..STEPS {
        let logits = x
            .matmul(&weights.as_tensor().t().map_err(failed)?)
            .and_then(|l| l.broadcast_add(bias.as_tensor()))
            .map_err(failed)?;
        let cross_entropy = loss::cross_entropy(&logits, &y).map_err(failed)?;
        let l2 = weights
            .as_tensor()
            .sqr()
            .and_then(|w| w.sum_all())
            .and_then(|s| s.affine(penalty, 0.0))
            .map_err(failed)?;
        let objective = (cross_entropy + l2).map_err(failed)?;
        optimizer.backward_step(&objective).map_err(failed)?;
    }
    let rows: Vec<Vec<f32>> = weights.as_tensor().to_vec2().map_err(failed)?;
    let bias: Vec<f32> = bias.as_tensor().to_vec1().map_err(failed)?;
    LinearClassifier::new(classes, rows, bias).map_err(|e| EmbedError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use support_core::domain::EscalationReason;

    #[test]
    fn a_separable_set_is_learned() {
        let refund = |x: f32| (Embedding::normalised(vec![1.0, x, 0.0]), Some(EscalationReason::Refund));
        let none = |x: f32| (Embedding::normalised(vec![0.0, x, 1.0]), None);
        let examples: Vec<_> = (0..20)
            .map(|i| i as f32 / 20.0)
            .flat_map(|x| [refund(x), none(x)])
            .collect();
        let model = train(&examples, vec![None, Some(EscalationReason::Refund)]).unwrap();
        assert_eq!(model.classes(), [None, Some(EscalationReason::Refund)]);
        let (reason, p) = model
            .likeliest_reason(&Embedding::normalised(vec![1.0, 0.5, 0.0]))
            .unwrap();
        assert_eq!(reason, EscalationReason::Refund);
        assert!(p > 0.8, "{p}");
        let (_, p) = model
            .likeliest_reason(&Embedding::normalised(vec![0.0, 0.5, 1.0]))
            .unwrap();
        assert!(p < 0.2, "{p}");
    }
}
