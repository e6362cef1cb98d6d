//! Inbound email: the raw message read into what the product needs (threading ids, sender,
//! body text, attachments noted, auto-generated mail told apart). MIME and charsets are
//! mail-parser's; the rules are ours.

mod parse;

pub use parse::{parse, AttachmentNote, EmailFrom, EmailParseError, ParsedEmail, MAX_TEXT_BYTES};
