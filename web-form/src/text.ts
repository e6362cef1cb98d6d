// Text hygiene, mirrored from the server (shared/core/src/domain/text.rs). The server is
// authoritative; the form applies the same rules so it gives the same answer before sending.

/** Bidirectional controls: they reorder what a reader sees (U+202E turns a subject around). */
const BIDI_CONTROLS = '\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C';

/** Characters that show nothing: zero-width ones, the word joiner, the BOM, the soft hyphen. */
const INVISIBLES = '\u200B-\u200D\u2060\uFEFF\u00AD';

/**
 * Unicode White_Space, as Rust's `char::is_whitespace` and `str::trim` see it. (JavaScript's
 * `\s` and `trim()` differ: they skip U+0085 and also take U+FEFF.)
 */
const WHITESPACE = '\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000';

/** Control characters (Unicode Cc), as Rust's `char::is_control` sees them. */
const CONTROLS = '\u0000-\u001F\u007F-\u009F';

const BIDI_RE = new RegExp(`[${BIDI_CONTROLS}]`, 'g');
const TRIM_RE = new RegExp(`^[${WHITESPACE}]+|[${WHITESPACE}]+$`, 'g');
const BLANK_RE = new RegExp(`^[${WHITESPACE}${INVISIBLES}${BIDI_CONTROLS}]*$`);
const CONTROL_RE = new RegExp(`[${CONTROLS}]`);
/** Controls other than line breaks and tabs (NUL, escape, ...). */
const STRAY_CONTROL_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** The text without bidirectional controls. */
export function withoutBidiControls(text: string): string {
  return text.replace(BIDI_RE, '');
}

/** Trims Unicode White_Space from both ends, like the server's `str::trim`. */
export function trimText(text: string): string {
  return text.replace(TRIM_RE, '');
}

/** What the server checks and keeps: bidirectional controls removed, then trimmed. */
export function cleanText(text: string): string {
  return trimText(withoutBidiControls(text));
}

/** Nothing a reader would see: only whitespace and invisible characters (or nothing). */
export function isBlank(text: string): boolean {
  return BLANK_RE.test(text);
}

/** Any control character at all: a one-line field (name, subject) must have none. */
export function hasControlChars(text: string): boolean {
  return CONTROL_RE.test(text);
}

/** Control characters other than line breaks (\n, \r) and tabs: not allowed anywhere. */
export function hasStrayControls(text: string): boolean {
  return STRAY_CONTROL_RE.test(text);
}
