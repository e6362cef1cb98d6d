//! The product knowledge base: markdown articles in `context/knowledge-base/`,
//! split into passages at `## ` headings, plus the answers people approved
//! from resolved tickets, ranked with BM25.

mod learned;
mod tokenizer;

use std::sync::LazyLock;

use bm25::{Document, SearchEngine, SearchEngineBuilder};
use include_dir::{include_dir, Dir};
use serde::Serialize;

use crate::domain::Category;

pub use learned::Knowledge;
use tokenizer::EnglishTokenizer;

use crate::ports::learned::LearnedAnswer;

static BUNDLED_ARTICLES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../context/knowledge-base");

/// Below this BM25 score the best passage is not an answer ("no good match").
pub const MATCH_THRESHOLD: f32 = 4.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Passage {
    /// The article's slug (its file name without `.md`).
    pub article: String,
    pub title: String,
    /// The ticket category of questions this article answers
    /// (`<!-- category: technical -->` under the title).
    pub category: Option<Category>,
    pub heading: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub passage: Passage,
    pub score: f32,
}

pub struct KnowledgeBase {
    engine: SearchEngine<usize, u32, EnglishTokenizer>,
    passages: Vec<Passage>,
}

impl KnowledgeBase {
    /// Builds the index from `(slug, markdown)` pairs.
    pub fn from_articles<'a>(articles: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::from_sources(articles, &[])
    }

    /// Builds the index from articles and approved learned answers (one passage each).
    pub fn from_sources<'a>(articles: impl IntoIterator<Item = (&'a str, &'a str)>, learned: &[LearnedAnswer]) -> Self {
        let passages: Vec<Passage> = articles
            .into_iter()
            .flat_map(|(slug, md)| split_article(slug, md))
            .chain(learned.iter().map(learned::passage))
            .collect();
        let documents = passages.iter().enumerate().map(|(i, p)| {
            // The title counts twice: it names the topic better than any sentence.
            Document::new(i, format!("{} {} {} {}", p.title, p.title, p.heading, p.text))
        });
        let engine = SearchEngineBuilder::<usize, u32, EnglishTokenizer>::with_tokenizer_and_documents(
            EnglishTokenizer::default(),
            documents,
        )
        .build();
        Self { engine, passages }
    }

    /// The articles compiled into the binary from `context/knowledge-base/`.
    pub fn bundled() -> &'static KnowledgeBase {
        static BUNDLED: LazyLock<KnowledgeBase> = LazyLock::new(|| KnowledgeBase::from_articles(bundled_articles()));
        &BUNDLED
    }

    pub fn len(&self) -> usize {
        self.passages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.passages.is_empty()
    }

    /// The category of an article's questions, by slug.
    pub fn article_category(&self, article: &str) -> Option<Category> {
        self.passages
            .iter()
            .find(|p| p.article == article)
            .and_then(|p| p.category)
    }

    /// The best `k` passages for `query`, best first.
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
        self.engine
            .search(query, k)
            .into_iter()
            .map(|r| Hit {
                passage: self.passages[r.document.id].clone(),
                score: r.score,
            })
            .collect()
    }
}

/// `(slug, markdown)` of every article compiled into the binary.
pub fn bundled_articles() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUNDLED_ARTICLES
        .files()
        .filter_map(|f| Some((f.path().file_stem()?.to_str()?, f.contents_utf8()?)))
}

fn split_article(slug: &str, markdown: &str) -> Vec<Passage> {
    let mut title = slug.replace('-', " ");
    let category = markdown.lines().find_map(|l| {
        let value = l.trim().strip_prefix("<!-- category:")?.strip_suffix("-->")?;
        value.trim().parse::<Category>().ok()
    });
    let mut passages = Vec::new();
    let mut heading = String::new();
    let mut text = String::new();
    let mut flush = |heading: &str, text: &mut String, title: &str| {
        if !text.trim().is_empty() {
            passages.push(Passage {
                article: slug.to_owned(),
                title: title.to_owned(),
                category,
                heading: heading.to_owned(),
                text: text.trim().to_owned(),
            });
        }
        text.clear();
    };
    for line in markdown.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            flush(&heading, &mut text, &title);
            heading = h.trim().to_owned();
        } else if let Some(t) = line.strip_prefix("# ") {
            title = t.trim().to_owned();
        } else if !line.trim_start().starts_with("<!--") {
            text.push_str(line);
            text.push('\n');
        }
    }
    flush(&heading, &mut text, &title);
    passages
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARTICLES: [(&str, &str); 2] = [
        ("reset-password", "# Reset your password\nIntro.\n## Steps\nOpen the login page and choose Forgot password.\n## If the email never arrives\nCheck spam."),
        ("invite-teammates", "# Invite teammates\n<!-- category: technical -->\n## Invite by email\nGo to Settings → Members → Invite and enter their email."),
    ];

    #[test]
    fn articles_split_into_passages_at_second_level_headings() {
        let kb = KnowledgeBase::from_articles(ARTICLES);
        assert_eq!(kb.len(), 4);
        let hits = kb.search("forgot my password", 3);
        assert_eq!(hits[0].passage.article, "reset-password");
        assert_eq!(hits[0].passage.title, "Reset your password");
        assert_eq!(kb.article_category("invite-teammates"), Some(Category::Technical));
        assert_eq!(kb.article_category("reset-password"), None);
    }

    #[test]
    fn unrelated_questions_find_nothing_above_the_threshold() {
        let kb = KnowledgeBase::from_articles(ARTICLES);
        assert!(kb
            .search("quantum chromodynamics lecture", 3)
            .iter()
            .all(|h| h.score < MATCH_THRESHOLD));
    }

    #[test]
    fn the_bundled_knowledge_base_is_not_empty() {
        assert!(KnowledgeBase::bundled().len() >= 30);
    }
}
