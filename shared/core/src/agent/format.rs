//! Replies written for their channel (context/brand-voice.md): email with
//! greeting, answer, signature and ticket reference in at most 500 words; the
//! web form semi-formal in at most 300 words; WhatsApp short and split at
//! sentence boundaries below Twilio's 1600 characters per message.

use super::words::split_sentences;
use crate::domain::{Channel, EscalationReason, TicketId};

pub const SIGNATURE: &str = "Tandem Support";
pub const EMAIL_MAX_WORDS: usize = 500;
pub const WEB_FORM_MAX_WORDS: usize = 300;
/// Twilio's limit per WhatsApp message, in UTF-16 code units (an emoji counts twice).
pub const WHATSAPP_MAX_UNITS: usize = 1600;
/// What a WhatsApp answer should stay within when it can.
pub const WHATSAPP_PREFERRED_CHARS: usize = 300;

const SUPPORT_HOURS: &str = "Monday–Friday, 07:00–19:00 UTC";

/// The honest hand-off the customer gets when a person takes over. It names
/// no reason code and answers nothing of the escalated part.
pub fn handoff_text(reason: EscalationReason, channel: Channel) -> String {
    let opening = match reason {
        EscalationReason::Sentiment => "I'm sorry this has caused you so much trouble.",
        EscalationReason::Other if channel == Channel::Whatsapp => "Sorry — I can't complete this one myself.",
        EscalationReason::Other => "I'm sorry — this is something I can't complete myself.",
        _ => "Thanks for getting in touch.",
    };
    match channel {
        Channel::Whatsapp => format!("{opening} I've passed this to a member of our team and they'll reply here. Our team is online {SUPPORT_HOURS}."),
        _ => format!("{opening} I've passed your message to a member of our team, who will pick this up personally and reply to you. Our team works {SUPPORT_HOURS}; you don't need to write again."),
    }
}

pub fn ask_what_they_need() -> &'static str {
    "Thanks for your message! What can I help you with? Tell me a little about what you're trying to do in Tandem and I'll point you in the right direction."
}

pub fn decline_request() -> &'static str {
    "I can't help with that request: I can only discuss your own account and tickets, and I don't share internal instructions. \
     I'm happy to help with anything about using Tandem — boards, timelines, automations, integrations, your account or billing details."
}

pub fn describe_tandem() -> &'static str {
    "I can't compare Tandem with other products, but here's what Tandem does well for teams: boards and cards for day-to-day work, \
     a timeline view with card dependencies for planning, automations that move and update cards for you, templates, guest access for clients, \
     and integrations with Slack, GitHub, Google Drive, Microsoft Teams and Zapier, plus a REST API and webhooks. \
     If you're moving over, Tandem can import boards from other tools and from CSV. Tell me what your team needs and I'll point you to the right features."
}

fn first_name(name: Option<&str>) -> Option<&str> {
    name.and_then(|n| n.split_whitespace().next())
}

/// Keeps whole sentences while they fit in `max_words`.
fn limit_words(text: &str, max_words: usize) -> String {
    if text.split_whitespace().count() <= max_words {
        return text.to_owned();
    }
    let mut kept = String::new();
    let mut words = 0;
    for sentence in split_sentences(text) {
        let n = sentence.split_whitespace().count();
        if words + n > max_words {
            break;
        }
        words += n;
        kept.push_str(sentence);
    }
    if kept.trim().is_empty() {
        // One enormous sentence: cut it at the word limit.
        kept = text.split_whitespace().take(max_words).collect::<Vec<_>>().join(" ");
    }
    kept.trim_end().to_owned()
}

/// The full reply as the customer will read it.
pub fn format_reply(channel: Channel, customer_name: Option<&str>, ticket: &TicketId, answer: &str) -> String {
    let answer = answer.trim();
    match channel {
        Channel::Email => {
            let greeting = first_name(customer_name).map_or_else(|| "Hi there,".to_owned(), |n| format!("Hi {n},"));
            let frame = format!("{greeting}\n\n\n\nBest regards,\n— {SIGNATURE}\n\nTicket reference: {ticket}");
            let body = limit_words(answer, EMAIL_MAX_WORDS - frame.split_whitespace().count());
            format!("{greeting}\n\n{body}\n\nBest regards,\n— {SIGNATURE}\n\nTicket reference: {ticket}")
        }
        Channel::WebForm => {
            let greeting = first_name(customer_name).map_or_else(|| "Hello,".to_owned(), |n| format!("Hello {n},"));
            let frame = format!("{greeting}\n\n\n\nKind regards,\n— {SIGNATURE} (ticket {ticket})");
            let body = limit_words(answer, WEB_FORM_MAX_WORDS - frame.split_whitespace().count());
            format!("{greeting}\n\n{body}\n\nKind regards,\n— {SIGNATURE} (ticket {ticket})")
        }
        Channel::Whatsapp => {
            let greeting = first_name(customer_name).map_or_else(|| "Hi!".to_owned(), |n| format!("Hi {n}!"));
            format!("{greeting} {answer}\nRef: {ticket}")
        }
    }
}

