//! Inbound email through the public API: parsing real-world mail (fixtures written for
//! Tandem under tests/fixtures/email) and finding what the customer wrote in a reply.

use support_core::email::{own_words, parse, AttachmentNote, EmailFrom, EmailParseError, ParsedEmail, MAX_TEXT_BYTES};

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/email/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture(name: &str) -> ParsedEmail {
    parse(&fixture_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn from(name: Option<&str>, address: &str) -> Option<EmailFrom> {
    Some(EmailFrom {
        name: name.map(str::to_owned),
        address: address.to_owned(),
    })
}

// --- Structure: which part is the body, what is attached ---

#[test]
fn the_plain_text_alternative_is_the_body_not_the_html() {
    let email = fixture("gmail_reply_alternative.eml");
    assert_eq!(
        email.text,
        "Thanks, that fixed it! The invite went through this time and Tom can see\nthe Q4 board now.\n\n\
         One more thing: can guests see archived boards?\n\n\
         On Mon, 3 Nov 2025 at 10:02, Tandem Support <support@tandem.example>\nwrote:\n\n\
         > Hello Maya,\n>\n> Go to Settings → Members and press \"Resend invite\". The new link is valid\n\
         > for 7 days.\n>\n> Tandem Support\n>\n"
    );
    assert!(email.attachments.is_empty());
    assert!(!email.truncated);
}

#[test]
fn a_nested_mixed_message_notes_its_attachments_and_reads_its_text() {
    let email = fixture("mixed_with_attachments.eml");
    assert_eq!(
        email.text,
        "Hello,\n\nOur card was charged twice for invoice INV-2025-0412 (see the attached PDF and the \
         screenshot of our bank statement).\n\nCould you refund the second charge?\n\nKind regards,\nJan Novak\n"
    );
    assert_eq!(
        email.attachments,
        vec![
            AttachmentNote {
                filename: Some("INV-2025-0412.pdf".into()),
                content_type: "application/pdf".into(),
                size: 833,
            },
            AttachmentNote {
                filename: Some("bank-statement.png".into()),
                content_type: "image/png".into(),
                size: 229,
            },
        ]
    );
    assert_eq!(email.from, from(Some("Novak, Jan"), "jan.novak@contoso.example"));
    assert_eq!(email.to, vec!["support@tandem.example"]);
}

#[test]
fn html_only_mail_becomes_readable_text() {
    let email = fixture("html_only.eml");
    assert_eq!(
        email.text,
        "Hi Tandem team,\n\nWe're on the Team plan & want to move to Business. Does the price include our \
         3\u{a0}guests?\n\nThanks – Søren\nFabrikam <Ops>"
    );
    for leftover in ["<p>", "<div", "&amp;", "&#39;", "color: red", "alert", "Question"] {
        assert!(!email.text.contains(leftover), "{leftover} in {:?}", email.text);
    }
}

// --- Charsets, transfer encodings and encoded words ---

#[test]
fn iso_8859_1_quoted_printable_is_decoded() {
    let email = fixture("iso_8859_1_qp.eml");
    assert_eq!(
        email.text,
        "Bonjour,\n\nLe tableau « Équipe été » ne s'affiche plus depuis la mise à jour.\nMerci de votre aide !\n\nCélia\n"
    );
    assert_eq!(email.subject.as_deref(), Some("Tableau « Équipe été » invisible"));
    assert_eq!(
        email.from,
        from(Some("Célia François"), "celia.francois@exemple.example")
    );
}

#[test]
fn windows_1252_eight_bit_is_decoded() {
    let email = fixture("windows_1252.eml");
    assert_eq!(
        email.text,
        "Hi,\n\nThe “Weekly review” board shows €0 for every card — it used to show €1,250…\n\nThanks,\nZoë\n"
    );
}

#[test]
fn koi8_r_base64_is_decoded_body_and_subject() {
    let email = fixture("koi8_r.eml");
    assert_eq!(
        email.text,
        "Здравствуйте!\n\nНе могу пригласить коллегу на доску \"Проекты\".\n\nСпасибо,\nАнна"
    );
    assert_eq!(email.subject.as_deref(), Some("Приглашение не работает"));
    assert_eq!(email.from, from(Some("Анна Смирнова"), "anna@primer.example"));
}

#[test]
fn iso_2022_jp_is_decoded_body_subject_and_name() {
    let email = fixture("iso_2022_jp.eml");
    assert_eq!(
        email.text,
        "お世話になっております。\nボードのエクスポートができません。\nよろしくお願いいたします。\n佐藤\n"
    );
    assert_eq!(email.subject.as_deref(), Some("エクスポートの不具合"));
    assert_eq!(email.from, from(Some("佐藤 花子"), "hanako.sato@rei.example"));
}

#[test]
fn shift_jis_base64_is_decoded() {
    let email = fixture("shift_jis.eml");
    assert_eq!(
        email.text,
        "カードに添付したファイルが表示されません。\n確認をお願いします。\n山田"
    );
    assert_eq!(email.subject.as_deref(), Some("添付ファイル"));
}

#[test]
fn utf8_encoded_words_are_decoded_b_in_the_subject_q_in_the_name() {
    let email = fixture("encoded_words.eml");
    assert_eq!(email.subject.as_deref(), Some("Frage zur Rechnung – Größe der Boards"));
    assert_eq!(
        email.from,
        from(Some("Jürgen Müller"), "juergen.mueller@beispiel.example")
    );
    assert_eq!(email.text, "Hallo,\nwie groß darf ein Board werden?\n");
}

#[test]
fn line_ends_are_unix_ones() {
    for name in [
        "gmail_reply_alternative.eml",
        "mixed_with_attachments.eml",
        "windows_1252.eml",
        "outlook_reply.eml",
    ] {
        let raw = fixture_bytes(name);
        assert!(raw.windows(2).any(|w| w == b"\r\n"), "{name} is written with CRLF");
        assert!(!fixture(name).text.contains('\r'), "{name}");
    }
}

// --- Size ---

#[test]
fn a_five_megabyte_body_is_cut_at_the_limit_on_a_character_boundary() {
    let mut raw = b"From: Big Sender <big@northwind.example>\r\nSubject: logs\r\n\
        Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nx"
        .to_vec();
    // Three-byte characters after one ASCII byte: the limit falls inside a character.
    while raw.len() < 5 * 1024 * 1024 {
        raw.extend_from_slice("日本語のログ\r\n".as_bytes());
    }
    let started = std::time::Instant::now();
    let email = parse(&raw).expect("an email");
    eprintln!("5 MB parsed in {:?}", started.elapsed());
    assert!(email.truncated);
    assert!(email.text.len() <= MAX_TEXT_BYTES && email.text.len() > MAX_TEXT_BYTES - 4);
    assert!(email.text.starts_with("x日本語のログ\n日本語"));
    assert!(!email.text.contains('\r'));
    assert_eq!(own_words(&email.text), email.text.trim());
}

#[test]
fn a_body_under_the_limit_is_whole() {
    let email = fixture("windows_1252.eml");
    assert!(!email.truncated);
}

// --- Missing and malformed ---

#[test]
fn a_message_without_the_usual_headers_still_has_its_text() {
    let email = fixture("missing_headers.eml");
    assert_eq!(email.message_id, None);
    assert_eq!(email.subject, None);
    assert_eq!(email.date, None);
    assert_eq!(email.from, None);
    assert!(email.to.is_empty());
    assert_eq!(email.text, "The nightly sync to Tandem failed again.\n");
}

#[test]
fn malformed_headers_and_a_broken_boundary_give_what_can_be_read() {
    let email = fixture("malformed.eml");
    assert_eq!(email.from, from(Some("Broken Client"), "broken@fabrikam.example"));
    assert_eq!(email.to, vec!["support@tandem.example"]);
    // An encoded word that never ends is shown as written, not guessed at.
    assert_eq!(email.subject.as_deref(), Some("=?UTF-8?B?SGVsbG8gd29ybGQ"));
    assert_eq!(email.date, None);
    assert_eq!(email.message_id, None);
    // The boundary never comes: the whole multipart is the text, the customer's words in it.
    assert!(
        email.text.contains("Please help, the board is empty."),
        "{:?}",
        email.text
    );
    assert!(email.attachments.is_empty());
}

#[test]
fn bytes_with_no_header_are_not_an_email() {
    assert_eq!(parse(b""), Err(EmailParseError::NoHeaders));
    assert_eq!(parse(b"\r\n\r\nHello"), Err(EmailParseError::NoHeaders));
    assert_eq!(parse(b"just some words, no header\n"), Err(EmailParseError::NoHeaders));
}

// --- Threading ---

#[test]
fn message_ids_are_read_without_angle_brackets_references_in_order() {
    let email = fixture("gmail_reply_alternative.eml");
    assert_eq!(
        email.message_id.as_deref(),
        Some("CAH7pXq3+reply=Zt9@mail.gmail.example")
    );
    assert_eq!(email.in_reply_to, vec!["CAH7pXq1+first@mail.gmail.example"]);
    assert_eq!(
        email.references,
        vec![
            "1762164120000-out-4f1c.tkt_0123456789abcdef0123456789abcdef@tandem.example",
            "CAH7pXq1+first@mail.gmail.example",
        ]
    );
    assert_eq!(
        email.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2025-11-03T10:15:27+00:00")
    );
    assert_eq!(
        email.subject.as_deref(),
        Some("Re: Invite link expired [tkt_0123456789abcdef0123456789abcdef]")
    );
}

#[test]
fn reply_to_is_read_apart_from_from() {
    let email = parse(
        b"From: Web Form <noreply@forms.northwind.example>\r\nReply-To: \"Maya Lin\" <maya.lin@northwind.example>\r\n\
          To: support@tandem.example, billing@tandem.example\r\nSubject: Form\r\n\r\nHello\r\n",
    )
    .unwrap();
    assert_eq!(email.from, from(Some("Web Form"), "noreply@forms.northwind.example"));
    assert_eq!(email.reply_to, from(Some("Maya Lin"), "maya.lin@northwind.example"));
    assert_eq!(email.to, vec!["support@tandem.example", "billing@tandem.example"]);
}

// --- Auto-generated mail ---

#[test]
fn an_out_of_office_reply_is_auto_generated() {
    let email = fixture("auto_reply.eml");
    assert!(email.auto_generated);
    assert!(email.text.starts_with("Ich bin bis 14.11. nicht im Büro."));
}

#[test]
fn a_delivery_status_bounce_is_auto_generated() {
    let email = fixture("bounce_delivery_status.eml");
    assert!(email.auto_generated);
    assert_eq!(
        email.text,
        "Your message to nobody@northwind.example could not be delivered:\nthe mailbox does not exist.\n"
    );
    let types: Vec<_> = email.attachments.iter().map(|a| a.content_type.as_str()).collect();
    assert_eq!(types, vec!["message/delivery-status", "text/rfc822-headers"]);
}

#[test]
fn bulk_mail_is_auto_generated_and_auto_submitted_no_is_not() {
    let with_header = |header: &str| {
        let raw = format!("From: a@northwind.example\r\n{header}\r\nSubject: x\r\n\r\nHello\r\n");
        parse(raw.as_bytes()).unwrap().auto_generated
    };
    assert!(with_header("Precedence: bulk"));
    assert!(with_header("Precedence: list"));
    assert!(with_header("Auto-Submitted: auto-generated"));
    assert!(with_header(
        "auto-submitted: Auto-Replied; owner-email=\"lea@beispiel.example\""
    ));
    assert!(!with_header("Auto-Submitted: no"));
    assert!(!with_header("Precedence: first-class"));
    assert!(!fixture("gmail_reply_alternative.eml").auto_generated);
}

// --- Sender authentication ---

fn with_authentication(from: &str, results: &[&str]) -> ParsedEmail {
    let headers: String = results
        .iter()
        .map(|r| format!("Authentication-Results: {r}\r\n"))
        .collect();
    let raw = format!("{headers}From: {from}\r\nTo: support@tandem.example\r\nSubject: Hi\r\n\r\nHello\r\n");
    parse(raw.as_bytes()).unwrap()
}

const GMAIL_PASS: &str = "mx.google.com;\r\n       dkim=pass header.i=@northwind.example header.s=s1;\r\n       \
    spf=pass (google.com: domain of maya@northwind.example designates 203.0.113.25 as permitted sender) \
    smtp.mailfrom=maya@northwind.example;\r\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=northwind.example";

#[test]
fn dmarc_pass_from_the_mailbox_for_the_from_domain_authenticates_the_sender() {
    let email = with_authentication("Maya Lin <maya@Northwind.Example>", &[GMAIL_PASS]);
    assert!(email.sender_authenticated("mx.google.com"));
    assert!(fixture("gmail_reply_alternative.eml").sender_authenticated("mx.google.com"));
}

#[test]
fn dmarc_fail_does_not_authenticate() {
    let result = "mx.google.com; dkim=fail header.i=@northwind.example; spf=softfail smtp.mailfrom=x@spoof.example; \
                  dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=northwind.example";
    assert!(!with_authentication("maya@northwind.example", &[result]).sender_authenticated("mx.google.com"));
}

#[test]
fn results_from_another_authserv_id_are_ignored() {
    let forged = "mx.google.com.evil.example; dmarc=pass header.from=northwind.example";
    let email = with_authentication("maya@northwind.example", &[forged]);
    assert!(!email.sender_authenticated("mx.google.com"));
    let other_server = "mail.northwind.example; dmarc=pass header.from=northwind.example";
    assert!(!with_authentication("maya@northwind.example", &[other_server]).sender_authenticated("mx.google.com"));
    // Gmail's own result is the one read, whatever another server wrote below it.
    let gmail_fail = "mx.google.com; dmarc=fail header.from=northwind.example";
    let planted = "mx.google.com; dmarc=pass header.from=northwind.example";
    assert!(
        !with_authentication("maya@northwind.example", &[gmail_fail, planted]).sender_authenticated("mx.google.com")
    );
}

#[test]
fn dmarc_pass_for_another_domain_does_not_authenticate_the_from_address() {
    let result = "mx.google.com; dkim=pass header.i=@mailer.example; dmarc=pass (p=NONE) header.from=mailer.example";
    assert!(!with_authentication("maya@northwind.example", &[result]).sender_authenticated("mx.google.com"));
}

#[test]
fn no_results_or_no_from_does_not_authenticate() {
    assert!(!fixture("missing_headers.eml").sender_authenticated("mx.google.com"));
    assert!(!fixture("windows_1252.eml").sender_authenticated("mx.google.com"));
}

// --- The customer's own words ---

#[test]
fn gmail_reply_keeps_what_was_written_above_a_wrapped_attribution() {
    assert_eq!(
        own_words(&fixture("gmail_reply_alternative.eml").text),
        "Thanks, that fixed it! The invite went through this time and Tom can see\nthe Q4 board now.\n\n\
         One more thing: can guests see archived boards?"
    );
}

#[test]
fn gmail_reply_with_a_signature() {
    let text = "Could you also add Tom as an admin?\n\nThanks\n\n-- \nMaya Lin\nOperations, Northwind\n+44 20 7946 0000\n\n\
                On Mon, 3 Nov 2025 at 10:02, Tandem Support <support@tandem.example> wrote:\n\n> Hello Maya,\n> Done.\n";
    assert_eq!(own_words(text), "Could you also add Tom as an admin?\n\nThanks");
}

#[test]
fn gmail_reply_in_other_languages() {
    let quoted = "\n\n> Hello,\n> Go to Settings.\n";
    for attribution in [
        "Le lun. 3 nov. 2025 à 10:02, Tandem Support <support@tandem.example> a écrit :",
        "Am Mo., 3. Nov. 2025 um 10:02 Uhr schrieb Tandem Support <support@tandem.example>:",
        "El lun, 3 nov 2025 a las 10:02, Tandem Support (<support@tandem.example>) escribió:",
    ] {
        let text = format!("Merci, c'est réglé.\n\n{attribution}{quoted}");
        assert_eq!(own_words(&text), "Merci, c'est réglé.", "{attribution}");
    }
}

#[test]
fn outlook_reply_under_a_rule_and_a_header_block() {
    assert_eq!(
        own_words(&fixture("outlook_reply.eml").text),
        "Hi,\n\nThe export to CSV still fails with the same error, also in Edge.\n\nRegards,\nJan Novak\nContoso Ltd."
    );
}

#[test]
fn outlook_reply_above_an_original_message_line() {
    assert_eq!(
        own_words(&fixture("outlook_original_message.eml").text),
        "Yes, please cancel the Pro plan at the end of this month.\n\nPetra"
    );
}

#[test]
fn outlook_mobile_reply_with_its_trailer_and_a_bare_header_block() {
    let text = "Yes that's the one.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n\
                From: Tandem Support <support@tandem.example>\nSent: Tuesday, November 4, 2025 12:10:44 PM\n\
                To: Jan Novak <jan.novak@contoso.example>\nSubject: Re: Which board?\n\nHello Jan,\nIs it the Roadmap board?\n";
    assert_eq!(own_words(text), "Yes that's the one.");
}

#[test]
fn apple_mail_reply_with_a_signature_and_a_quoted_attribution() {
    assert_eq!(
        own_words(&fixture("apple_mail_reply.eml").text),
        "Switching to the authenticator app worked, thank you.\nI’ll tell the rest of the team."
    );
}

#[test]
fn apple_mail_reply_from_an_iphone() {
    let text = "Ok, I'll try that tonight.\n\nSent from my iPhone\n\n\
                On 3 Nov 2025, at 10:02, Tandem Support <support@tandem.example> wrote:\n\n\
                > Hello Priya,\n> Try the authenticator app.\n";
    assert_eq!(own_words(text), "Ok, I'll try that tonight.");
}

#[test]
fn an_inline_reply_between_quotes_is_kept() {
    assert_eq!(
        own_words(&fixture("inline_reply.eml").text),
        "Hi,\n\nFirefox 132 on Ubuntu 24.04.\n\nOnly on the \"Roadmap\" board, the others load fine."
    );
}

#[test]
fn a_quote_only_message_is_kept_whole() {
    let text = fixture("quote_only.eml").text;
    assert_eq!(own_words(&text), text.trim());
}

#[test]
fn a_message_with_nothing_quoted_is_kept_as_written() {
    let text = "  On Monday 3 boards disappeared from our workspace.\n\nFrom: the activity log, nothing.\n\n\
                They were there on Friday.  \n";
    assert_eq!(own_words(text), text.trim());
}

// --- Never a panic ---

/// xorshift64: deterministic, so a failure here reproduces.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FIXTURES: [&str; 18] = [
    "apple_mail_reply.eml",
    "auto_reply.eml",
    "bounce_delivery_status.eml",
    "encoded_words.eml",
    "gmail_reply_alternative.eml",
    "html_only.eml",
    "inline_reply.eml",
    "iso_2022_jp.eml",
    "iso_8859_1_qp.eml",
    "koi8_r.eml",
    "malformed.eml",
    "missing_headers.eml",
    "mixed_with_attachments.eml",
    "outlook_original_message.eml",
    "outlook_reply.eml",
    "quote_only.eml",
    "shift_jis.eml",
    "windows_1252.eml",
];

/// Pieces of mail syntax, so random input reaches past the first header.
const PIECES: [&[u8]; 16] = [
    b"From: ",
    b"Subject: =?UTF-8?B?",
    b"=?ISO-2022-JP?Q?=1B$B",
    b"?=",
    b"Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    b"Content-Type: text/html; charset=shift_jis\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"\r\n--b\r\n",
    b"\r\n--b--\r\n",
    b"\r\n\r\n",
    b"<div>&#x1F600;&amp",
    b"> On Mon, 3 Nov 2025 at 10:02, X wrote:\n",
    b"message/rfc822\r\n",
    b"=\r\n=E2=8",
    b"\xff\xfe\x00\x1b$B",
];

fn survives(raw: &[u8]) {
    if let Ok(email) = parse(raw) {
        assert!(email.text.len() <= MAX_TEXT_BYTES);
        let _ = own_words(&email.text);
        let _ = email.sender_authenticated("mx.google.com");
    }
}

#[test]
fn random_bytes_and_mutated_fixtures_never_panic() {
    let mut noise = Noise(0x5EED_1234_ABCD_0001);
    for _ in 0..300 {
        let mut raw = Vec::new();
        for _ in 0..noise.below(40) {
            if noise.below(3) == 0 {
                raw.extend((0..noise.below(30)).map(|_| noise.next() as u8));
            } else {
                raw.extend_from_slice(PIECES[noise.below(PIECES.len())]);
            }
        }
        survives(&raw);
    }
    for name in FIXTURES {
        let original = fixture_bytes(name);
        for _ in 0..20 {
            let mut raw = original.clone();
            match noise.below(3) {
                0 => {
                    for _ in 0..1 + noise.below(8) {
                        let at = noise.below(raw.len());
                        raw[at] = noise.next() as u8;
                    }
                }
                1 => raw.truncate(noise.below(raw.len())),
                _ => {
                    let at = noise.below(raw.len());
                    let piece = PIECES[noise.below(PIECES.len())];
                    raw.splice(at..at, piece.iter().copied());
                }
            }
            survives(&raw);
        }
    }
}

#[test]
fn autoresponders_marked_only_by_their_own_headers_and_null_return_paths_are_automatic() {
    let autoreply = "From: Ann <ann@lovelace.example>\r\nTo: support@tandem.example\r\nSubject: Away\r\n\
                     X-Autoreply: yes\r\n\r\nI am away until Monday.\r\n";
    assert!(parse(autoreply.as_bytes()).unwrap().auto_generated);
    let bounce = "Return-Path: <>\r\nFrom: Mail Delivery System <mailer-daemon@lovelace.example>\r\n\
                  To: support@tandem.example\r\nSubject: Undeliverable\r\n\r\nThe mail could not be delivered.\r\n";
    assert!(parse(bounce.as_bytes()).unwrap().auto_generated);
    let person = "Return-Path: <ann@lovelace.example>\r\nFrom: Ann <ann@lovelace.example>\r\n\
                  To: support@tandem.example\r\nSubject: Export\r\n\r\nHow do I export?\r\n";
    assert!(!parse(person.as_bytes()).unwrap().auto_generated);
}
