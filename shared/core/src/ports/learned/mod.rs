//! Answers learned from resolved tickets. A person writes the answer when they resolve an
//! escalated ticket; only once a person approves it does the agent search it.

use async_trait::async_trait;

use super::InfraError;
use crate::domain::Category;

#[derive(Debug, Clone, PartialEq)]
pub struct LearnedAnswer {
    pub id: String,
    /// The question as customers ask it: searched like an article title.
    pub question: String,
    pub answer: String,
    pub category: Option<Category>,
}

/// The approved answers as of one version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Approved {
    pub version: u64,
    pub answers: Vec<LearnedAnswer>,
}

/// Where approved learned answers are kept.
#[async_trait]
pub trait LearnedAnswers: Send + Sync {
    /// Only the answers a person approved, with their [`Self::version`] (one read).
    async fn approved(&self) -> Result<Approved, InfraError>;

    /// Moves whenever an answer is approved: the knowledge base is rebuilt when it did.
    async fn version(&self) -> Result<u64, InfraError>;
}
