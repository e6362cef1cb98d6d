//! Text hygiene: what customers type is stored, logged and put in mail headers, so
//! characters that hide or reorder text, or end a header, never get that far.

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

/// The text cut to at most `max_chars` characters, `marker` appended when it was cut.
pub fn at_most(text: &str, max_chars: usize, marker: &str) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}{marker}", &text[..end]),
        None => text.to_owned(),
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
        assert_eq!(at_most("héllo", 2, "…"), "hé…");
        assert_eq!(at_most("hé", 2, "…"), "hé");
    }
}
