import { charCount } from './validation';

export const CATEGORY_LABELS: Record<string, string> = {
  general: 'General question',
  technical: 'Technical support',
  billing: 'Billing',
  bug_report: 'Bug report',
  feedback: 'Feedback',
};

export const PRIORITY_LABELS: Record<string, string> = {
  low: 'Low',
  medium: 'Medium',
  high: 'High',
};

export const STATUS_LABELS: Record<string, string> = {
  open: 'Open — we are working on it',
  answered: 'Answered',
  escalated: 'Escalated to our support team',
  resolved: 'Resolved',
};

function humanize(s: string): string {
  const t = s.replace(/_/g, ' ').trim();
  return t.charAt(0).toUpperCase() + t.slice(1);
}

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? humanize(status);
}

export function categoryLabel(category: string): string {
  return CATEGORY_LABELS[category] ?? humanize(category);
}

export function priorityLabel(priority: string): string {
  return PRIORITY_LABELS[priority] ?? humanize(priority);
}

/** Formats an RFC 3339 timestamp in the user's locale (or the given one). */
export function formatTimestamp(iso: string, locale?: string | string[], timeZone?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    ...(timeZone ? { timeZone } : {}),
  }).format(d);
}

/** "123 / 5000" — code points, like the server. */
export function counterText(value: string, max: number): string {
  return `${charCount(value)} / ${max}`;
}

export function errorSummary(count: number): string {
  if (count <= 0) return '';
  return count === 1 ? '1 field needs attention' : `${count} fields need attention`;
}

/** Splits a message body into paragraphs on blank lines; keeps single newlines inside. */
export function splitParagraphs(body: string): string[] {
  return body
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n+/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

export function directionLabel(direction: string): string {
  return direction === 'outbound' ? 'Support team' : 'You';
}

export const CHANNEL_LABELS: Record<string, string> = {
  web_form: 'Web form',
  email: 'Email',
  whatsapp: 'WhatsApp',
};

export function channelLabel(channel: string): string {
  return CHANNEL_LABELS[channel] ?? humanize(channel);
}
