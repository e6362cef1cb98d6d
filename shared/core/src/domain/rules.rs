//! The form's rules, from `shared/webform-rules.json`: the one file the server, the browser
//! form and the tests read (categories, priorities, limits, the teams escalations go to).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct LengthRule {
    #[serde(default)]
    pub min: usize,
    pub max: usize,
}

#[derive(Debug, Deserialize)]
pub struct FormRules {
    pub name: LengthRule,
    pub subject: LengthRule,
    pub message: LengthRule,
    pub email: LengthRule,
    pub categories: Vec<String>,
    pub priorities: Vec<String>,
    pub default_priority: String,
    pub max_body_bytes: usize,
    /// Escalation reason → the team the status page names.
    pub escalation_teams: BTreeMap<String, String>,
}

pub static RULES: LazyLock<FormRules> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../../webform-rules.json")).expect("webform-rules.json is valid")
});

#[cfg(test)]
mod tests {
    use strum::VariantNames;

    use super::*;
    use crate::domain::{Category, EscalationReason, Priority};

    #[test]
    fn the_rules_file_and_the_domain_name_the_same_things() {
        assert_eq!(RULES.categories, Category::VARIANTS);
        assert_eq!(RULES.priorities, Priority::VARIANTS);
        assert!(Priority::VARIANTS.contains(&RULES.default_priority.as_str()));
        let reasons: Vec<&str> = RULES.escalation_teams.keys().map(String::as_str).collect();
        let mut expected = EscalationReason::VARIANTS.to_vec();
        expected.sort_unstable();
        assert_eq!(reasons, expected, "every escalation reason has a team, and only those");
    }
}
