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
pub fn classify(text: &str, sentiment: f64, answered_by: Option<Category>) -> Category {
    let words = Words::new(text);
    if contains_any(&words, FEEDBACK) && sentiment > 0.3 {
        Category::Feedback
    } else if contains_any(&words, BUG) {
        Category::BugReport
    } else if contains_any(&words, BILLING) {
        Category::Billing
    } else {
        answered_by.unwrap_or(Category::General)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_come_before_the_article_category() {
        assert_eq!(
            classify("Where can I download last year's invoices?", 0.0, None),
            Category::Billing
        );
        assert_eq!(
            classify("The board takes forever to load", -0.2, Some(Category::Technical)),
            Category::BugReport
        );
        assert_eq!(
            classify("Just wanted to say the timeline is great!", 0.8, None),
            Category::Feedback
        );
        assert_eq!(
            classify("How do I connect Slack?", 0.0, Some(Category::Technical)),
            Category::Technical
        );
        assert_eq!(classify("👍", 0.0, None), Category::General);
    }
}
