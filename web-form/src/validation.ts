import { rules } from './rules';

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
  const e = email.trim();
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

function lengthError(label: string, value: string, min: number, max: number): string | undefined {
  const len = charCount(value.trim());
  if (len === 0) return `Please enter ${label}.`;
  if (len < min) return `${capitalize(label)} must be at least ${min} characters.`;
  if (len > max) return `${capitalize(label)} must be at most ${max} characters.`;
  return undefined;
}

function capitalize(s: string): string {
  const bare = s.replace(/^(your|a) /, '');
  return bare.charAt(0).toUpperCase() + bare.slice(1);
}

export function validateField(field: FieldName, values: FormValues): string | undefined {
  const v = values[field] ?? '';
  switch (field) {
    case 'name':
      return lengthError('your name', v, rules.name.min, rules.name.max);
    case 'subject':
      return lengthError('a subject', v, rules.subject.min, rules.subject.max);
    case 'message':
      return lengthError('a message', v, rules.message.min, rules.message.max);
    case 'email': {
      const e = v.trim();
      if (e.length === 0) return 'Please enter your email address.';
      if (charCount(e) > rules.email.max) return `Email must be at most ${rules.email.max} characters.`;
      if (!isValidEmail(e)) return 'Please enter a valid email address, like name@example.com.';
      return undefined;
    }
    case 'category':
      if (!rules.categories.includes(v.trim())) return 'Please choose a category.';
      return undefined;
    case 'priority': {
      const p = v.trim();
      if (p === '') return undefined; // defaults to medium
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

/** Trimmed payload, with the default priority filled in. */
export function toPayload(values: FormValues): SubmitPayload {
  const priority = values.priority.trim();
  return {
    name: values.name.trim(),
    email: values.email.trim(),
    subject: values.subject.trim(),
    category: values.category.trim(),
    priority: priority === '' ? rules.default_priority : priority,
    message: values.message.trim(),
  };
}
