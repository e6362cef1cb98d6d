//! The customer's language. context/brand-voice.md: reply in the customer's language; we
//! support English, Spanish, German, Portuguese and French.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Language {
    English,
    Spanish,
    German,
    Portuguese,
    French,
    /// A language the team does not support: replies are in English.
    Unsupported,
}

/// The languages told apart, with their NLTK stop-word lists (the `stop-words` crate).
/// Italian and Dutch are there so that they are not mistaken for a supported language.
const CANDIDATES: [(Language, stop_words::LANGUAGE); 7] = [
    (Language::English, stop_words::LANGUAGE::English),
    (Language::Spanish, stop_words::LANGUAGE::Spanish),
    (Language::German, stop_words::LANGUAGE::German),
    (Language::Portuguese, stop_words::LANGUAGE::Portuguese),
    (Language::French, stop_words::LANGUAGE::French),
    (Language::Unsupported, stop_words::LANGUAGE::Italian),
    (Language::Unsupported, stop_words::LANGUAGE::Dutch),
];

/// Another language needs at least this many of its function words to be chosen.
const MIN_FUNCTION_WORDS: usize = 2;

static FUNCTION_WORDS: LazyLock<Vec<(Language, HashSet<&'static str>)>> = LazyLock::new(|| {
    CANDIDATES
        .iter()
        .map(|(language, list)| (*language, stop_words::get(list).iter().copied().collect()))
        .collect()
});

impl Language {
    /// The language `text` is written in, English when unsure. Support messages are short
    /// and full of product words; function words ("the", "de", "und", "je") tell their
    /// language more reliably than letter statistics do, which took "How do I export my
    /// board to a spreadsheet?" for Portuguese.
    pub fn of(text: &str) -> Self {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower.unicode_words().collect();
        let counts: Vec<(Language, usize)> = FUNCTION_WORDS
            .iter()
            .map(|(language, list)| (*language, words.iter().filter(|w| list.contains(*w)).count()))
            .collect();
        let english = counts[0].1;
        counts
            .into_iter()
            .skip(1)
            .filter(|(_, n)| *n >= MIN_FUNCTION_WORDS && *n > english)
            .max_by_key(|(_, n)| *n)
            .map_or(Language::English, |(language, _)| language)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_told_apart_and_short_texts_count_as_english() {
        let cases = [
            ("How do I export my board to a spreadsheet?", Language::English),
            (
                "¿Cómo puedo exportar mi tablero a una hoja de cálculo?",
                Language::Spanish,
            ),
            (
                "comment puis-je inviter un collègue dans mon espace ?",
                Language::French,
            ),
            ("Wie kann ich mein Passwort zurücksetzen, bitte?", Language::German),
            (
                "Como faço para exportar meus quadros para planilha?",
                Language::Portuguese,
            ),
            ("hola", Language::English),
            ("can i undo deleting a card", Language::English),
            ("Let me speak with your manager", Language::English),
            ("come posso esportare la mia bacheca?", Language::Unsupported),
        ];
        for (text, language) in cases {
            assert_eq!(Language::of(text), language, "{text}");
        }
    }
}
