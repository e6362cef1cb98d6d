//! A raw message read with mail-parser (MIME structure, transfer encodings, charsets,
//! RFC 2047 words) and mapped into what the product keeps of it.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use mail_parser::decoders::html::html_to_text;
use mail_parser::{Addr, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use regex::Regex;

/// The most body text kept, in bytes: enough for any message a person writes, and a
/// bound on what a huge mail costs every step after the parse.
pub const MAX_TEXT_BYTES: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailFrom {
    pub name: Option<String>,
    pub address: String,
}

/// An attachment as the message declares it: noted for a person, never opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentNote {
    pub filename: Option<String>,
    /// `type/subtype`, lowercase.
    pub content_type: String,
    /// Decoded bytes.
    pub size: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEmail {
    /// Without angle brackets, as are the ids below.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    /// Oldest first, as the header lists them.
    pub references: Vec<String>,
    pub subject: Option<String>,
    pub from: Option<EmailFrom>,
    pub reply_to: Option<EmailFrom>,
    pub to: Vec<String>,
    pub date: Option<DateTime<Utc>>,
    /// The body as text (the text/plain part, else the HTML made readable), `\n` line ends.
    pub text: String,
    /// `text` was cut to [`MAX_TEXT_BYTES`].
    pub truncated: bool,
    pub attachments: Vec<AttachmentNote>,
    /// An auto-reply, a bounce or list mail: never to be answered.
    pub auto_generated: bool,
    /// The `Authentication-Results` headers, top (latest) first, each on one line.
    pub authentication_results: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailParseError {
    #[error("not an email: no header could be read")]
    NoHeaders,
}

/// The message in `raw`, read as well as it can be: a malformed part or header leaves
/// that field empty, never an error; only bytes with no header at all are not an email.
pub fn parse(raw: &[u8]) -> Result<ParsedEmail, EmailParseError> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|message| !message.headers().is_empty())
        .ok_or(EmailParseError::NoHeaders)?;
    let (text, truncated) = cut_to_limit(with_unix_line_ends(&body_text(&message)));
    Ok(ParsedEmail {
        message_id: message.message_id().filter(|id| !id.is_empty()).map(str::to_owned),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        subject: message.subject().filter(|s| !s.trim().is_empty()).map(str::to_owned),
        from: message.from().and_then(|a| a.first()).and_then(email_from),
        reply_to: message.reply_to().and_then(|a| a.first()).and_then(email_from),
        to: message
            .all_to()
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address())
            .map(str::to_owned)
            .collect(),
        date: message
            .date()
            .filter(|d| d.is_valid())
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        text,
        truncated,
        attachments: message
            .attachments()
            .filter(|part| !is_unsplit_multipart(part))
            .map(attachment_note)
            .collect(),
        auto_generated: is_auto_generated(&message),
        authentication_results: message
            .header_values(HeaderName::AuthenticationResults)
            .filter_map(HeaderValue::as_text)
            .map(|value| value.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect(),
    })
}

impl ParsedEmail {
    /// Whether the receiving mailbox proved the From address: the topmost
    /// `Authentication-Results` header from `authserv_id` (Gmail's is `mx.google.com`) says
    /// `dmarc=pass` for the From address's domain. Only the topmost counts, since it is the one
    /// the receiving server adds last; headers from other servers are anyone's to write.
    pub fn sender_authenticated(&self, authserv_id: &str) -> bool {
        let Some(from_domain) = self
            .from
            .as_ref()
            .and_then(|f| f.address.rsplit_once('@'))
            .map(|(_, domain)| domain)
            .filter(|domain| !domain.is_empty())
        else {
            return false;
        };
        self.authentication_results
            .iter()
            .map(|header| without_comments(header))
            .find(|header| authserv(header).is_some_and(|id| id.eq_ignore_ascii_case(authserv_id)))
            .is_some_and(|header| dmarc_passed_for(&header, from_domain))
    }
}

/// The authserv-id: the first word before the first `;` (a version number may follow it).
fn authserv(header: &str) -> Option<&str> {
    header.split(';').next()?.split_whitespace().next()
}

/// Whether one of the header's results is `dmarc=pass` with `header.from` the given domain.
fn dmarc_passed_for(header: &str, from_domain: &str) -> bool {
    header.split(';').skip(1).any(|result| {
        let mut properties = result.split_whitespace();
        properties.next().is_some_and(|r| r.eq_ignore_ascii_case("dmarc=pass"))
            && properties.any(|property| {
                property.split_once('=').is_some_and(|(key, value)| {
                    key.eq_ignore_ascii_case("header.from") && value.trim_matches('"').eq_ignore_ascii_case(from_domain)
                })
            })
    })
}

