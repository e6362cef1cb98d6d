//! How BM25 sees English text: words by Unicode segmentation, lower-cased, NLTK's English
//! stop words dropped, Snowball-stemmed. bm25's own default tokenizer links the stop words,
//! stemmers and transliteration tables of every language it knows; the agent answers in
//! English only, so this one links English alone.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_segmentation::UnicodeSegmentation;

pub struct EnglishTokenizer {
    stemmer: Stemmer,
    stop_words: HashSet<&'static str>,
}

impl Default for EnglishTokenizer {
    fn default() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
            stop_words: stop_words::get(stop_words::LANGUAGE::English).iter().copied().collect(),
        }
    }
}

impl bm25::Tokenizer for EnglishTokenizer {
    fn tokenize(&self, input_text: &str) -> Vec<String> {
        input_text
            .to_lowercase()
            .unicode_words()
            .filter(|word| !self.stop_words.contains(word))
            .map(|word| match is_number(word) {
                // "5,000" in an article and "5000" in a question are the same number.
                true => word.replace(',', ""),
                false => self.stemmer.stem(word).into_owned(),
            })
            .collect()
    }
}

fn is_number(word: &str) -> bool {
    word.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.') && word.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use bm25::Tokenizer;

    use super::*;

    #[test]
    fn stems_lowercases_and_drops_stop_words() {
        let tokens = EnglishTokenizer::default().tokenize("How do I Export the Boards?");
        assert_eq!(tokens, ["export", "board"]);
        let numbers = EnglishTokenizer::default().tokenize("up to 5,000 rows; I have 5000");
        assert_eq!(numbers, ["5000", "row", "5000"]);
    }
}
