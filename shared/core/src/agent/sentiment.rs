//! Sentiment per message with VADER (vader_sentiment crate).
//!
//! Scale: VADER's compound score, from -1 (most negative) to +1 (most
//! positive); about -0.05..0.05 is neutral. A message below
//! [`ESCALATION_THRESHOLD`] goes to a person (context/escalation-rules.md).
//! VADER's lexicon is English: for text in another language the score would
//! be noise (German "die" reads as negative), so it is reported as neutral.
//! Words that in a support message describe the problem rather than the
//! customer's mood ("error", "failed", "issue") are taken out of the lexicon:
//! "The upload failed, how do I fix it?" is a question, not anger.

use std::sync::LazyLock;

use serde::Serialize;
use vader_sentiment::SentimentIntensityAnalyzer;

use crate::domain::Language;

pub const ESCALATION_THRESHOLD: f64 = -0.5;

/// Support vocabulary that VADER scores as negative but that names a problem, not a feeling.
const PROBLEM_WORDS: &[&str] = &[
    "error", "errors", "fail", "failed", "fails", "failing", "failure", "failures", "problem", "problems", "issue",
    "issues", "bug", "bugs", "wrong", "stuck", "missing", "miss", "expired", "blocked", "block", "blocks", "disabled",
    "delete", "deleted", "limit", "limited", "limits", "broken", "break", "breaks", "doubt", "trouble", "no",
];

static LEXICON: LazyLock<std::collections::HashMap<unicase::UniCase<&'static str>, f64>> = LazyLock::new(|| {
    let mut lexicon = vader_sentiment::LEXICON.clone();
    lexicon.retain(|word, _| !PROBLEM_WORDS.contains(&word.to_lowercase().as_str()));
    lexicon
});

static ANALYZER: LazyLock<SentimentIntensityAnalyzer<'static>> =
    LazyLock::new(|| SentimentIntensityAnalyzer::from_lexicon(&LEXICON));

/// The compound score of one message, or 0.0 (neutral) when it is not English.
pub fn score(text: &str) -> f64 {
    if !is_english(text) {
        return 0.0;
    }
    ANALYZER.polarity_scores(text).get("compound").copied().unwrap_or(0.0)
}

fn is_english(text: &str) -> bool {
    Language::of(text) == Language::English
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Improving,
    Steady,
    Worsening,
}

/// How the customer's mood moved: the latest message against the average of
/// the earlier ones (needs at least one earlier message).
pub fn trend(earlier: &[f64], latest: f64) -> Trend {
    if earlier.is_empty() {
        return Trend::Steady;
    }
    let mean = earlier.iter().sum::<f64>() / earlier.len() as f64;
    match latest - mean {
        d if d > 0.25 => Trend::Improving,
        d if d < -0.25 => Trend::Worsening,
        _ => Trend::Steady,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angry_messages_score_below_the_threshold_and_calm_ones_do_not() {
        assert!(
            score("This app is absolutely useless, horrible experience, I hate it. Worst tool ever.")
                < ESCALATION_THRESHOLD
        );
        assert!(score("The upload failed with an error, how do I fix it?") > ESCALATION_THRESHOLD);
        assert!(score("Thanks, the timeline view is great and my team loves it!") > 0.5);
    }

    #[test]
    fn non_english_text_is_neutral() {
        assert_eq!(
            score("Hallo, wie aktiviere ich die Zwei-Faktor-Authentifizierung für mein Konto und die ganze Firma?"),
            0.0
        );
    }

    #[test]
    fn trend_compares_the_latest_message_with_the_earlier_ones() {
        assert_eq!(trend(&[], -0.9), Trend::Steady);
        assert_eq!(trend(&[0.2, 0.0], -0.7), Trend::Worsening);
        assert_eq!(trend(&[-0.6], 0.3), Trend::Improving);
    }
}
