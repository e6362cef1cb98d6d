//! Replies written for their channel (context/brand-voice.md): email with
//! greeting, answer, signature and ticket reference in at most 500 words; the
//! web form semi-formal in at most 300 words; WhatsApp short and split at
//! sentence boundaries below Twilio's 1600 characters per message.

use super::words::split_sentences;
use crate::domain::{Channel, EscalationReason, Language, TicketId};

pub const SIGNATURE: &str = "Tandem Support";
pub const EMAIL_MAX_WORDS: usize = 500;
pub const WEB_FORM_MAX_WORDS: usize = 300;
/// Twilio's limit per WhatsApp message, in UTF-16 code units (an emoji counts twice).
pub const WHATSAPP_MAX_UNITS: usize = 1600;
/// What a WhatsApp answer should stay within when it can.
pub const WHATSAPP_PREFERRED_CHARS: usize = 300;

/// The words around a reply, per language the team supports (context/brand-voice.md).
struct Phrases {
    /// Email greeting ("Hi {name},") and without a name.
    hi: &'static str,
    hi_there: &'static str,
    /// Web form greeting ("Hello {name},") and without a name.
    hello: &'static str,
    hello_there: &'static str,
    best_regards: &'static str,
    kind_regards: &'static str,
    ticket_reference: &'static str,
    ticket: &'static str,
    thanks: &'static str,
    sorry_trouble: &'static str,
    sorry_cannot: &'static str,
    passed_on_whatsapp: &'static str,
    passed_on: &'static str,
}

const ENGLISH: Phrases = Phrases {
    hi: "Hi",
    hi_there: "Hi there,",
    hello: "Hello",
    hello_there: "Hello,",
    best_regards: "Best regards",
    kind_regards: "Kind regards",
    ticket_reference: "Ticket reference",
    ticket: "ticket",
    thanks: "Thanks for getting in touch.",
    sorry_trouble: "I'm sorry this has caused you so much trouble.",
    sorry_cannot: "I'm sorry — this is something I can't complete myself.",
    passed_on_whatsapp: "I've passed this to a member of our team and they'll reply here. Our team is online Monday–Friday, 07:00–19:00 UTC.",
    passed_on: "I've passed your message to a member of our team, who will pick this up personally and reply to you. Our team works Monday–Friday, 07:00–19:00 UTC; you don't need to write again.",
};

const SPANISH: Phrases = Phrases {
    hi: "Hola",
    hi_there: "Hola,",
    hello: "Hola",
    hello_there: "Hola,",
    best_regards: "Un saludo",
    kind_regards: "Un cordial saludo",
    ticket_reference: "Referencia del ticket",
    ticket: "ticket",
    thanks: "Gracias por escribirnos.",
    sorry_trouble: "Siento mucho todas las molestias que esto te ha causado.",
    sorry_cannot: "Lo siento: esto es algo que no puedo resolver yo.",
    passed_on_whatsapp: "He pasado tu mensaje a una persona de nuestro equipo, que te responderá por aquí. Estamos disponibles de lunes a viernes, de 07:00 a 19:00 UTC.",
    passed_on: "He pasado tu mensaje a una persona de nuestro equipo, que se encargará personalmente y te responderá. Trabajamos de lunes a viernes, de 07:00 a 19:00 UTC; no hace falta que vuelvas a escribir.",
};

const GERMAN: Phrases = Phrases {
    hi: "Hallo",
    hi_there: "Hallo,",
    hello: "Hallo",
    hello_there: "Hallo,",
    best_regards: "Viele Grüße",
    kind_regards: "Freundliche Grüße",
    ticket_reference: "Ticket-Referenz",
    ticket: "Ticket",
    thanks: "Danke für deine Nachricht.",
    sorry_trouble: "Es tut mir leid, dass dir das so viel Ärger bereitet hat.",
    sorry_cannot: "Das kann ich leider nicht selbst erledigen.",
    passed_on_whatsapp: "Ich habe deine Nachricht an unser Team weitergegeben; jemand antwortet dir hier. Wir sind Montag–Freitag, 07:00–19:00 UTC, erreichbar.",
    passed_on: "Ich habe deine Nachricht an eine Person aus unserem Team weitergegeben, die sich persönlich darum kümmert und dir antwortet. Wir arbeiten Montag–Freitag, 07:00–19:00 UTC; du musst nicht noch einmal schreiben.",
};

const PORTUGUESE: Phrases = Phrases {
    hi: "Olá",
    hi_there: "Olá,",
    hello: "Olá",
    hello_there: "Olá,",
    best_regards: "Um abraço",
    kind_regards: "Atenciosamente",
    ticket_reference: "Referência do ticket",
    ticket: "ticket",
    thanks: "Obrigado por entrar em contato.",
    sorry_trouble: "Sinto muito por todo o transtorno que isso causou.",
    sorry_cannot: "Desculpe: isso é algo que não consigo resolver sozinho.",
    passed_on_whatsapp: "Passei sua mensagem para uma pessoa da nossa equipe, que vai responder por aqui. Estamos online de segunda a sexta, das 07:00 às 19:00 UTC.",
    passed_on: "Passei sua mensagem para uma pessoa da nossa equipe, que vai cuidar disso pessoalmente e responder a você. Trabalhamos de segunda a sexta, das 07:00 às 19:00 UTC; não é preciso escrever de novo.",
};

