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
            .map(|word| self.stemmer.stem(word).into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use bm25::Tokenizer;

    use super::*;

    #[test]
    fn stems_lowercases_and_drops_stop_words() {
        let tokens = EnglishTokenizer::default().tokenize("How do I Export the Boards?");
        assert_eq!(tokens, ["export", "board"]);
    }
}
