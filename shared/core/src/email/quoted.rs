//! What the customer wrote in a reply, without the history their mail client quoted
//! under it and without their signature.
//!
//! The history starts at an Outlook header block (`From:` / `Sent:` / `To:` / `Subject:`,
//! maybe under a `____` rule or an `-----Original Message-----` line), or at an attribution
//! ("On 3 Nov 2025, at 10:02, Tandem Support <…> wrote:") with no `>` lines under it (an
//! HTML quote made text). Everything from there on goes. Above it, `>` lines go with the
//! attribution heading them, and whatever the customer wrote between them stays (an inline
//! reply). Their words end at a signature delimiter (`-- `) or a mobile-client trailer.

use std::sync::LazyLock;

use regex::Regex;

/// An attribution line: "On …, Name <addr> wrote:" as Gmail, Apple Mail and Thunderbird
/// write it, and Gmail's French, German, Spanish, Italian, Dutch and Portuguese. A date is
/// in it, so that a sentence starting with "On" is not taken for one.
static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:On|Le|Am|El|Il|Op|Em)\s.*\d.*\b(?:wrote|a écrit|schrieb|escribió|ha scritto|schreef|escreveu)\b.*:\s*$",
    )
    .expect("valid regex")
});
static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*-{3,}\s*(?:Original Message|Message d'origine|Ursprüngliche Nachricht|Mensaje original)\s*-{3,}\s*$",
    )
    .expect("valid regex")
});
/// An Outlook header block's lines; Outlook's plain text may star them (`*From:*`).
static FROM_FIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\*?(?:From|De|Von|Da|Van):\*?\s").expect("valid regex"));
static SENT_OR_DATE_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\*?(?:Sent|Date|Envoyé|Gesendet|Datum|Enviado|Inviato|Verzonden):\*?\s").expect("valid regex")
});
static TO_OR_SUBJECT_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\*?(?:To|Subject|À|Objet|An|Betreff|Para|Asunto|A|Oggetto|Aan|Onderwerp):\*?\s")
        .expect("valid regex")
});
static RULE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*_{10,}\s*$").expect("valid regex"));
static QUOTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*>").expect("valid regex"));
static SIGNATURE_DELIMITER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^--\s?$").expect("valid regex"));

/// Lines mail clients add under what the customer typed.
static TRAILER: LazyLock<Regex> = LazyLock::new(|| {
    let trailers = [
        r"Sent from my (?:iPhone|iPad|iPod|Android|Galaxy|Samsung|BlackBerry|Pixel|Huawei|T-Mobile|mobile|phone|smartphone)\b.{0,40}",
        r"Sent from (?:Mail|Outlook) for (?:Windows|Mac|iOS|Android)(?: \d+)?",
        r"Get Outlook for (?:iOS|Android)",
        r"Sent from (?:Yahoo Mail|Proton Mail|ProtonMail)\b.*",
        r"Sent with Proton Mail secure email\.?",
        r"Envoyé de mon \w+",
        r"Von meinem \w+ gesendet",
        r"Enviado desde mi \w+",
    ];
    // Outlook's plain text keeps a link after its line: "Get Outlook for iOS<https://aka.ms/…>".
    Regex::new(&format!(r"(?i)^\s*(?:{})\s*(?:<[^>]*>)?\s*$", trailers.join("|"))).expect("valid regex")
});

/// What the customer wrote in `text`, trimmed: quoted history and signature removed, the
/// rest as written. A message that is nothing but a quote is returned whole (trimmed), so
/// nothing the customer sent is lost.
pub fn own_words(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = history_start(&lines).unwrap_or(lines.len());
    let mut kept: Vec<Option<&str>> = Vec::with_capacity(end);
    let mut i = 0;
    while i < end {
        let heading = attribution_lines(&lines, i).filter(|&n| next_line_is_quoted(&lines[(i + n).min(end)..end]));
        if let Some(heading) = heading {
            kept.extend(std::iter::repeat_n(None, heading));
            i += heading;
        } else if QUOTED.is_match(lines[i]) {
            kept.push(None);
            i += 1;
        } else if SIGNATURE_DELIMITER.is_match(lines[i]) || TRAILER.is_match(lines[i]) {
            break;
        } else {
            kept.push(Some(lines[i]));
            i += 1;
        }
    }
    let words = joined_closing_gaps(&kept);
    if words.trim().is_empty() {
        text.trim().to_owned()
    } else {
        words.trim().to_owned()
    }
}

