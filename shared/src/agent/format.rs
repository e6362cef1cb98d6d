//! Replies written for their channel: greeting, answer, signature and ticket
//! reference for email; semi-formal for the web form.

use crate::domain::{Channel, EscalationReason, TicketId};

pub const SIGNATURE: &str = "Tandem Support";

/// The honest hand-off the customer gets when a person takes over.
pub fn handoff_text(reason: EscalationReason) -> String {
    let why = match reason {
        EscalationReason::Pricing => "Questions about pricing and plans are handled by our team directly",
        EscalationReason::Refund => "Refunds are handled by our billing team directly",
        EscalationReason::Legal => "Your message needs the attention of a member of our team",
        EscalationReason::Sentiment => "I'm sorry this has been frustrating. I want a member of our team to look at this personally",
        EscalationReason::HumanRequest => "You asked to speak with a person",
        EscalationReason::NoAnswer => "I couldn't find a reliable answer to your question in our documentation",
        EscalationReason::Other => "Your request needs a member of our team",
    };
    format!("{why}, so I've passed your ticket to a member of our support team. They will reply to you personally; you don't need to write again.")
}

fn first_name(name: Option<&str>) -> Option<&str> {
    name.and_then(|n| n.split_whitespace().next())
}

/// The full reply as the customer will read it.
pub fn format_reply(
    channel: Channel,
    customer_name: Option<&str>,
    ticket: &TicketId,
    answer: &str,
) -> String {
    let answer = answer.trim();
    match channel {
        Channel::Email => {
            let greeting = first_name(customer_name)
                .map_or_else(|| "Hi there,".to_owned(), |n| format!("Hi {n},"));
            format!("{greeting}\n\n{answer}\n\nBest regards,\n— {SIGNATURE}\n\nTicket reference: {ticket}")
        }
        Channel::WebForm => {
            let greeting = first_name(customer_name)
                .map_or_else(|| "Hello,".to_owned(), |n| format!("Hello {n},"));
            format!("{greeting}\n\n{answer}\n\nKind regards,\n— {SIGNATURE} (ticket {ticket})")
        }
        Channel::Whatsapp => answer.to_owned(),
    }
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

    #[test]
    fn email_replies_greet_sign_and_reference_the_ticket() {
        let ticket = TicketId::parse("tkt_0123456789abcdef0123456789abcdef").unwrap();
        let text = format_reply(Channel::Email, Some("Maya Lin"), &ticket, "Go to Settings.");
        assert!(text.starts_with("Hi Maya,\n\nGo to Settings."));
        assert!(text.ends_with("Ticket reference: tkt_0123456789abcdef0123456789abcdef"));
        assert_eq!(
            reply_subject("Re: Invite", &ticket),
            "Re: Invite [tkt_0123456789abcdef0123456789abcdef]"
        );
    }
}
