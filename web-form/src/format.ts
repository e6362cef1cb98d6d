import { rules } from './rules';
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
  escalated: 'Escalated',
  resolved: 'Resolved',
};

/** `human_request` → "Human request": a code as words, for codes without a label. */
export function humanize(s: string): string {
  const t = s.replace(/_/g, ' ').trim();
  return t.charAt(0).toUpperCase() + t.slice(1);
}

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? humanize(status);
}

/**
 * The team an escalated ticket went to, from `escalation_teams` in the shared rules;
 * the reason code itself is never shown. An unknown or missing reason reads as `other`.
 */
export function escalationTeam(reason: string | null | undefined): string {
  const teams = rules.escalation_teams;
  if (reason != null && Object.prototype.hasOwnProperty.call(teams, reason)) return teams[reason];
  return teams.other;
}

/** The note on an escalated ticket: "Passed to our billing team. Someone from …". */
export function escalationNote(reason: string | null | undefined): string {
  return `Passed to ${escalationTeam(reason)}. Someone from the team will reply to you personally.`;
}

/** The status as announced to screen readers; for an escalated ticket with its team. */
export function ticketStatusText(ticket: { status: string; escalation_reason?: string | null }): string {
  const label = statusLabel(ticket.status);
  return ticket.status === 'escalated' ? `${label} — passed to ${escalationTeam(ticket.escalation_reason)}` : label;
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

/** The customer's proven channels as one phrase ("Email and WhatsApp"); null when there are none. */
export function channelsText(channels: readonly string[] | undefined): string | null {
  if (!channels || channels.length === 0) return null;
  return new Intl.ListFormat('en', { style: 'long', type: 'conjunction' }).format(channels.map(channelLabel));
}
