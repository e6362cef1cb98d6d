//! Whole-word and phrase matching on lower-cased text, shared by the rules.

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
