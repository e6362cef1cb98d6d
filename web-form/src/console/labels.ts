// How the console names the API's codes. A badge always says its state in words: colour
// only repeats it.
import { humanize } from '../format';
import type { Queue } from './operatorApi';

const SLA_LABELS: Record<string, string> = {
  on_track: 'On track',
  at_risk: 'At risk',
  breached: 'Breached',
  met: 'Met',
};

export function slaLabel(state: string): string {
  return SLA_LABELS[state] ?? humanize(state);
}

const REASON_LABELS: Record<string, string> = {
  human_request: 'Asked for a person',
  no_answer: 'No answer in the knowledge base',
  sentiment: 'Upset customer',
  window_closed: 'WhatsApp window closed',
  delivery_failed: 'Delivery failed',
};

export function reasonLabel(reason: string | null): string {
  if (reason == null) return '—';
  return REASON_LABELS[reason] ?? humanize(reason);
}

/** "45 min", "2 h 5 min", "3 d 4 h": a ticket's age at a glance. */
export function ageText(minutes: number): string {
  const m = Math.max(0, Math.floor(minutes));
  if (m < 60) return `${m} min`;
  if (m < 24 * 60) return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m / 60} h`;
  const hours = Math.floor(m / 60) % 24;
  return hours ? `${Math.floor(m / 1440)} d ${hours} h` : `${Math.floor(m / 1440)} d`;
}

/** Who wrote a message: the customer, the agent, or the person by name. */
export function authorLabel(message: { author: string; author_name: string | null }): string {
  if (message.author === 'customer') return 'Customer';
  if (message.author === 'agent') return 'Agent';
  if (message.author === 'person') return message.author_name ? `${message.author_name} (person)` : 'Support person';
  return humanize(message.author);
}

/** 0.823 → "82%"; null (not measured) → "—". */
export function percent(value: number | null): string {
  return value == null ? '—' : `${Math.round(value * 100)}%`;
}

export function handledByLabel(handledBy: string): string {
  return handledBy === 'person' ? 'A person' : handledBy === 'agent' ? 'The agent' : humanize(handledBy);
}

/** "3 tickets. At risk: 1. Breached: 2." */
export function queueSummary(queue: Queue): string {
  const n = queue.tickets.length;
  return `${n} ${n === 1 ? 'ticket' : 'tickets'}. At risk: ${queue.sla_counts.at_risk}. Breached: ${queue.sla_counts.breached}.`;
}