/// A WhatsApp reply as the messages Twilio will carry, each within its limit,
/// split between sentences (or, for a sentence longer than a message, between words).
pub fn whatsapp_messages(text: &str) -> Vec<String> {
    let units = |s: &str| s.encode_utf16().count();
    let mut messages = Vec::new();
    let mut current = String::new();
    let pieces = split_sentences(text)
        .into_iter()
        .flat_map(|sentence| fitting_pieces(sentence, WHATSAPP_MAX_UNITS));
    for piece in pieces {
        if units(&current) + units(&piece) > WHATSAPP_MAX_UNITS && !current.is_empty() {
            messages.push(current.trim_end().to_owned());
            current.clear();
        }
        current.push_str(&piece);
    }
    if !current.trim().is_empty() {
        messages.push(current.trim_end().to_owned());
    }
    messages
}

/// A sentence as pieces of at most `max` UTF-16 units: whole, else its words,
/// else (for a "word" longer than a message) runs of characters.
fn fitting_pieces(sentence: &str, max: usize) -> Vec<String> {
    let units = |s: &str| s.encode_utf16().count();
    if units(sentence) <= max {
        return vec![sentence.to_owned()];
    }
    sentence
        .split_inclusive(' ')
        .flat_map(|word| {
            if units(word) <= max {
                return vec![word.to_owned()];
            }
            let mut runs = vec![String::new()];
            for c in word.chars() {
                if units(runs.last().expect("never empty")) + c.len_utf16() > max {
                    runs.push(String::new());
                }
                runs.last_mut().expect("never empty").push(c);
            }
            runs
        })
        .collect()
}

/// The subject of an emailed reply: threaded under the customer's subject.
pub fn reply_subject(subject: &str, ticket: &TicketId) -> String {
    let subject = subject.trim();
    let base = if subject.to_lowercase().starts_with("re:") {
        subject.to_owned()
    } else {
        format!("Re: {subject}")
    };
    format!("{base} [{ticket}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> TicketId {
        TicketId::parse("tkt_0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn email_replies_greet_sign_and_reference_the_ticket() {
        let text = format_reply(Channel::Email, Some("Maya Lin"), &ticket(), "Go to Settings.");
        assert!(text.starts_with("Hi Maya,\n\nGo to Settings."));
        assert!(text.ends_with("Ticket reference: tkt_0123456789abcdef0123456789abcdef"));
        assert_eq!(
            reply_subject("Re: Invite", &ticket()),
            "Re: Invite [tkt_0123456789abcdef0123456789abcdef]"
        );
    }

    #[test]
    fn replies_stay_within_their_channel_word_limits() {
        let long = "This sentence has exactly eight words in it. ".repeat(100);
        let email = format_reply(Channel::Email, Some("Maya"), &ticket(), &long);
        assert!(
            email.split_whitespace().count() <= EMAIL_MAX_WORDS,
            "{}",
            email.split_whitespace().count()
        );
        assert!(email.ends_with(&format!("Ticket reference: {}", ticket())));
        let web = format_reply(Channel::WebForm, None, &ticket(), &long);
        assert!(web.split_whitespace().count() <= WEB_FORM_MAX_WORDS);
        assert!(web.contains("in it.\n\nKind regards"), "cut after a whole sentence");
    }

    #[test]
    fn whatsapp_replies_split_between_sentences_below_twilios_limit() {
        let sentence = "Open the board menu and choose Export to CSV. ";
        let text = sentence.repeat(80);
        let parts = whatsapp_messages(&text);
        assert!(parts.len() >= 3);
        assert!(parts.iter().all(|p| p.encode_utf16().count() <= WHATSAPP_MAX_UNITS));
        assert!(parts.iter().all(|p| p.ends_with("CSV.")));
        assert_eq!(parts.join(" "), text.trim_end());
        // Emoji count double toward the limit.
        let emoji = "🙂".repeat(1000);
        assert!(whatsapp_messages(&emoji)
            .iter()
            .all(|p| p.encode_utf16().count() <= WHATSAPP_MAX_UNITS));
        assert_eq!(whatsapp_messages("Short answer."), ["Short answer."]);
    }
}
