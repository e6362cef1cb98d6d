//! Semantic rails for escalation. As NVIDIA NeMo Guardrails defines intents, each
//! escalation reason is defined by example utterances (`context/semantic-rails.json`),
//! and so are the look-alikes that must not escalate ("will the import cost me extra
//! time?"). A linear classifier over their sentence embeddings (multinomial logistic
//! regression, trained at build time by `support-embedding`'s `precompute-embeddings` on
//! those examples and the tune split of `context/dev-set.json`) judges each sentence of a
//! message and the whole of it. A reason fires when its probability reaches
//! [`RAIL_THRESHOLD`]. The keyword rules stay in `guardrails`, so exact terms still fire.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::words::split_sentences;
use crate::classifier::LinearClassifier;
use crate::domain::EscalationReason;
use crate::ports::embedder::Embedding;

const RAILS_FILE: &str = include_str!("../../../../context/semantic-rails.json");

/// The probability at which a reason fires. The classifier learned from the tune split,
/// so it was set on the labelled tickets of `context/sample-tickets.json`, which it never
/// saw (the `calibrate` example of `support-embedding`): there the rails alone find 79% of
/// the escalations and fire on 1.5% of the messages a person would answer.
pub const RAIL_THRESHOLD: f32 = 0.5;
/// At or above this probability of "no escalation" for the whole message, the rails
/// overrule the keyword lists: the message only looks like an escalation. Set by 5-fold
/// cross-validation over the tune split's messages (the classifier refitted without the
/// fold, then judged on it): of the messages a keyword list escalated, 0.7 kept all 11
/// right escalations and dropped 6 of the 10 wrong ones (0.85 dropped 2).
pub const LOOK_ALIKE_CONFIDENCE: f32 = 0.7;
/// Sentences of one message judged one by one; the rest are judged with the whole.
const MAX_SENTENCES: usize = 12;

#[derive(Deserialize)]
struct RailsFile {
    rails: HashMap<EscalationReason, Vec<String>>,
    not_escalation: Vec<String>,
}

/// The rail that fired, recorded with the decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RailMatch {
    pub reason: EscalationReason,
    /// The classifier's probability for the reason.
    pub score: f32,
    /// The customer's sentence (or whole message) that matched.
    pub sentence: String,
}

/// The examples of `context/semantic-rails.json`, each with its reason (`None`: a
/// look-alike that must not escalate).
pub fn labelled_examples() -> Vec<(Option<EscalationReason>, String)> {
    let file: RailsFile = serde_json::from_str(RAILS_FILE).expect("context/semantic-rails.json is valid");
    let mut examples: Vec<(Option<EscalationReason>, String)> = file
        .rails
        .into_iter()
        .flat_map(|(reason, texts)| texts.into_iter().map(move |t| (Some(reason), t)))
        .chain(file.not_escalation.into_iter().map(|t| (None, t)))
        .collect();
    // A stable order: the training that reads them is then reproducible.
    examples.sort_by(|a, b| a.1.cmp(&b.1));
    examples
}

/// What of a message is judged: each sentence, and the whole when it has several.
pub fn judged_units(text: &str) -> Vec<String> {
    let sentences: Vec<String> = split_sentences(text)
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .take(MAX_SENTENCES)
        .collect();
    let whole = text.trim().to_owned();
    if sentences.len() <= 1 {
        return vec![whole];
    }
    sentences.into_iter().chain(std::iter::once(whole)).collect()
}

/// The rails' classifier: a class per escalation reason, and `None` for no escalation.
pub type IntentModel = LinearClassifier<Option<EscalationReason>>;

impl IntentModel {
    /// The most probable escalation reason for `vector`, with its probability.
    pub fn likeliest_reason(&self, vector: &Embedding) -> Option<(EscalationReason, f32)> {
        self.classes()
            .iter()
            .zip(self.probabilities(vector))
            .filter_map(|(class, p)| class.map(|reason| (reason, p)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

pub struct SemanticRails {
    model: IntentModel,
}

impl SemanticRails {
    pub fn new(model: IntentModel) -> Self {
        Self { model }
    }

    /// Whether the whole message (`vector`) is confidently no escalation at all.
    pub fn is_look_alike(&self, vector: &Embedding) -> bool {
        self.model
            .classes()
            .iter()
            .zip(self.model.probabilities(vector))
            .any(|(class, p)| class.is_none() && p >= LOOK_ALIKE_CONFIDENCE)
    }

    /// The rail with the highest precedence that any unit matches. `units` are the texts
    /// of [`judged_units`], `vectors` their embeddings.
    pub fn judge(&self, units: &[String], vectors: &[Embedding]) -> Option<RailMatch> {
        units
            .iter()
            .zip(vectors)
            .filter_map(|(unit, vector)| {
                let (reason, score) = self.model.likeliest_reason(vector)?;
                (score >= RAIL_THRESHOLD).then(|| RailMatch {
                    reason,
                    score,
                    sentence: unit.clone(),
                })
            })
            .min_by(|a, b| {
                a.reason
                    .precedence()
                    .cmp(&b.reason.precedence())
                    .then(b.score.total_cmp(&a.score))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_rails_name_only_known_reasons_and_have_look_alikes() {
        let examples = labelled_examples();
        assert!(examples.iter().any(|(reason, _)| reason.is_none()));
        assert!(examples.iter().any(|(reason, _)| reason.is_some()));
        assert!(
            !examples
                .iter()
                .any(|(reason, _)| *reason == Some(EscalationReason::NoAnswer)),
            "no_answer comes from search, not examples"
        );
    }

    #[test]
    fn each_sentence_is_judged_and_the_whole_with_them() {
        assert_eq!(judged_units("How do I export?"), ["How do I export?"]);
        assert_eq!(
            judged_units("Thanks for the help. I want my money back!"),
            [
                "Thanks for the help.",
                "I want my money back!",
                "Thanks for the help. I want my money back!"
            ]
        );
    }

    #[test]
    fn the_likeliest_reason_fires_above_the_threshold_with_the_first_in_precedence() {
        // Two dimensions: "refund-ness" and "legal-ness"; everything else is no escalation.
        let model = IntentModel::new(
            vec![None, Some(EscalationReason::Refund), Some(EscalationReason::Legal)],
            vec![vec![0.0, 0.0], vec![6.0, 0.0], vec![0.0, 6.0]],
            vec![2.0, 0.0, 0.0],
        )
        .unwrap();
        let rails = SemanticRails::new(model);
        let refund = Embedding::normalised(vec![1.0, 0.0]);
        let legal = Embedding::normalised(vec![0.0, 1.0]);
        let neither = Embedding::normalised(vec![-1.0, -1.0]);
        let units = ["money".to_owned(), "lawyer".to_owned(), "hello".to_owned()];
        let matched = rails.judge(&units, &[refund, legal, neither.clone()]).unwrap();
        assert_eq!(matched.reason, EscalationReason::Legal, "legal precedes refund");
        assert_eq!(matched.sentence, "lawyer");
        assert!(rails.judge(&units[2..], &[neither]).is_none());
    }
}
