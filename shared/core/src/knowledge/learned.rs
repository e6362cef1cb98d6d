//! The knowledge base kept current with the approved learned answers.

use std::sync::Arc;

use tokio::sync::RwLock;

use super::{bundled_articles, ArticleModel, KnowledgeBase, Passage};
use crate::ports::embedder::{EmbedError, Embedder};
use crate::ports::learned::{Approved, LearnedAnswer, LearnedAnswers};

/// Learned answers appear in search results as articles named `learned:<id>`.
const LEARNED_PREFIX: &str = "learned:";

/// Whether a search result's article is a learned answer.
pub fn is_learned(article: &str) -> bool {
    article.starts_with(LEARNED_PREFIX)
}

/// A learned answer as a passage: its question is searched like an article title.
pub(super) fn passage(answer: &LearnedAnswer) -> Passage {
    Passage {
        article: format!("{LEARNED_PREFIX}{}", answer.id),
        title: answer.question.clone(),
        category: answer.category,
        heading: String::new(),
        text: answer.answer.clone(),
    }
}

/// The knowledge base the agent searches: the bundled articles plus the approved learned
/// answers. It is rebuilt when the learned answers' version moved (one small read per
/// turn), so an answer a person approves is searched from the next message on.
pub struct Knowledge {
    embedder: Arc<dyn Embedder>,
    learned: Option<Arc<dyn LearnedAnswers>>,
    articles: Option<Arc<ArticleModel>>,
    current: RwLock<Option<(u64, Arc<KnowledgeBase>)>>,
}

impl Knowledge {
    /// The bundled articles only.
    pub fn articles_only(embedder: Arc<dyn Embedder>) -> Self {
        Self {
            embedder,
            learned: None,
            articles: None,
            current: RwLock::new(None),
        }
    }

    pub fn with_learned(embedder: Arc<dyn Embedder>, learned: Arc<dyn LearnedAnswers>) -> Self {
        Self {
            embedder,
            learned: Some(learned),
            articles: None,
            current: RwLock::new(None),
        }
    }

    /// Ranks with the article classifier too (see [`ArticleModel`]).
    pub fn with_article_model(mut self, articles: Arc<ArticleModel>) -> Self {
        self.articles = Some(articles);
        self
    }

    /// The embedder the knowledge base searches with, for the rest of the agent to share.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    pub async fn current(&self) -> Result<Arc<KnowledgeBase>, EmbedError> {
        let built = self.current.read().await.clone();
        if let Some((version, kb)) = &built {
            let current = match &self.learned {
                None => return Ok(kb.clone()),
                Some(source) => source.version().await,
            };
            match current {
                Ok(current) if current == *version => return Ok(kb.clone()),
                Ok(_) => {}
                Err(e) => {
                    // Answering from what was learned before beats not answering.
                    tracing::warn!(error = %e, "learned answers' version unavailable: searching what was built");
                    return Ok(kb.clone());
                }
            }
        }
        let learned = match &self.learned {
            Some(source) => source.approved().await.unwrap_or_else(|e| {
                // Answering from the articles alone beats not answering.
                tracing::warn!(error = %e, "learned answers unavailable: searching the articles only");
                Approved::default()
            }),
            None => Approved::default(),
        };
        let kb = KnowledgeBase::from_sources(bundled_articles(), &learned.answers, self.embedder.clone())?;
        let kb = Arc::new(match &self.articles {
            Some(articles) => kb.with_article_model(articles.clone()),
            None => kb,
        });
        *self.current.write().await = Some((learned.version, kb.clone()));
        Ok(kb)
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::domain::Category;
    use crate::ports::embedder::hashing::HashingEmbedder;
    use crate::ports::InfraError;

    struct Fixed(std::sync::Mutex<Vec<LearnedAnswer>>);

    #[async_trait]
    impl LearnedAnswers for Fixed {
        async fn approved(&self) -> Result<Approved, InfraError> {
            let answers = self.0.lock().unwrap().clone();
            Ok(Approved {
                version: answers.len() as u64,
                answers,
            })
        }

        async fn version(&self) -> Result<u64, InfraError> {
            Ok(self.0.lock().unwrap().len() as u64)
        }
    }

    #[tokio::test]
    async fn an_approved_answer_is_searched_from_the_next_turn_with_the_articles() {
        let figma = LearnedAnswer {
            id: "l-1".into(),
            question: "How do I show a Figma design on a card?".into(),
            answer: "Paste the Figma share link into the card description; Tandem shows a live preview.".into(),
            category: Some(Category::Technical),
        };
        let embedder = Arc::new(HashingEmbedder);
        let learned = Arc::new(Fixed(Default::default()));
        let knowledge = Knowledge::with_learned(embedder.clone(), learned.clone());
        let before = knowledge.current().await.unwrap();
        assert!(
            before.search("figma design preview on a card", 3).unwrap()[0]
                .passage
                .article
                != "learned:l-1"
        );
        // Approved meanwhile: searched from the next turn on.
        learned.0.lock().unwrap().push(figma);
        let kb = knowledge.current().await.unwrap();
        let hits = kb.search("figma design preview on a card", 3).unwrap();
        assert_eq!(hits[0].passage.article, "learned:l-1");
        assert_eq!(kb.article_category("learned:l-1"), Some(Category::Technical));
        let articles_only = Knowledge::articles_only(embedder).current().await.unwrap();
        assert_eq!(kb.len(), articles_only.len() + 1);
    }
}
