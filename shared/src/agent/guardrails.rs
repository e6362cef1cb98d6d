//! Rules enforced in code, before the model sees a message: whatever the
//! model would say, these messages go to a person.

use crate::domain::EscalationReason;

/// Words and phrases that send a message to a person, by reason. Matched on
/// whole words of the lower-cased message, in this order of precedence.
const RULES: &[(EscalationReason, &[&str])] = &[
    (
        EscalationReason::Legal,
        &[
            "lawyer",
            "lawyers",
            "sue",
            "suing",
            "attorney",
            "legal action",
            "lawsuit",
            "court",
            "solicitor",
        ],
    ),
    (
        EscalationReason::Refund,
        &[
            "refund",
            "refunds",
            "refunded",
            "money back",
            "chargeback",
            "reimburse",
        ],
    ),
    (
        EscalationReason::Pricing,
        &[
            "discount",
            "cheaper",
            "negotiate",
            "price match",
            "special price",
            "special deal",
            "better price",
            "coupon",
        ],
    ),
    (
        EscalationReason::HumanRequest,
        &[
            "human",
            "agent",
            "representative",
            "real person",
            "speak to someone",
            "talk to someone",
            "a person",
        ],
    ),
];

/// The reason this message must be escalated before any answer, if there is one.
pub fn escalation_before_answer(text: &str) -> Option<EscalationReason> {
    let words: Vec<String> = text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let joined = format!(" {} ", words.join(" "));
    RULES
        .iter()
        .find(|(_, phrases)| phrases.iter().any(|p| joined.contains(&format!(" {p} "))))
        .map(|(reason, _)| *reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_words_are_matched_as_whole_words() {
        assert_eq!(
            escalation_before_answer("I'll have my LAWYER call you"),
            Some(EscalationReason::Legal)
        );
        assert_eq!(
            escalation_before_answer("I want a refund."),
            Some(EscalationReason::Refund)
        );
        assert_eq!(
            escalation_before_answer("human"),
            Some(EscalationReason::HumanRequest)
        );
        assert_eq!(
            escalation_before_answer("Can I get a discount for 40 seats?"),
            Some(EscalationReason::Pricing)
        );
        // "agenda" and "issue" contain no escalation word.
        assert_eq!(
            escalation_before_answer("How do I share the meeting agenda board?"),
            None
        );
    }
}
