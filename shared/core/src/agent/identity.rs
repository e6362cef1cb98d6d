//! Linking a WhatsApp number to a customer's email address, on proof. The number is proven
//! (Twilio signed the message it came in); an address typed on WhatsApp is only a claim.
//! The agent emails a one-time code to the address and links the two only when the code
//! comes back on WhatsApp: within [`CODE_LIFETIME`], in at most [`MAX_ATTEMPTS`] tries.
//! Until then it reveals nothing about the address (the same answer whether or not anyone
//! owns it) and sees only the number's own history.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use regex::Regex;

use super::words::{contains_any, Words};
use super::AgentPorts;
use crate::domain::{
    parse_email_address, secret, Channel, EmailAddress, IdentityProof, MessageId, OutboundReply, QueuedMessage,
};
use crate::ports::customers::{phone_key, Linked};
use crate::ports::tickets::{CodeAttempt, CodeSent, PendingCode};
use crate::ProcessingError;

/// How long a code stays good.
pub const CODE_LIFETIME: Duration = Duration::minutes(10);
/// Tries at one code before it is dead.
pub const MAX_ATTEMPTS: u32 = 5;
/// A message this long or shorter that holds an address is the customer giving theirs; a
/// longer one may only mention someone's (a colleague's) and gets an ordinary answer.
const MAX_WORDS_GIVING_ADDRESS: usize = 15;

/// Requests about the customer's own records, which only a proven identity may see.
const OWN_RECORDS: &[&str] = &[
    "what i asked",
    "what did i ask",
    "my previous ticket",
    "my previous tickets",
    "my last ticket",
    "my other ticket",
    "my earlier message",
    "my ticket history",
    "my account details",
    "details of my account",
    "my order history",
];

const CODE_SENT: &str = "I've sent a 6-digit code to that address. Reply here with the code within 10 minutes to link this WhatsApp number to your account. Until then I can only see this WhatsApp conversation.";
const LINKED: &str = "Thanks, that's confirmed: this WhatsApp number is now linked to your account, so I can see your earlier conversations with us. What can I help you with?";
const ALREADY_LINKED: &str = "This WhatsApp number is already linked to that address. What can I help you with?";
const EXPIRED: &str = "That code has expired. Send me your email address again and I'll send you a new one.";
const EXHAUSTED: &str = "That code can't be used any more after too many tries. Send me your email address again and I'll send you a new one.";
const ASK_FOR_ADDRESS: &str = "For now I can only see this WhatsApp conversation. To look at your account, tell me the email address it's registered under and I'll send a one-time code there to confirm it's you.";
const CODE_EMAIL_SUBJECT: &str = "Your Tandem verification code";

static CODE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*(\d{3})\s?(\d{3})\s*$").expect("valid regex"));
static ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[^\s<>(),;:]+@[^\s<>(),;:]+\.[^\s<>(),;:]*[A-Za-z]").expect("valid regex"));

/// What the identity step answers, with what it changes.
pub(super) struct IdentityTurn {
    pub answer: String,
    pub code_sent: Option<CodeSent>,
    pub linked: Option<Linked>,
}

impl IdentityTurn {
    fn answer(text: impl Into<String>) -> Self {
        Self {
            answer: text.into(),
            code_sent: None,
            linked: None,
        }
    }
}

/// The id of the email that carries a turn's code: derived from the turn's reply, so a
/// redelivered turn finds it.
pub(super) fn code_email_id(reply: &MessageId) -> MessageId {
    MessageId::reply_to(reply)
}

