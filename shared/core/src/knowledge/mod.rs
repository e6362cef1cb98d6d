//! The product knowledge base: markdown articles in `context/knowledge-base/`, split into
//! passages at `## ` headings, plus the answers people approved from resolved tickets.
//!
//! Search is hybrid. BM25 over the words and a sentence-embedding similarity over each
//! passage's sentences, step lists and the questions it answers each nominate candidates,
//! pooled by reciprocal rank fusion. The pool is ranked by relevance: the passage's best
//! cosine similarity with the query, plus the article classifier's view of which article
//! the question is about (see [`ArticleModel`]). Below [`RELEVANCE_THRESHOLD`] nothing is an
//! answer. Each hit carries the excerpt that answers: the sentences or steps of the passage
//! closest to the query, step lists kept whole.

mod learned;
mod tokenizer;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use bm25::{Document, SearchEngine, SearchEngineBuilder};
use include_dir::{include_dir, Dir};
use serde::Serialize;

use crate::agent::words::split_sentences;
use crate::classifier::LinearClassifier;
use crate::domain::Category;
use crate::ports::embedder::{EmbedError, Embedder, Embedding};

pub use learned::{is_learned, Knowledge};
use tokenizer::EnglishTokenizer;

use crate::ports::learned::LearnedAnswer;

static BUNDLED_ARTICLES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../context/knowledge-base");

/// A passage answers the query when its relevance reaches this, or when BM25 scores it at
/// least [`LEXICAL_THRESHOLD`] and its relevance reaches [`CORROBORATED_RELEVANCE`]. Set on
/// the tune split of `context/dev-set.json` (the `calibrate` example of
/// `support-embedding`), preferring an honest hand-off to a wrong answer: there, 80% of the
/// answerable questions were answered from the right article, 7% from a wrong one, and
/// 75% of the unanswerable ones were recognised.
pub const RELEVANCE_THRESHOLD: f32 = 0.80;
pub const LEXICAL_THRESHOLD: f32 = 8.0;
pub const CORROBORATED_RELEVANCE: f32 = 0.73;

/// Which article a question is about, by the embedding of the whole question: a class per
/// article slug, trained on `context/knowledge-questions.json` (see [`article_questions`]).
pub type ArticleModel = LinearClassifier<String>;
/// How much the article classifier moves a passage's relevance: this times the log of its
/// article's probability over the uniform one (so an article the classifier has no view
/// on, such as a learned answer, moves nothing). Set on the tune split with the thresholds.
const ARTICLE_PRIOR_WEIGHT: f32 = 0.1;

/// Reciprocal rank fusion's constant (Cormack et al. 2009): damps the weight of the top ranks.
const RRF_K: f32 = 60.0;
/// Candidates each ranking contributes to the fusion.
const CANDIDATES: usize = 20;
/// An excerpt keeps the sentences within this similarity of the passage's closest one.
const EXCERPT_MARGIN: f32 = 0.08;
const EXCERPT_MAX_CHUNKS: usize = 3;

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

impl Hit {
    /// Whether the passage answers the query (see [`RELEVANCE_THRESHOLD`]).
    pub fn answers(&self) -> bool {
        self.relevance >= RELEVANCE_THRESHOLD
            || (self.lexical >= LEXICAL_THRESHOLD && self.relevance >= CORROBORATED_RELEVANCE)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub passage: Passage,
    /// What the hits are ranked by: the similarity, moved by the article classifier.
    pub relevance: f32,
    /// Cosine similarity of the query and the passage's closest sentence, -1 to 1.
    pub similarity: f32,
    /// The passage's BM25 score (0 when outside BM25's candidates).
    pub lexical: f32,
    /// The part of the passage that answers the query.
    pub excerpt: String,
}

/// What the embedding model sees of a passage: its title and heading, then each sentence,
/// each step list whole.
#[derive(Debug, Clone, PartialEq)]
struct Chunk {
    passage: usize,
    text: String,
    /// The title-and-heading chunk, or a question the section answers
    /// (`context/knowledge-questions.json`): it says what the passage is about; it is not
    /// part of an answer.
    is_heading: bool,
    /// A step list (or bullet list), kept whole.
    is_list: bool,
}

pub struct KnowledgeBase {
    engine: SearchEngine<usize, u32, EnglishTokenizer>,
    passages: Vec<Passage>,
    chunks: Vec<Chunk>,
    chunk_vectors: Vec<Embedding>,
    embedder: Arc<dyn Embedder>,
    articles: Option<Arc<ArticleModel>>,
}

impl KnowledgeBase {
    /// Builds the index from `(slug, markdown)` pairs.
    pub fn from_articles<'a>(
        articles: impl IntoIterator<Item = (&'a str, &'a str)>,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Self, EmbedError> {
        Self::from_sources(articles, &[], embedder)
    }

