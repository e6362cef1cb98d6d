// The console's hash routes: #/ (the queue, its filters in a query: #/?status=escalated),
// #/tickets/<id> and #/reviews. The queue's filters are the API's query as well.
import { safeDecode } from '../config';

/** The enum texts of docs/operator-api.md the queue filters on. */
export const STATUSES = ['open', 'answered', 'escalated', 'resolved'] as const;
export const CHANNELS = ['email', 'whatsapp', 'web_form'] as const;
export const REASONS = [
  'pricing',
  'refund',
  'legal',
  'sentiment',
  'human_request',
  'no_answer',
  'other',
  'window_closed',
  'delivery_failed',
] as const;
export const SLA_STATES = ['on_track', 'at_risk', 'breached', 'met'] as const;

/** The queue's filters; '' is "any". `older_than` is whole minutes since the ticket was opened. */
export interface QueueFilters {
  status: string;
  channel: string;
  reason: string;
  sla: string;
  older_than: string;
}

export const NO_FILTERS: QueueFilters = { status: '', channel: '', reason: '', sla: '', older_than: '' };

const CHOICES: Record<Exclude<keyof QueueFilters, 'older_than'>, readonly string[]> = {
  status: STATUSES,
  channel: CHANNELS,
  reason: REASONS,
  sla: SLA_STATES,
};

/** Whole minutes, as `older_than` takes them. */
export function isMinutes(value: string): boolean {
  return /^\d{1,6}$/.test(value.trim());
}

/** `?status=escalated&older_than=30` for the filters set (in the API's order), '' for none. */
export function filtersToQuery(filters: QueueFilters): string {
  const q = new URLSearchParams();
  for (const [name, allowed] of Object.entries(CHOICES)) {
    const v = filters[name as keyof typeof CHOICES];
    if (allowed.includes(v)) q.set(name, v);
  }
  if (isMinutes(filters.older_than)) q.set('older_than', String(Number(filters.older_than.trim())));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The filters in a query (a hand-edited hash too): unknown values are dropped. */
export function filtersFromQuery(query: string): QueueFilters {
  const q = new URLSearchParams(query);
  const filters = { ...NO_FILTERS };
  for (const [name, allowed] of Object.entries(CHOICES)) {
    const v = q.get(name) ?? '';
    if (allowed.includes(v)) filters[name as keyof typeof CHOICES] = v;
  }
  const minutes = q.get('older_than') ?? '';
  if (isMinutes(minutes)) filters.older_than = String(Number(minutes));
  return filters;
}

export type Route =
  | { view: 'queue'; filters: QueueFilters }
  | { view: 'ticket'; id: string }
  | { view: 'reviews' };

export function parseConsoleHash(hash: string): Route {
  const h = hash.replace(/^#/, '');
  const ticket = /^\/tickets\/([^/?#]+)\/?$/.exec(h);
  if (ticket) return { view: 'ticket', id: safeDecode(ticket[1]) };
  if (/^\/reviews\/?$/.test(h)) return { view: 'reviews' };
  const query = h.indexOf('?');
  return { view: 'queue', filters: filtersFromQuery(query < 0 ? '' : h.slice(query + 1)) };
}

export const queueHash = (filters: QueueFilters = NO_FILTERS): string => `#/${filtersToQuery(filters)}`;
export const ticketHash = (id: string): string => `#/tickets/${encodeURIComponent(id)}`;
export const REVIEWS_HASH = '#/reviews';
