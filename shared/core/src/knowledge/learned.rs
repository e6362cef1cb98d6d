//! The knowledge base kept current with the approved learned answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

use super::{bundled_articles, ArticleModel, KnowledgeBase, Passage};
use crate::ports::embedder::{EmbedError, Embedder};
use crate::ports::learned::{LearnedAnswer, LearnedAnswers};

/// Learned answers appear in search results as articles named `learned:<id>`.
const LEARNED_PREFIX: &str = "learned:";

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

/// The knowledge base the agent searches: the bundled articles plus the
/// approved learned answers, rebuilt when older than `refresh` so an approval
/// reaches running functions within minutes.
pub struct Knowledge {
    embedder: Arc<dyn Embedder>,
    learned: Option<Arc<dyn LearnedAnswers>>,
    refresh: Duration,
    articles: Option<Arc<ArticleModel>>,
    current: RwLock<Option<(Instant, Arc<KnowledgeBase>)>>,
}

impl Knowledge {
    /// The bundled articles only.
    pub fn articles_only(embedder: Arc<dyn Embedder>) -> Self {
        Self {
            embedder,
            learned: None,
            refresh: Duration::MAX,
            articles: None,
            current: RwLock::new(None),
        }
    }

    pub fn with_learned(embedder: Arc<dyn Embedder>, learned: Arc<dyn LearnedAnswers>, refresh: Duration) -> Self {
        Self {
            embedder,
            learned: Some(learned),
            refresh,
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
        if let Some((built, kb)) = self.current.read().await.as_ref() {
            if built.elapsed() < self.refresh {
                return Ok(kb.clone());
            }
        }
        let mut slot = self.current.write().await;
        if let Some((built, kb)) = slot.as_ref() {
            if built.elapsed() < self.refresh {
                return Ok(kb.clone());
            }
        }
        let learned = match &self.learned {
            Some(source) => source.approved().await.unwrap_or_else(|e| {
                // Answering from the articles alone beats not answering.
                tracing::warn!(error = %e, "learned answers unavailable: searching the articles only");
                Vec::new()
            }),
            None => Vec::new(),
        };
        let kb = KnowledgeBase::from_sources(bundled_articles(), &learned, self.embedder.clone())?;
        let kb = Arc::new(match &self.articles {
            Some(articles) => kb.with_article_model(articles.clone()),
            None => kb,
        });
        *slot = Some((Instant::now(), kb.clone()));
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

    struct Fixed(Vec<LearnedAnswer>);

    #[async_trait]
    impl LearnedAnswers for Fixed {
        async fn approved(&self) -> Result<Vec<LearnedAnswer>, InfraError> {
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn approved_learned_answers_are_searched_with_the_articles() {
        let figma = LearnedAnswer {
            id: "l-1".into(),
            question: "How do I show a Figma design on a card?".into(),
            answer: "Paste the Figma share link into the card description; Tandem shows a live preview.".into(),
            category: Some(Category::Technical),
        };
        let embedder = Arc::new(HashingEmbedder);
        let knowledge =
            Knowledge::with_learned(embedder.clone(), Arc::new(Fixed(vec![figma])), Duration::from_secs(60));
        let kb = knowledge.current().await.unwrap();
        let hits = kb.search("figma design preview on a card", 3).unwrap();
        assert_eq!(hits[0].passage.article, "learned:l-1");
        assert_eq!(kb.article_category("learned:l-1"), Some(Category::Technical));
        let articles_only = Knowledge::articles_only(embedder).current().await.unwrap();
        assert_eq!(kb.len(), articles_only.len() + 1);
    }
}
