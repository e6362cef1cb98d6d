//! Text hygiene: what customers type is stored, logged and put in mail headers, so
//! characters that hide or reorder text, or end a header, never get that far.

use std::sync::LazyLock;

use regex::Regex;

/// Bidirectional controls: they reorder what a reader sees (`\u{202e}` turns a subject around).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that show nothing: zero-width ones, the soft hyphen, the byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}') || is_bidi_control(c)
}

/// The text without bidirectional controls.
pub fn without_bidi_controls(text: &str) -> String {
    text.chars().filter(|c| !is_bidi_control(*c)).collect()
}

/// Nothing a reader would see: only whitespace and invisible characters.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || is_invisible(c))
}

/// Control characters other than line breaks and tabs (NUL, escape, ...).
pub fn has_stray_controls(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// A one-line field (a name, a subject) safe for storage and headers: controls and
/// bidirectional marks removed, whitespace runs collapsed; `None` when nothing visible is left.
pub fn clean_line(text: &str) -> Option<String> {
    let kept: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|c| !is_bidi_control(*c))
        .collect();
    let line = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    (!is_blank(&line)).then_some(line)
}

/// A message body safe for storage: bidirectional marks and controls other than line
/// breaks and tabs removed, line endings as `\n`.
pub fn clean_body(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|c| !is_bidi_control(*c) && (!c.is_control() || matches!(c, '\n' | '\t')))
        .collect()
}

/// A line that opens quoted history: Gmail's "On … wrote:" (also when the client wrapped
/// it onto two lines), Outlook's "-----Original Message-----", or an Outlook header block
/// ("From: …" followed by "Sent: …" or "Date: …").
static REPLY_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^(?:on\s.{5,200}?\swrote:[ \t]*$|-{2,}\s*original message\s*-{2,}[ \t]*$|\*?from:\*?\s.+\n\*?(?:sent|date):\*?\s)")
        .expect("valid regex")
});

/// Signature delimiters and mobile-client sign-offs: everything from here down is not the message.
static SIGNATURE_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^(?:--[ \t]*$|sent from my \w[\w ]{0,30}$|get outlook for \w+[ \t]*$)").expect("valid regex")
});

/// What the customer wrote in this message, for the rules, sentiment and search to judge:
/// quoted history ("On … wrote:", Outlook blocks, `>` lines) and the signature are cut. The
/// stored message keeps everything. When the cut would leave nothing (a top-quoted forward),
/// the whole text is the customer's.
pub fn customer_words(body: &str) -> String {
    let body = body.replace("\r\n", "\n");
    let mut end = body.len();
    if let Some(header) = REPLY_HEADER.find(&body) {
        end = header.start();
    }
    if let Some(signature) = SIGNATURE_START.find(&body[..end]) {
        end = signature.start();
    }
    let own: Vec<&str> = body[..end]
        .lines()
        .filter(|line| !line.trim_start().starts_with('>'))
        .collect();
    let own = own.join("\n").trim().to_owned();
    if is_blank(&own) {
        body.trim().to_owned()
    } else {
        own
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_reordering_characters_never_reach_storage() {
        assert_eq!(
            clean_line("Invoice \u{202e}fdp.exe").as_deref(),
            Some("Invoice fdp.exe")
        );
        assert_eq!(clean_line("Maya\0 Lin\r\nBcc: x").as_deref(), Some("Maya Lin Bcc: x"));
        assert_eq!(clean_line("\u{200B}\u{200D} \u{FEFF}"), None);
        assert_eq!(clean_body("line one\r\nline\0 two\u{202e}"), "line one\nline two");
        assert!(is_blank("\u{200B} \u{2060}"));
        assert!(!is_blank("\u{200B}a"));
        assert!(has_stray_controls("a\0b") && !has_stray_controls("a\nb\tc"));
    }
    #[test]
    fn quoted_history_and_signatures_are_not_the_customers_words() {
        let gmail = "Thanks, that worked!\n\nOn Tue, 3 Mar 2026 at 10:02, Tandem Support <support@tandem.example>\nwrote:\n> I want a refund\n> lawyer";
        assert_eq!(customer_words(gmail), "Thanks, that worked!");
        let gmail_one_line = "Still broken.\nOn Tue, 3 Mar 2026 at 10:02 Tandem Support wrote:\n> old text";
        assert_eq!(customer_words(gmail_one_line), "Still broken.");
        let outlook = "Please see below.\n\n-----Original Message-----\nFrom: Tandem\nSent: Monday\nI am furious";
        assert_eq!(customer_words(outlook), "Please see below.");
        let outlook_block = "New question here\r\n\r\nFrom: Ann Lee <ann@x.example>\r\nSent: Monday, 2 March 2026 09:00\r\nTo: support\r\nold";
        assert_eq!(customer_words(outlook_block), "New question here");
        let signed = "How do I export a board?\n-- \nJane Roe\nCall me on +44 7700 900123";
        assert_eq!(customer_words(signed), "How do I export a board?");
        let mobile = "can I undo a deleted card\n\nSent from my iPhone";
        assert_eq!(customer_words(mobile), "can I undo a deleted card");
        let inline = "> you said X\nBut Y happens when I click Settings > Notifications";
        assert_eq!(
            customer_words(inline),
            "But Y happens when I click Settings > Notifications"
        );
    }

    #[test]
    fn a_message_that_is_all_quote_is_judged_whole() {
        assert_eq!(customer_words("> only a quote"), "> only a quote");
    }
}