const FRENCH: Phrases = Phrases {
    hi: "Bonjour",
    hi_there: "Bonjour,",
    hello: "Bonjour",
    hello_there: "Bonjour,",
    best_regards: "Bien cordialement",
    kind_regards: "Cordialement",
    ticket_reference: "Référence du ticket",
    ticket: "ticket",
    thanks: "Merci de nous avoir écrit.",
    sorry_trouble: "Je suis désolé pour tous les désagréments que cela vous a causés.",
    sorry_cannot: "Je suis désolé : je ne peux pas traiter cela moi-même.",
    passed_on_whatsapp: "J'ai transmis votre message à une personne de notre équipe, qui vous répondra ici. Notre équipe est disponible du lundi au vendredi, de 07:00 à 19:00 UTC.",
    passed_on: "J'ai transmis votre message à une personne de notre équipe, qui s'en occupera personnellement et vous répondra. Nous travaillons du lundi au vendredi, de 07:00 à 19:00 UTC ; inutile de nous réécrire.",
};

fn phrases(language: Language) -> &'static Phrases {
    match language {
        Language::Spanish => &SPANISH,
        Language::German => &GERMAN,
        Language::Portuguese => &PORTUGUESE,
        Language::French => &FRENCH,
        Language::English | Language::Unsupported => &ENGLISH,
    }
}

/// The honest hand-off the customer gets when a person takes over, in their language. It
/// names no reason code and answers nothing of the escalated part.
pub fn handoff_text(reason: EscalationReason, channel: Channel, language: Language) -> String {
    let words = phrases(language);
    let opening = match reason {
        EscalationReason::Sentiment => words.sorry_trouble,
        EscalationReason::Other => words.sorry_cannot,
        _ => words.thanks,
    };
    match channel {
        Channel::Whatsapp => format!("{opening} {}", words.passed_on_whatsapp),
        _ => format!("{opening} {}", words.passed_on),
    }
}

pub fn ask_what_they_need() -> &'static str {
    "Thanks for your message! What can I help you with? Tell me a little about what you're trying to do in Tandem and I'll point you in the right direction."
}

/// The answer to a message that brought only media (a photo, a voice note): its files are
/// kept on the ticket for a person, never opened by the agent.
pub fn media_only() -> &'static str {
    "Thanks! I can only read text: I can't open photos, voice notes, videos or files. Could you type your question here?"
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
pub fn format_reply(
    channel: Channel,
    language: Language,
    customer_name: Option<&str>,
    ticket: &TicketId,
    answer: &str,
) -> String {
    let answer = answer.trim();
    let words = phrases(language);
    let name = first_name(customer_name);
    match channel {
        Channel::Email => {
            let greeting = name.map_or_else(|| words.hi_there.to_owned(), |n| format!("{} {n},", words.hi));
            let closing = format!(
                "{},\n— {SIGNATURE}\n\n{}: {ticket}",
                words.best_regards, words.ticket_reference
            );
            let frame = format!("{greeting} {closing}");
            let body = limit_words(answer, EMAIL_MAX_WORDS - frame.split_whitespace().count());
            format!("{greeting}\n\n{body}\n\n{closing}")
        }
        Channel::WebForm => {
            let greeting = name.map_or_else(|| words.hello_there.to_owned(), |n| format!("{} {n},", words.hello));
            let closing = format!("{},\n— {SIGNATURE} ({} {ticket})", words.kind_regards, words.ticket);
            let frame = format!("{greeting} {closing}");
            let body = limit_words(answer, WEB_FORM_MAX_WORDS - frame.split_whitespace().count());
            format!("{greeting}\n\n{body}\n\n{closing}")
        }
        Channel::Whatsapp => {
            let greeting = name.map_or_else(|| format!("{}!", words.hi), |n| format!("{} {n}!", words.hi));
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
        let text = format_reply(
            Channel::Email,
            Language::English,
            Some("Maya Lin"),
            &ticket(),
            "Go to Settings.",
        );
        assert!(text.starts_with("Hi Maya,\n\nGo to Settings."));
        assert!(text.ends_with("Ticket reference: tkt_0123456789abcdef0123456789abcdef"));
        assert_eq!(
            reply_subject("Re: Invite", &ticket()),
            "Re: Invite [tkt_0123456789abcdef0123456789abcdef]"
        );
    }

    #[test]
    fn hand_offs_are_written_in_the_customers_language() {
        let text = handoff_text(EscalationReason::Refund, Channel::Email, Language::Spanish);
        let reply = format_reply(
            Channel::Email,
            Language::Spanish,
            Some("Lucía Fernández"),
            &ticket(),
            &text,
        );
        assert!(reply.starts_with("Hola Lucía,\n\nGracias por escribirnos."), "{reply}");
        assert!(
            reply.ends_with(&format!("Referencia del ticket: {}", ticket())),
            "{reply}"
        );
        let italian = handoff_text(EscalationReason::Other, Channel::Whatsapp, Language::Unsupported);
        assert!(
            italian.starts_with("I'm sorry"),
            "unsupported languages get English: {italian}"
        );
    }

    #[test]
    fn replies_stay_within_their_channel_word_limits() {
        let long = "This sentence has exactly eight words in it. ".repeat(100);
        let email = format_reply(Channel::Email, Language::English, Some("Maya"), &ticket(), &long);
        assert!(
            email.split_whitespace().count() <= EMAIL_MAX_WORDS,
            "{}",
            email.split_whitespace().count()
        );
        assert!(email.ends_with(&format!("Ticket reference: {}", ticket())));
        let web = format_reply(Channel::WebForm, Language::English, None, &ticket(), &long);
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
