import { rules } from './rules';
import { cleanText, hasControlChars, hasStrayControls, isBlank } from './text';

export const FIELDS = ['name', 'email', 'subject', 'category', 'priority', 'message'] as const;
export type FieldName = (typeof FIELDS)[number];

export type FormValues = Record<FieldName, string>;
export type FieldErrors = Partial<Record<FieldName, string>>;

/** The JSON body sent to POST /support/submit. */
export interface SubmitPayload {
  name: string;
  email: string;
  subject: string;
  category: string;
  priority: string;
  message: string;
}

/** The JSON body sent to POST /support/ticket/{id}/messages. */
export interface FollowUpPayload {
  message: string;
}

/**
 * Practical e-mail check: one @, no whitespace, a dotted domain made of
 * label characters, no leading/trailing/double dots. Not RFC 5322 complete
 * on purpose; the server has the final word.
 */
export const EMAIL_RE =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export const TICKET_ID_RE = /^tkt_[0-9a-f]{32}$/;

export function isValidTicketId(id: string): boolean {
  return TICKET_ID_RE.test(id.trim());
}

export function isValidEmail(email: string): boolean {
  const e = cleanText(email);
  if (e.length === 0 || e.length > rules.email.max) return false;
  if (!EMAIL_RE.test(e)) return false;
  const local = e.slice(0, e.lastIndexOf('@'));
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  return true;
}

export function emptyValues(): FormValues {
  return {
    name: '',
    email: '',
    subject: '',
    category: '',
    priority: rules.default_priority,
    message: '',
  };
}

/** Length as the server counts it: Unicode code points, not UTF-16 units. */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * A free-text field checked as the server does: bidirectional controls removed and the
 * value trimmed first; nothing visible left counts as empty; then the length in code
 * points; then control characters (none on a single line; only line breaks and tabs
 * in the message).
 */
function textError(label: string, value: string, min: number, max: number, singleLine: boolean): string | undefined {
  const v = cleanText(value);
  if (isBlank(v)) return `Please enter ${label}.`;
  const len = charCount(v);
  if (len < min) return `${capitalize(label)} must be at least ${min} characters.`;
  if (len > max) return `${capitalize(label)} must be at most ${max} characters.`;
  if (singleLine && hasControlChars(v)) return `${capitalize(label)} must be a single line of text.`;
  if (hasStrayControls(v)) return `${capitalize(label)} contains characters that are not text.`;
  return undefined;
}

function capitalize(s: string): string {
  const bare = s.replace(/^(your|a) /, '');
  return bare.charAt(0).toUpperCase() + bare.slice(1);
}

/** The message of the form, and of a follow-up on a ticket: one rule for both. */
export function validateMessage(value: string): string | undefined {
  return textError('a message', value, rules.message.min, rules.message.max, false);
}

export function validateField(field: FieldName, values: FormValues): string | undefined {
  const v = values[field] ?? '';
  switch (field) {
    case 'name':
      return textError('your name', v, rules.name.min, rules.name.max, true);
    case 'subject':
      return textError('a subject', v, rules.subject.min, rules.subject.max, true);
    case 'message':
      return validateMessage(v);
    case 'email': {
      const e = cleanText(v);
      if (isBlank(e)) return 'Please enter your email address.';
      if (charCount(e) > rules.email.max) return `Email must be at most ${rules.email.max} characters.`;
      if (!isValidEmail(e)) return 'Please enter a valid email address, like name@example.com.';
      return undefined;
    }
    case 'category':
      if (!rules.categories.includes(cleanText(v))) return 'Please choose a category.';
      return undefined;
    case 'priority': {
      const p = cleanText(v);
      if (p === '') return undefined; // the server fills in the default priority
      if (!rules.priorities.includes(p)) return 'Please choose a priority.';
      return undefined;
    }
  }
}

export function validate(values: FormValues): FieldErrors {
  const errors: FieldErrors = {};
  for (const f of FIELDS) {
    const msg = validateField(f, values);
    if (msg) errors[f] = msg;
  }
  return errors;
}

export function errorCount(errors: FieldErrors): number {
  return FIELDS.filter((f) => errors[f]).length;
}

export function firstInvalidField(errors: FieldErrors): FieldName | undefined {
  return FIELDS.find((f) => errors[f]);
}

/** The payload as sent: every field without bidirectional controls and trimmed, with the default priority filled in. */
export function toPayload(values: FormValues): SubmitPayload {
  const priority = cleanText(values.priority);
  return {
    name: cleanText(values.name),
    email: cleanText(values.email),
    subject: cleanText(values.subject),
    category: cleanText(values.category),
    priority: priority === '' ? rules.default_priority : priority,
    message: cleanText(values.message),
  };
}

/** A follow-up as sent: without bidirectional controls and trimmed, like the form's message. */
export function toFollowUpPayload(message: string): FollowUpPayload {
  return { message: cleanText(message) };
}