/// Where the quoted history starts: an Outlook block, or an attribution with no `>` under it.
fn history_start(lines: &[&str]) -> Option<usize> {
    (0..lines.len()).find_map(|i| {
        if ORIGINAL_MESSAGE.is_match(lines[i]) {
            return Some(i);
        }
        if is_outlook_header_block(&lines[i..]) {
            let rule_above = i.checked_sub(1).filter(|&above| RULE.is_match(lines[above]));
            return Some(rule_above.unwrap_or(i));
        }
        attribution_lines(lines, i)
            .filter(|&n| !next_line_is_quoted(&lines[i + n..]))
            .map(|_| i)
    })
}

/// A `From:` line followed, within the next four lines, by a `Sent:` (or `Date:`) line and a
/// `To:` (or `Subject:`) line.
fn is_outlook_header_block(lines: &[&str]) -> bool {
    let Some((first, rest)) = lines.split_first() else {
        return false;
    };
    let next = &rest[..rest.len().min(4)];
    FROM_FIELD.is_match(first)
        && next.iter().any(|l| SENT_OR_DATE_FIELD.is_match(l))
        && next.iter().any(|l| TO_OR_SUBJECT_FIELD.is_match(l))
}

/// How many lines the attribution at `i` takes: one, or two where the client wrapped it.
fn attribution_lines(lines: &[&str], i: usize) -> Option<usize> {
    if ATTRIBUTION.is_match(lines[i]) {
        return Some(1);
    }
    // A next line that is an attribution alone is one, and this line the customer's.
    let next = lines.get(i + 1).filter(|next| !ATTRIBUTION.is_match(next))?;
    ATTRIBUTION.is_match(&format!("{} {}", lines[i], next)).then_some(2)
}

/// Whether the first non-blank line is a `>` quote.
fn next_line_is_quoted(lines: &[&str]) -> bool {
    lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| QUOTED.is_match(l))
}

/// The kept lines joined; where lines were removed (`None`), the blank lines around the
/// gap become one, so an inline reply reads as paragraphs.
fn joined_closing_gaps(kept: &[Option<&str>]) -> String {
    let mut out: Vec<&str> = Vec::with_capacity(kept.len());
    let mut in_gap = false;
    for line in kept {
        match line {
            None => in_gap = true,
            Some(line) if line.trim().is_empty() => {
                if !in_gap {
                    out.push(line);
                }
            }
            Some(line) => {
                if in_gap && out.last().is_some_and(|l| !l.trim().is_empty()) {
                    out.push("");
                }
                in_gap = false;
                out.push(line);
            }
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_history_and_signatures_are_not_the_customers_words() {
        let gmail = "Thanks, that worked!\n\nOn Tue, 3 Mar 2026 at 10:02, Tandem Support <support@tandem.example>\nwrote:\n> I want a refund\n> lawyer";
        assert_eq!(own_words(gmail), "Thanks, that worked!");
        let gmail_one_line = "Still broken.\nOn Tue, 3 Mar 2026 at 10:02 Tandem Support wrote:\n> old text";
        assert_eq!(own_words(gmail_one_line), "Still broken.");
        let outlook = "Please see below.\n\n-----Original Message-----\nFrom: Tandem\nSent: Monday\nI am furious";
        assert_eq!(own_words(outlook), "Please see below.");
        let outlook_block = "New question here\r\n\r\nFrom: Ann Lee <ann@x.example>\r\nSent: Monday, 2 March 2026 09:00\r\nTo: support\r\nold";
        assert_eq!(own_words(outlook_block), "New question here");
        let signed = "How do I export a board?\n-- \nJane Roe\nCall me on +44 7700 900123";
        assert_eq!(own_words(signed), "How do I export a board?");
        let mobile = "can I undo a deleted card\n\nSent from my iPhone";
        assert_eq!(own_words(mobile), "can I undo a deleted card");
        let inline = "> you said X\nBut Y happens when I click Settings > Notifications";
        assert_eq!(own_words(inline), "But Y happens when I click Settings > Notifications");
    }

    #[test]
    fn a_message_that_is_all_quote_is_judged_whole() {
        assert_eq!(own_words("> only a quote"), "> only a quote");
    }
}
