//! The ticket category of a message, for channels where the customer did not
//! choose one (email, WhatsApp). Rules first, then the category of the
//! knowledge-base article that answers it, else `general`.

use crate::domain::Category;

use super::words::{contains_any, Words};

const BILLING: &[&str] = &[
    "invoice",
    "invoices",
    "billing",
    "billed",
    "charge",
    "charged",
    "charges",
    "payment",
    "refund",
    "vat",
    "receipt",
    "subscription",
    "renewal",
    "renewed",
    "discount",
    "price",
    "pricing",
    "cost",
    "quote",
    "credit card",
    "money back",
    "seats billed",
];
const BUG: &[&str] = &[
    "bug",
    "broken",
    "crash",
    "crashes",
    "crashed",
    "disappeared",
    "none of it saved",
    "not saving",
    "didn't save",
    "takes forever",
    "won't load",
    "wont load",
    "doesn't load",
    "data loss",
    "lost a whole",
    "lost all",
];
const FEEDBACK: &[&str] = &[
    "just wanted to say",
    "feature request",
    "suggestion",
    "would love it if",
    "feedback",
];

/// `answered_by` is the category of the best-matching article, when one matched.
/// A category, and how sure the rule that chose it is (0..1), recorded with the decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classified {
    pub category: Category,
    pub confidence: f64,
}

/// How sure each rule is: a customer's words that name the topic ("invoice", "crash") are
/// strong evidence, the category of the article that answered is as good as the match,
/// and `general` when nothing points anywhere is a guess.
const KEYWORD_CONFIDENCE: f64 = 0.9;
const FALLBACK_CONFIDENCE: f64 = 0.5;

/// `answered_by`: the category of the article that answered, and the answer's relevance.
pub fn classify(text: &str, sentiment: f64, answered_by: Option<(Category, f64)>) -> Classified {
    let words = Words::new(text);
    let keyword = |category| Classified {
        category,
        confidence: KEYWORD_CONFIDENCE,
    };
    if contains_any(&words, FEEDBACK) && sentiment > 0.3 {
        keyword(Category::Feedback)
    } else if contains_any(&words, BUG) {
        keyword(Category::BugReport)
    } else if contains_any(&words, BILLING) {
        keyword(Category::Billing)
    } else {
        match answered_by {
            Some((category, relevance)) => Classified {
                category,
                confidence: relevance,
            },
            None => Classified {
                category: Category::General,
                confidence: FALLBACK_CONFIDENCE,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_come_before_the_article_category() {
        let category = |text, sentiment, answered_by| classify(text, sentiment, answered_by).category;
        assert_eq!(
            category("Where can I download last year's invoices?", 0.0, None),
            Category::Billing
        );
        assert_eq!(
            category(
                "The board takes forever to load",
                -0.2,
                Some((Category::Technical, 0.7))
            ),
            Category::BugReport
        );
        assert_eq!(
            category("Just wanted to say the timeline is great!", 0.8, None),
            Category::Feedback
        );
        let slack = classify("How do I connect Slack?", 0.0, Some((Category::Technical, 0.7)));
        assert_eq!(
            slack,
            Classified {
                category: Category::Technical,
                confidence: 0.7
            }
        );
        assert_eq!(
            classify("👍", 0.0, None),
            Classified {
                category: Category::General,
                confidence: 0.5
            }
        );
    }
}