/// The identity step of a turn on WhatsApp, when the customer's words are about identity: a
/// code coming back, an address given, a request for their own records before any proof.
pub(super) async fn step(
    ports: &AgentPorts,
    message: &QueuedMessage,
    own_words: &str,
    reply: &MessageId,
) -> Result<Option<IdentityTurn>, ProcessingError> {
    let Some(phone) = message.sender.phone.as_deref() else {
        return Ok(None);
    };
    if message.channel != Channel::Whatsapp || message.proof.is_none() {
        return Ok(None);
    }
    let customer = &message.customer_id;
    if let Some(code) = CODE.captures(own_words).map(|c| format!("{}{}", &c[1], &c[2])) {
        let now = Utc::now();
        let pending = match ports.verifications.attempt(customer, MAX_ATTEMPTS, now).await? {
            CodeAttempt::NoCode => return Ok(None),
            CodeAttempt::Expired => return Ok(Some(IdentityTurn::answer(EXPIRED))),
            CodeAttempt::Exhausted => return Ok(Some(IdentityTurn::answer(EXHAUSTED))),
            CodeAttempt::Counted(pending) => pending,
        };
        if !matches(&pending, &code) {
            let left = MAX_ATTEMPTS.saturating_sub(pending.attempts);
            let answer = match left {
                0 => EXHAUSTED.to_owned(),
                1 => "That code doesn't match. You have 1 more try.".to_owned(),
                n => format!("That code doesn't match. You have {n} more tries."),
            };
            tracing::info!(attempts = pending.attempts, "a wrong code");
            return Ok(Some(IdentityTurn::answer(answer)));
        }
        let links = &ports.identities;
        let linked = links
            .link_email(
                customer,
                &pending.email,
                IdentityProof::OneTimeCode,
                &phone_key(phone),
                now,
            )
            .await?;
        if let Some(from) = &linked.merged_from {
            ports.verifications.move_history(from, &linked.customer).await?;
        }
        ports.verifications.consume(customer).await?;
        tracing::info!(customer = %linked.customer, merged_from = ?linked.merged_from, "WhatsApp number linked by a one-time code");
        return Ok(Some(IdentityTurn {
            answer: LINKED.into(),
            code_sent: None,
            linked: Some(linked),
        }));
    }
    if let Some(email) = given_address(own_words) {
        if ports.identities.owner_of_email(&email).await?.as_ref() == Some(customer) {
            return Ok(Some(IdentityTurn::answer(ALREADY_LINKED)));
        }
        let code_sent = send_code(message, &email, phone, reply, Utc::now());
        tracing::info!("a one-time code is on its way to the address the customer gave");
        return Ok(Some(IdentityTurn {
            answer: CODE_SENT.into(),
            code_sent: Some(code_sent),
            linked: None,
        }));
    }
    if contains_any(&Words::new(own_words), OWN_RECORDS)
        && !ports.identities.channels(customer).await?.contains(&Channel::Email)
    {
        return Ok(Some(IdentityTurn::answer(ASK_FOR_ADDRESS)));
    }
    Ok(None)
}

/// The address a customer gives in a short message, if it is a valid one.
fn given_address(text: &str) -> Option<EmailAddress> {
    if text.split_whitespace().count() > MAX_WORDS_GIVING_ADDRESS {
        return None;
    }
    ADDRESS
        .find_iter(text)
        .find_map(|m| parse_email_address(m.as_str().trim_end_matches('.')).ok())
}

/// Whether the code is the pending one.
fn matches(pending: &PendingCode, code: &str) -> bool {
    secret::matches(&pending.digest, &pending.salt, code)
}

/// A new code for `email`, and the email that carries it.
fn send_code(
    message: &QueuedMessage,
    email: &EmailAddress,
    phone: &str,
    reply: &MessageId,
    now: DateTime<Utc>,
) -> CodeSent {
    // 128 random bits (UUID v4) reduced to six digits: the bias is far below one in 10^30.
    let code = format!("{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000);
    let salt = secret::new_token();
    let ending: String = phone
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let body = format!(
        "Hello,\n\nSomeone asked on WhatsApp to link the number ending in {ending} to the Tandem account of this address. \
         If that was you, reply to our WhatsApp message with this code within 10 minutes:\n\n{code}\n\n\
         If it wasn't you, ignore this email: nothing is linked without the code, and nothing about your account was shown.\n\nTandem Support"
    );
    CodeSent {
        customer: message.customer_id.clone(),
        code: PendingCode {
            email: email.clone(),
            digest: secret::digest(&salt, &code),
            salt,
            expires_at: now + CODE_LIFETIME,
            attempts: 0,
        },
        notice: OutboundReply {
            ticket_id: message.ticket.id.clone(),
            message_id: code_email_id(reply),
            channel: Channel::Email,
            recipient: email.to_string(),
            recipient_name: None,
            subject: CODE_EMAIL_SUBJECT.into(),
            body,
            correlation_id: message.correlation_id.clone(),
            confirm_token: None,
            in_reply_to: None,
            references: Vec::new(),
            received_at: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_addresses_are_recognised_only_as_customers_give_them() {
        assert!(CODE.is_match("123456") && CODE.is_match(" 123 456 "));
        assert!(!CODE.is_match("1234567") && !CODE.is_match("my code is 123456 thanks"));
        assert_eq!(
            given_address("my email is Bob@Example.com.").map(|e| e.to_string()),
            Some("Bob@Example.com".into())
        );
        assert_eq!(given_address("bob@localhost"), None, "not a public address");
        let long = "my colleague alice@example.com says the export button is greyed out on every board we own, why?";
        assert_eq!(given_address(long), None, "mentioning someone is not giving one's own");
    }

    #[test]
    fn a_code_matches_only_itself() {
        let pending = PendingCode {
            email: "bob@example.com".parse().unwrap(),
            digest: secret::digest("salt", "123456"),
            salt: "salt".into(),
            expires_at: Utc::now(),
            attempts: 1,
        };
        assert!(matches(&pending, "123456"));
        assert!(!matches(&pending, "123457"));
    }
}