    /// Builds the index from articles and approved learned answers (one passage each).
    pub fn from_sources<'a>(
        articles: impl IntoIterator<Item = (&'a str, &'a str)>,
        learned: &[LearnedAnswer],
        embedder: Arc<dyn Embedder>,
    ) -> Result<Self, EmbedError> {
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
        let chunks: Vec<Chunk> = passages.iter().enumerate().flat_map(|(i, p)| chunks_of(i, p)).collect();
        let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
        let chunk_vectors = embedder.embed(&texts)?;
        Ok(Self {
            engine,
            passages,
            chunks,
            chunk_vectors,
            embedder,
            articles: None,
        })
    }

    /// Ranks passages with the article classifier's view too (see [`ArticleModel`]).
    pub fn with_article_model(mut self, articles: Arc<ArticleModel>) -> Self {
        self.articles = Some(articles);
        self
    }

    /// Each passage's shift of relevance by the article classifier, for the whole `query`.
    fn article_priors(&self, query: &Embedding) -> Vec<f32> {
        let Some(model) = &self.articles else {
            return vec![0.0; self.passages.len()];
        };
        let uniform = 1.0 / model.classes().len() as f32;
        let probability: HashMap<&str, f32> = model
            .classes()
            .iter()
            .map(String::as_str)
            .zip(model.probabilities(query))
            .collect();
        self.passages
            .iter()
            .map(|p| {
                probability.get(p.article.as_str()).map_or(0.0, |prob| {
                    ARTICLE_PRIOR_WEIGHT * (prob.max(f32::MIN_POSITIVE) / uniform).ln()
                })
            })
            .collect()
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
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<Hit>, EmbedError> {
        // A question is often one sentence among greetings and context: each sentence is
        // compared as well as the whole, and the closest comparison counts.
        let units = query_units(query);
        let texts: Vec<&str> = units.iter().map(String::as_str).collect();
        let query_vectors = self.embedder.embed(&texts)?;
        let similarity: Vec<f32> = self
            .chunk_vectors
            .iter()
            .map(|v| query_vectors.iter().map(|q| v.cosine(q)).fold(f32::MIN, f32::max))
            .collect();
        // Each passage's similarity: its closest chunk's.
        let mut closest = vec![f32::MIN; self.passages.len()];
        for (chunk, score) in self.chunks.iter().zip(&similarity) {
            closest[chunk.passage] = closest[chunk.passage].max(*score);
        }
        let relevance: Vec<f32> = closest
            .iter()
            .zip(self.article_priors(&query_vectors[0]))
            .map(|(similarity, prior)| similarity + prior)
            .collect();
        let mut dense: Vec<usize> = (0..self.passages.len()).collect();
        dense.sort_by(|a, b| relevance[*b].total_cmp(&relevance[*a]));
        let lexical_results = self.engine.search(query, CANDIDATES);
        let lexical: Vec<usize> = lexical_results.iter().map(|r| r.document.id).collect();
        let lexical_score = |passage: usize| {
            lexical_results
                .iter()
                .find(|r| r.document.id == passage)
                .map_or(0.0, |r| r.score)
        };
        // Both rankings nominate candidates; the fused pool is ranked by relevance, which
        // ranked the right article first more often on the tune split than the fused rank.
        let mut fused: HashMap<usize, f32> = HashMap::new();
        for ranking in [&dense[..CANDIDATES.min(dense.len())], &lexical[..]] {
            for (rank, passage) in ranking.iter().enumerate() {
                *fused.entry(*passage).or_default() += 1.0 / (RRF_K + rank as f32 + 1.0);
            }
        }
        let mut ranked: Vec<(usize, f32)> = fused.into_iter().collect();
        ranked.sort_by(|a, b| relevance[b.0].total_cmp(&relevance[a.0]).then(b.1.total_cmp(&a.1)));
        Ok(ranked
            .into_iter()
            .take(k)
            .map(|(passage, _)| Hit {
                passage: self.passages[passage].clone(),
                relevance: relevance[passage],
                similarity: closest[passage],
                lexical: lexical_score(passage),
                excerpt: self.excerpt(passage, &similarity),
            })
            .collect())
    }

    /// The chunks of a passage closest to the query, in their order in the passage; a step
    /// list comes with the sentence that introduces it. When only the heading matches, the
    /// whole section is the answer: its first chunks.
    fn excerpt(&self, passage: usize, similarity: &[f32]) -> String {
        let own: Vec<usize> = (0..self.chunks.len())
            .filter(|i| self.chunks[*i].passage == passage && !self.chunks[*i].is_heading)
            .collect();
        let best = own.iter().map(|i| similarity[*i]).fold(f32::MIN, f32::max);
        let mut by_score = own.clone();
        by_score.sort_by(|a, b| similarity[*b].total_cmp(&similarity[*a]));
        let mut chosen: Vec<usize> = by_score
            .into_iter()
            .filter(|i| similarity[*i] >= best - EXCERPT_MARGIN)
            .take(EXCERPT_MAX_CHUNKS)
            .collect();
        let heading_best = self
            .chunks
            .iter()
            .zip(similarity)
            .any(|(c, s)| c.passage == passage && c.is_heading && *s > best);
        if heading_best {
            chosen = own.iter().copied().take(EXCERPT_MAX_CHUNKS).collect();
        }
        for i in chosen.clone() {
            let intro = i.checked_sub(1).map(|before| &self.chunks[before]);
            if self.chunks[i].is_list && intro.is_some_and(|c| c.passage == passage && c.text.ends_with(':')) {
                chosen.push(i - 1);
            }
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
            .iter()
            .map(|i| self.chunks[*i].text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Sentences of at least this many words are compared with the passages on their own.
const MIN_QUERY_SENTENCE_WORDS: usize = 3;
const MAX_QUERY_SENTENCES: usize = 12;

/// The whole query, and each of its sentences long enough to carry a question.
fn query_units(query: &str) -> Vec<String> {
    let sentences = split_sentences(query)
        .into_iter()
        .map(str::trim)
        .filter(|s| s.split_whitespace().count() >= MIN_QUERY_SENTENCE_WORDS)
        .take(MAX_QUERY_SENTENCES)
        .map(str::to_owned);
    let mut units = vec![query.trim().to_owned()];
    units.extend(sentences.filter(|s| s != query.trim()));
    units
}

/// Every text the bundled knowledge base embeds, for a precomputed cache.
pub fn bundled_chunk_texts() -> Vec<String> {
    bundled_articles()
        .flat_map(|(slug, md)| split_article(slug, md))
        .enumerate()
        .flat_map(|(i, p)| chunks_of(i, &p))
        .map(|c| c.text)
        .collect()
}

fn is_list_line(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("- ")
        || line.starts_with("* ")
        || line
            .split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Articles are markdown; what is embedded and quoted is plain text.
fn plain_text(markdown: &str) -> String {
    markdown.replace("**", "").replace('`', "").trim().to_owned()
}

/// Questions customers ask that each section answers, by article slug and heading: what
/// a question is compared with besides the section's own sentences. Written for this
/// project (`context/knowledge-questions.json`).
static SECTION_QUESTIONS: LazyLock<HashMap<String, HashMap<String, Vec<String>>>> = LazyLock::new(|| {
    #[derive(serde::Deserialize)]
    struct QuestionsFile {
        articles: HashMap<String, HashMap<String, Vec<String>>>,
    }
    let file: QuestionsFile = serde_json::from_str(include_str!("../../../../context/knowledge-questions.json"))
        .expect("context/knowledge-questions.json is valid");
    file.articles
});

/// The questions of `context/knowledge-questions.json`, each with the slug of the article
/// that answers it: what the [`ArticleModel`] learns from.
pub fn article_questions() -> Vec<(String, String)> {
    let mut labelled: Vec<(String, String)> = SECTION_QUESTIONS
        .iter()
        .flat_map(|(article, sections)| {
            sections
                .values()
                .flatten()
                .map(move |question| (article.clone(), question.clone()))
        })
        .collect();
    // A stable order: the training that reads them is then reproducible.
    labelled.sort_unstable();
    labelled
}

fn chunks_of(index: usize, passage: &Passage) -> Vec<Chunk> {
    let chunk = |text: String, is_heading, is_list| Chunk {
        passage: index,
        text,
        is_heading,
        is_list,
    };
    let heading = if passage.heading.is_empty() {
        passage.title.clone()
    } else {
        format!("{}: {}", passage.title, passage.heading)
    };
    let mut chunks = vec![chunk(heading, true, false)];
    let questions = SECTION_QUESTIONS
        .get(&passage.article)
        .and_then(|sections| sections.get(&passage.heading))
        .into_iter()
        .flatten();
    chunks.extend(questions.map(|q| chunk(q.clone(), true, false)));
    for block in passage.text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        // A paragraph may end in its list without a blank line: the list starts at its first item.
        let lines: Vec<&str> = block.lines().collect();
        let list_start = lines.iter().position(|l| is_list_line(l)).unwrap_or(lines.len());
        let prose = lines[..list_start].join(" ");
        let sentences = split_sentences(&prose)
            .into_iter()
            .map(plain_text)
            .filter(|s| !s.is_empty());
        chunks.extend(sentences.map(|sentence| chunk(sentence, false, false)));
        if list_start < lines.len() {
            chunks.push(chunk(plain_text(&lines[list_start..].join("\n")), false, true));
        }
    }
    chunks
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
    use crate::ports::embedder::hashing::HashingEmbedder;

    const ARTICLES: [(&str, &str); 2] = [
        ("reset-password", "# Reset your password\nIntro.\n## Steps\nOpen the login page and choose Forgot password.\n## If the email never arrives\nCheck spam."),
        ("invite-teammates", "# Invite teammates\n<!-- category: technical -->\n## Invite by email\nTo invite someone:\n\n1. Go to Settings → Members.\n2. Click **Invite** and enter their email.\n\nGuests are invited from a board instead."),
    ];

    fn kb() -> KnowledgeBase {
        KnowledgeBase::from_articles(ARTICLES, Arc::new(HashingEmbedder)).unwrap()
    }

    #[test]
    fn articles_split_into_passages_at_second_level_headings() {
        let kb = kb();
        assert_eq!(kb.len(), 4);
        let hits = kb.search("forgot my password", 3).unwrap();
        assert_eq!(hits[0].passage.article, "reset-password");
        assert_eq!(hits[0].passage.title, "Reset your password");
        assert_eq!(kb.article_category("invite-teammates"), Some(Category::Technical));
        assert_eq!(kb.article_category("reset-password"), None);
    }

    #[test]
    fn unrelated_questions_find_nothing_relevant() {
        let hits = kb().search("quantum chromodynamics lecture", 3).unwrap();
        assert!(hits.iter().all(|h| !h.answers()), "{hits:?}");
    }

    #[test]
    fn the_excerpt_keeps_a_step_list_whole_with_its_introduction() {
        let hits = kb().search("enter their email invite members settings", 1).unwrap();
        assert_eq!(hits[0].passage.article, "invite-teammates");
        assert_eq!(
            hits[0].excerpt,
            "To invite someone:\n1. Go to Settings → Members.\n2. Click Invite and enter their email."
        );
    }
}
