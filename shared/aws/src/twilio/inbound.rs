//! An incoming WhatsApp message as Twilio's webhook posts it (form parameters), checked
//! and normalized: the sender's number in E.164, the media by reference.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use phonenumber::Mode;
use regex::Regex;
use support_core::domain::whatsapp::MAX_INBOUND_CHARS;
use support_core::domain::{text, Attachment, Channel, IdentityProof, InboundMessage, Sender};

/// Twilio sends at most ten media per message.
const MAX_MEDIA: usize = 10;

static MESSAGE_SID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Z]{2}[0-9a-f]{32}$").expect("valid regex"));
/// A WhatsApp user id that is not a phone number (e.g. `IN.2081978709342942`).
static WHATSAPP_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z]{2}\.[A-Za-z0-9_-]{1,64}$").expect("valid regex"));

/// Why an incoming message is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a message Twilio would send: a 400 with this reason (nothing to reply to).
    Invalid(String),
    /// A message from a customer that cannot be taken: the webhook answers them this (a
    /// reply in TwiML, which Twilio sends), and stores nothing.
    Answer(&'static str),
}

pub const EMPTY_MESSAGE: &str = "Your message arrived empty. What can I help you with? Please type your question here.";
pub const TOO_LONG: &str =
    "Your message is longer than I can take in one go. Could you send it again in shorter messages?";

/// The incoming message the webhook's parameters describe.
pub fn inbound_message(params: &[(String, String)], received_at: DateTime<Utc>) -> Result<InboundMessage, Refusal> {
    let mut first: HashMap<&str, &str> = HashMap::new();
    for (name, value) in params {
        first.entry(name.as_str()).or_insert(value.as_str());
    }
    let get = |name: &str| first.get(name).copied().unwrap_or_default();
    let sid = get("MessageSid");
    if !MESSAGE_SID.is_match(sid) {
        return Err(Refusal::Invalid(
            "MessageSid is missing or not a Twilio message SID".into(),
        ));
    }
    let from = get("From");
    let address = from
        .strip_prefix("whatsapp:")
        .ok_or_else(|| Refusal::Invalid("From is not a WhatsApp address (whatsapp:...)".into()))?;
    let phone = whatsapp_identity(address)
        .ok_or_else(|| Refusal::Invalid(format!("From `{address}` is neither a phone number nor a WhatsApp id")))?;
    // WhatsApp's own id of the number may predate a numbering change (Brazil's ninth digit):
    // the sender is the normalized number; a difference is worth knowing, never a refusal.
    let wa_id = get("WaId");
    if !wa_id.is_empty() && e164(&format!("+{wa_id}")).as_deref() != Some(phone.as_str()) {
        tracing::info!("WaId and From name the number differently: From is taken");
    }
    let media_count: usize = match get("NumMedia") {
        "" => 0,
        n => n
            .parse()
            .ok()
            .filter(|n| *n <= MAX_MEDIA)
            .ok_or_else(|| Refusal::Invalid(format!("NumMedia `{n}` is not 0 to {MAX_MEDIA}")))?,
    };
    let mut attachments = Vec::new();
    for i in 0..media_count {
        let url = get(&format!("MediaUrl{i}"));
        if !url.starts_with("https://") {
            return Err(Refusal::Invalid(format!("MediaUrl{i} is not an https URL")));
        }
        let content_type = match get(&format!("MediaContentType{i}")) {
            "" => "application/octet-stream",
            t => t,
        };
        attachments.push(Attachment {
            url: url.to_owned(),
            content_type: content_type.to_owned(),
        });
    }
    let body = text::clean_body(get("Body"));
    if text::is_blank(&body) && attachments.is_empty() {
        return Err(Refusal::Answer(EMPTY_MESSAGE));
    }
    if body.chars().count() > MAX_INBOUND_CHARS {
        return Err(Refusal::Answer(TOO_LONG));
    }
    Ok(InboundMessage {
        channel: Channel::Whatsapp,
        channel_message_id: sid.to_owned(),
        sender: Sender {
            name: text::clean_line(get("ProfileName")),
            email: None,
            phone: Some(phone),
        },
        subject: None,
        body,
        received_at,
        // One id from the webhook to the delivered reply: Twilio's own.
        correlation_id: sid.to_owned(),
        category: None,
        priority: None,
        proof: Some(IdentityProof::TwilioSender),
        attachments,
        email: None,
        original: None,
        follows_ticket: None,
    })
}

/// The sender's identity: a phone number in E.164, or a WhatsApp id that is not a number.
fn whatsapp_identity(address: &str) -> Option<String> {
    if WHATSAPP_ID.is_match(address) {
        return Some(address.to_owned());
    }
    if !address.starts_with('+') {
        return None;
    }
    e164(address)
}

