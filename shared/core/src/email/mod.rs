//! Inbound email: the raw message read into what the product needs (threading ids, sender,
//! body text, attachments noted, auto-generated mail told apart), and the part of a reply
//! the customer actually wrote. MIME and charsets are mail-parser's; the rules are ours.

mod parse;
mod quoted;

pub use parse::{parse, AttachmentNote, EmailFrom, EmailParseError, ParsedEmail, MAX_TEXT_BYTES};
pub use quoted::own_words;