/// The header without its `(comments)`, which may hold any text, `;` and `=` included.
fn without_comments(header: &str) -> String {
    let mut depth = 0usize;
    header
        .chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' if depth > 0 => {
                    depth -= 1;
                    return false;
                }
                _ => {}
            }
            depth == 0
        })
        .collect()
}

fn email_from(addr: &Addr<'_>) -> Option<EmailFrom> {
    let address = addr.address().map(str::trim).filter(|a| !a.is_empty())?;
    Some(EmailFrom {
        name: addr.name().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned),
        address: address.to_owned(),
    })
}

/// Message ids from an id header: one (`Text`) or several (`TextList`).
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![id.to_string()],
        HeaderValue::TextList(ids) => ids.iter().map(|id| id.to_string()).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect()
}

/// The readable body: every inline text part in order (mail-parser lists the text/plain
/// alternative, or the HTML one where there is no plain text). Where there is none because
/// a multipart's boundary never comes, mail-parser keeps that multipart whole as text: the
/// customer's words with stray MIME lines beat no words.
fn body_text(message: &Message<'_>) -> String {
    let text = message
        .text_bodies()
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.to_string()),
            PartType::Html(html) => Some(html_as_text(html)),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    if !text.trim().is_empty() {
        return text;
    }
    message
        .parts
        .iter()
        .filter(|part| is_unsplit_multipart(part))
        .find_map(|part| match &part.body {
            PartType::Text(text) => Some(text.to_string()),
            _ => None,
        })
        .unwrap_or(text)
}

/// A multipart read as text, its parts not found: mail-parser lists it as an attachment, but
/// it is the message itself.
fn is_unsplit_multipart(part: &MessagePart<'_>) -> bool {
    matches!(part.body, PartType::Text(_))
        && part
            .content_type()
            .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"))
}

/// mail-parser's converter ends a line only at `<br>` and `</p>`; mail clients lay lines
/// out as `<div>`s, lists and tables too, so their ends become `<br>` first.
static BLOCK_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)</(?:p|div|li|tr|h[1-6]|blockquote|pre|table|ul|ol)\s*>").expect("valid regex"));
static BLANK_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\n[ \t\u{a0}]*(?:\n[ \t\u{a0}]*){2,}").expect("valid regex"));

/// HTML as text: tags gone, entities decoded, one blank line at most between paragraphs.
fn html_as_text(html: &str) -> String {
    let text = html_to_text(&BLOCK_END.replace_all(html, "$0<br>"));
    BLANK_RUN.replace_all(&text, "\n\n").trim().to_owned()
}

fn with_unix_line_ends(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The text cut to [`MAX_TEXT_BYTES`] at a character boundary, and whether it was cut.
fn cut_to_limit(mut text: String) -> (String, bool) {
    if text.len() <= MAX_TEXT_BYTES {
        return (text, false);
    }
    text.truncate(text.floor_char_boundary(MAX_TEXT_BYTES));
    (text, true)
}

fn attachment_note(part: &MessagePart<'_>) -> AttachmentNote {
    AttachmentNote {
        filename: part.attachment_name().map(str::to_owned),
        content_type: part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(subtype) => format!("{}/{subtype}", ct.ctype()),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_else(|| "text/plain".to_owned())
            .to_ascii_lowercase(),
        size: part.len(),
    }
}

/// Mail no person wrote (RFC 3834): an auto-reply or a bounce, answering which could loop;
/// or bulk and list mail, which is not a customer asking.
fn is_auto_generated(message: &Message<'_>) -> bool {
    let header_word = |name: &str| {
        message
            .header(name)
            .and_then(HeaderValue::as_text)
            .and_then(|value| value.split([';', '(']).next())
            .map(|word| word.trim().to_ascii_lowercase())
    };
    let auto_submitted = header_word("Auto-Submitted").is_some_and(|word| word != "no");
    let bulk = header_word("Precedence").is_some_and(|word| matches!(word.as_str(), "bulk" | "junk" | "list"));
    // Delivery and read reports (multipart/report) are machine-made, whatever they report.
    let report = message.root_part().is_content_type("multipart", "report");
    // Autoresponders that say so only in their own headers.
    let autoresponder = ["X-Autoreply", "X-Autorespond"]
        .iter()
        .any(|name| message.header(*name).is_some());
    // The null reverse path: a bounce (RFC 5321 4.5.5).
    let bounce = message
        .header_raw("Return-Path")
        .is_some_and(|path| path.trim() == "<>");
    auto_submitted || bulk || report || autoresponder || bounce
}