/// A number in E.164, so one person is one customer however the number arrived. Mexican
/// mobiles may still come with the `1` dropped in 2019, Brazilian ones without the ninth
/// digit added by 2016: when the number as given is not valid and the corrected one is,
/// the corrected one is taken. A number the metadata does not know is kept as parsed:
/// a customer is never refused for a numbering plan newer than the library.
pub fn e164(number: &str) -> Option<String> {
    let parsed = phonenumber::parse(None, number).ok()?;
    let formatted = parsed.format().mode(Mode::E164).to_string();
    if parsed.is_valid() {
        return Some(formatted);
    }
    let corrected = match (parsed.code().value(), parsed.national().value().to_string()) {
        (52, national) if national.len() == 11 && national.starts_with('1') => format!("+52{}", &national[1..]),
        (55, national) if national.len() == 10 && matches!(national.as_bytes()[2], b'6'..=b'9') => {
            format!("+55{}9{}", &national[..2], &national[2..])
        }
        _ => return Some(formatted),
    };
    let valid = phonenumber::parse(None, &corrected)
        .ok()
        .filter(|p| p.is_valid())
        .map(|p| p.format().mode(Mode::E164).to_string());
    Some(valid.unwrap_or(formatted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const SID: &str = "SM0123456789abcdef0123456789abcdef";

    #[test]
    fn numbers_are_one_person_however_they_arrive() {
        assert_eq!(e164("+1 (415) 523-8886").as_deref(), Some("+14155238886"));
        assert_eq!(
            e164("+5215512345678").as_deref(),
            Some("+525512345678"),
            "Mexico's old mobile 1"
        );
        assert_eq!(
            e164("+551187654321").as_deref(),
            Some("+5511987654321"),
            "Brazil's ninth digit"
        );
        assert_eq!(
            e164("+5491123456789").as_deref(),
            Some("+5491123456789"),
            "Argentina's mobile 9 stays"
        );
        assert_eq!(
            e164("+447700900123").as_deref(),
            Some("+447700900123"),
            "unknown to the metadata, kept"
        );
        assert_eq!(e164("+999123"), None);
    }

    #[test]
    fn a_message_is_parsed_with_its_sender_and_media() {
        let message = inbound_message(
            &params(&[
                ("MessageSid", SID),
                ("From", "whatsapp:+5215512345678"),
                ("To", "whatsapp:+14155238886"),
                ("Body", "Hola\u{202e}!"),
                ("ProfileName", "Ana\u{0}"),
                ("WaId", "5215512345678"),
                ("NumMedia", "1"),
                (
                    "MediaUrl0",
                    "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
                ),
                ("MediaContentType0", "image/jpeg"),
            ]),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(message.sender.phone.as_deref(), Some("+525512345678"));
        assert_eq!(message.sender.name.as_deref(), Some("Ana"));
        assert_eq!(message.body, "Hola!");
        assert_eq!(message.attachments[0].content_type, "image/jpeg");
        assert_eq!(message.proof, Some(IdentityProof::TwilioSender));
        let id = inbound_message(
            &params(&[
                ("MessageSid", SID),
                ("From", "whatsapp:IN.2081978709342942"),
                ("Body", "hi"),
            ]),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(id.sender.phone.as_deref(), Some("IN.2081978709342942"));
    }

    #[test]
    fn bad_input_is_refused_or_answered() {
        let refused = |pairs: &[(&str, &str)]| inbound_message(&params(pairs), Utc::now()).unwrap_err();
        assert!(matches!(
            refused(&[("From", "whatsapp:+14155238886"), ("Body", "hi")]),
            Refusal::Invalid(_)
        ));
        assert!(matches!(
            refused(&[("MessageSid", SID), ("From", "+14155238886"), ("Body", "hi")]),
            Refusal::Invalid(_)
        ));
        assert!(matches!(
            refused(&[("MessageSid", SID), ("From", "whatsapp:hello"), ("Body", "hi")]),
            Refusal::Invalid(_)
        ));
        assert!(matches!(
            refused(&[
                ("MessageSid", SID),
                ("From", "whatsapp:+14155238886"),
                ("NumMedia", "1"),
                ("MediaUrl0", "file:///etc/passwd")
            ]),
            Refusal::Invalid(_)
        ));
        assert_eq!(
            refused(&[
                ("MessageSid", SID),
                ("From", "whatsapp:+14155238886"),
                ("Body", " \u{200b} ")
            ]),
            Refusal::Answer(EMPTY_MESSAGE)
        );
        let long = "a".repeat(MAX_INBOUND_CHARS + 1);
        assert_eq!(
            refused(&[("MessageSid", SID), ("From", "whatsapp:+14155238886"), ("Body", &long)]),
            Refusal::Answer(TOO_LONG)
        );
    }
}
