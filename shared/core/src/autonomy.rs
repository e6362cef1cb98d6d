//! Progressive autonomy: whether an answer the agent drafted goes out on its own, per
//! channel and category, from `shared/autonomy.json` (or a deployment's own policy, the
//! same JSON). Hand-off notices are not answers: they are always sent.

use serde::Deserialize;

use crate::domain::{Category, Channel};

named_set!(AutonomyLevel {
    /// Every answer waits for a person's approval.
    Review,
    /// Sent when the agent's confidence reaches the rule's threshold, else held.
    Supervised,
    Autonomous,
});

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mode {
    pub mode: AutonomyLevel,
    /// For `supervised`: the lowest confidence (0..1) sent without review.
    #[serde(default)]
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    category: Option<Category>,
    #[serde(flatten)]
    mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutonomyPolicy {
    #[serde(rename = "//", default)]
    _comment: Option<String>,
    default: Mode,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    #[error("the autonomy policy is not valid JSON of the expected shape: {0}")]
    Shape(String),
    #[error("a supervised rule needs a threshold between 0 and 1")]
    Threshold,
}

/// What to do with an answer the agent drafted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Send,
    HoldForReview,
}

impl AutonomyPolicy {
    /// The policy shipped with the product: autonomous everywhere.
    pub fn bundled() -> Self {
        Self::parse(include_str!("../../autonomy.json")).expect("shared/autonomy.json is valid")
    }

    pub fn parse(json: &str) -> Result<Self, PolicyError> {
        let policy: Self = serde_json::from_str(json).map_err(|e| PolicyError::Shape(e.to_string()))?;
        let modes = std::iter::once(&policy.default).chain(policy.rules.iter().map(|r| &r.mode));
        for mode in modes {
            let valid = match (mode.mode, mode.threshold) {
                (AutonomyLevel::Supervised, Some(t)) => (0.0..=1.0).contains(&t),
                (AutonomyLevel::Supervised, None) => false,
                _ => true,
            };
            if !valid {
                return Err(PolicyError::Threshold);
            }
        }
        Ok(policy)
    }

    /// The mode for answers on `channel` about `category`: the most specific rule.
    pub fn mode(&self, channel: Channel, category: Category) -> &Mode {
        let specificity = |rule: &Rule| match (rule.channel, rule.category) {
            (Some(ch), Some(cat)) if ch == channel && cat == category => Some(3),
            (Some(ch), None) if ch == channel => Some(2),
            (None, Some(cat)) if cat == category => Some(1),
            _ => None,
        };
        self.rules
            .iter()
            .filter_map(|rule| specificity(rule).map(|s| (s, &rule.mode)))
            .max_by_key(|(s, _)| *s)
            .map_or(&self.default, |(_, mode)| mode)
    }

    /// Whether an answer with this confidence goes out now.
    pub fn release(&self, channel: Channel, category: Category, confidence: f64) -> Release {
        let mode = self.mode(channel, category);
        match mode.mode {
            AutonomyLevel::Autonomous => Release::Send,
            AutonomyLevel::Review => Release::HoldForReview,
            AutonomyLevel::Supervised if confidence >= mode.threshold.unwrap_or(1.0) => Release::Send,
            AutonomyLevel::Supervised => Release::HoldForReview,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_policy_sends_everything() {
        let policy = AutonomyPolicy::bundled();
        assert_eq!(policy.release(Channel::Email, Category::Billing, 0.0), Release::Send);
    }

    #[test]
    fn the_most_specific_rule_decides() {
        let policy = AutonomyPolicy::parse(
            r#"{"default": {"mode": "autonomous"}, "rules": [
                {"channel": "email", "mode": "review"},
                {"category": "billing", "mode": "supervised", "threshold": 0.8},
                {"channel": "email", "category": "technical", "mode": "autonomous"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            policy.release(Channel::Email, Category::General, 1.0),
            Release::HoldForReview
        );
        assert_eq!(policy.release(Channel::Email, Category::Technical, 0.0), Release::Send);
        assert_eq!(policy.release(Channel::WebForm, Category::Billing, 0.8), Release::Send);
        assert_eq!(
            policy.release(Channel::WebForm, Category::Billing, 0.79),
            Release::HoldForReview
        );
        assert_eq!(policy.release(Channel::Whatsapp, Category::General, 0.1), Release::Send);
    }

    #[test]
    fn bad_policies_are_refused_with_the_reason() {
        let missing = r#"{"default": {"mode": "supervised"}}"#;
        assert_eq!(AutonomyPolicy::parse(missing), Err(PolicyError::Threshold));
        let typo = r#"{"default": {"mode": "autonomus"}}"#;
        assert!(matches!(AutonomyPolicy::parse(typo), Err(PolicyError::Shape(_))));
    }
}
