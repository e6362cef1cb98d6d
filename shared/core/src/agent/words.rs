//! Whole-word and phrase matching on lower-cased text, and sentences, shared by the rules.

use unicode_segmentation::UnicodeSegmentation;

/// A message as ` word word word ` (lower case, punctuation as spaces), so a
/// phrase matches only on word boundaries: "agent" does not match "agenda".
pub struct Words(String);

impl Words {
    pub fn new(text: &str) -> Self {
        let words: Vec<String> = text
            .to_lowercase()
            .split(|c: char| !(c.is_alphanumeric() || c == '\''))
            .map(|w| w.trim_matches('\'').to_owned())
            .filter(|w| !w.is_empty())
            .collect();
        Self(format!(" {} ", words.join(" ")))
    }

    pub fn contains(&self, phrase: &str) -> bool {
        self.0.contains(&format!(" {phrase} "))
    }

    pub fn count(&self) -> usize {
        self.0.split_whitespace().count()
    }

    pub fn as_str(&self) -> &str {
        self.0.trim()
    }
}

pub fn contains_any(words: &Words, phrases: &[&str]) -> bool {
    phrases.iter().any(|p| words.contains(p))
}

/// Sentences with their trailing spaces (Unicode sentence boundaries), so joining them
/// gives the text back.
pub fn split_sentences(text: &str) -> Vec<&str> {
    text.split_sentence_bounds().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_on_terminal_punctuation_only() {
        assert_eq!(
            split_sentences("Go to Settings → Members. Click Invite! Done?"),
            ["Go to Settings → Members. ", "Click Invite! ", "Done?"]
        );
        assert_eq!(
            split_sentences("Version 2.5 is out. Yes"),
            ["Version 2.5 is out. ", "Yes"]
        );
    }
}
