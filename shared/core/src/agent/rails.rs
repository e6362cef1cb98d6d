//! Semantic rails for escalation, the way NVIDIA NeMo Guardrails defines intents: by
//! example utterances (`context/semantic-rails.json`), matched by sentence-embedding
//! similarity. Each escalation reason has its examples, and so do the look-alikes that
//! must not escalate ("will the import cost me extra time?"). A sentence of the message
//! (or the whole of it) matches a reason when it is at least [`RAIL_THRESHOLD`] similar to
//! one of the reason's examples and closer to it than to any look-alike by
//! [`LOOKALIKE_MARGIN`]. The keyword rules stay in `guardrails`, so exact terms still fire.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::words::split_sentences;
use crate::domain::EscalationReason;
use crate::ports::embedder::{EmbedError, Embedder, Embedding};

const RAILS_FILE: &str = include_str!("../../../../context/semantic-rails.json");

/// Calibrated on the tune split of `context/dev-set.json` (the `calibrate` example of
/// `support-embedding` prints the distributions).
pub const RAIL_THRESHOLD: f32 = 0.7;
pub const LOOKALIKE_MARGIN: f32 = 0.08;
/// Sentences of one message judged one by one; the rest are judged with the whole.
const MAX_SENTENCES: usize = 12;

#[derive(Deserialize)]
struct RailsFile {
    rails: HashMap<EscalationReason, Vec<String>>,
    not_escalation: Vec<String>,
}

/// One example utterance: `None` is a look-alike that must not escalate.
struct Example {
    reason: Option<EscalationReason>,
    text: String,
    vector: Embedding,
}

/// The rail that fired, recorded with the decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RailMatch {
    pub reason: EscalationReason,
    pub score: f32,
    /// The example it was closest to.
    pub example: String,
    /// The customer's sentence that matched.
    pub sentence: String,
}

/// See [`SemanticRails::closest`].
#[derive(Debug, Clone, PartialEq)]
pub struct Closest<'a> {
    pub reason: EscalationReason,
    pub score: f32,
    pub example: &'a str,
    pub lookalike: f32,
}

pub struct SemanticRails {
    examples: Vec<Example>,
}

fn rails_file() -> RailsFile {
    serde_json::from_str(RAILS_FILE).expect("context/semantic-rails.json is valid")
}

/// Every example text, for a precomputed embedding cache.
pub fn example_texts() -> Vec<String> {
    let file = rails_file();
    file.rails.into_values().flatten().chain(file.not_escalation).collect()
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

impl SemanticRails {
    /// The rails of `context/semantic-rails.json`, embedded.
    pub fn bundled(embedder: &dyn Embedder) -> Result<Self, EmbedError> {
        let file = rails_file();
        let labelled: Vec<(Option<EscalationReason>, String)> = file
            .rails
            .into_iter()
            .flat_map(|(reason, texts)| texts.into_iter().map(move |t| (Some(reason), t)))
            .chain(file.not_escalation.into_iter().map(|t| (None, t)))
            .collect();
        let texts: Vec<&str> = labelled.iter().map(|(_, t)| t.as_str()).collect();
        let vectors = embedder.embed(&texts)?;
        let examples = labelled
            .into_iter()
            .zip(vectors)
            .map(|((reason, text), vector)| Example { reason, text, vector })
            .collect();
        Ok(Self { examples })
    }

    /// The rail with the highest precedence that any unit matches. `units` are the texts
    /// of [`judged_units`], `vectors` their embeddings.
    pub fn judge(&self, units: &[String], vectors: &[Embedding]) -> Option<RailMatch> {
        units
            .iter()
            .zip(vectors)
            .filter_map(|(unit, vector)| self.judge_unit(unit, vector))
            .min_by(|a, b| {
                a.reason
                    .precedence()
                    .cmp(&b.reason.precedence())
                    .then(b.score.total_cmp(&a.score))
            })
    }

    fn judge_unit(&self, unit: &str, vector: &Embedding) -> Option<RailMatch> {
        let closest = self.closest(vector)?;
        (closest.score >= RAIL_THRESHOLD && closest.score >= closest.lookalike + LOOKALIKE_MARGIN).then(|| RailMatch {
            reason: closest.reason,
            score: closest.score,
            example: closest.example.to_owned(),
            sentence: unit.to_owned(),
        })
    }

    /// The escalation example closest to `vector`, and how close the closest look-alike is:
    /// what the thresholds are calibrated on.
    pub fn closest(&self, vector: &Embedding) -> Option<Closest<'_>> {
        let mut best: Option<(&Example, f32)> = None;
        let mut lookalike = f32::MIN;
        for example in &self.examples {
            let score = example.vector.cosine(vector);
            match example.reason {
                None => lookalike = lookalike.max(score),
                Some(_) if best.is_none_or(|(_, s)| score > s) => best = Some((example, score)),
                Some(_) => {}
            }
        }
        let (example, score) = best?;
        Some(Closest {
            reason: example.reason.expect("only escalation examples are kept as best"),
            score,
            example: &example.text,
            lookalike,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_rails_name_only_known_reasons_and_have_look_alikes() {
        let file = rails_file();
        assert!(!file.rails.is_empty());
        assert!(!file.not_escalation.is_empty());
        assert!(
            !file.rails.contains_key(&EscalationReason::NoAnswer),
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
}
