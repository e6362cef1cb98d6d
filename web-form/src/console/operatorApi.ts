// The operator API (docs/operator-api.md) as the console calls it: every request carries
// the operator's ID token, and a 401 (no token, an expired or a foreign one) signs them out.
import {
  isRecord,
  load,
  normalizeApiBase,
  postIdempotent,
  type LoadResult,
  type RequestOptions,
  type SendResult,
} from '../api';
import { filtersToQuery, type QueueFilters } from './routes';

export interface Sla {
  state: 'on_track' | 'at_risk' | 'breached' | 'met' | string;
  first_response_due: string | null;
  resolution_due: string | null;
  first_response_at: string | null;
}

export interface TicketSummary {
  id: string;
  subject: string;
  channel: string;
  status: string;
  category: string;
  priority: string;
  escalation_reason: string | null;
  handled_by: 'agent' | 'person' | string;
  assignee: string | null;
  customer_id: string;
  created_at: string;
  updated_at: string;
  age_minutes: number;
  sla: Sla;
}

export interface Queue {
  tickets: TicketSummary[];
  sla_counts: { at_risk: number; breached: number };
}

export interface Escalation {
  reason: string;
  note: string | null;
  summary: string | null;
}

export interface OperatorMessage {
  id: string;
  ticket_id: string;
  direction: 'inbound' | 'outbound' | string;
  channel: string;
  author: 'customer' | 'agent' | 'person' | string;
  author_name: string | null;
  body: string;
  created_at: string;
  delivery_status: string | null;
}

export interface Verdict {
  outcome: 'approved' | 'edited' | 'rejected' | string;
  by: string;
  at: string;
}

export interface Decision {
  id: string;
  ticket_id: string;
  message_id: string;
  kind: 'category' | 'strategy' | 'escalation' | 'draft' | string;
  value: string;
  confidence: number | null;
  at: string;
  verdict: Verdict | null;
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  detail: string;
  why: string | null;
}

export interface TicketDetail {
  ticket: TicketSummary;
  escalation: Escalation | null;
  messages: OperatorMessage[];
  decisions: Decision[];
  audit: AuditEntry[];
}

export interface Preview {
  channel: string;
  subject: string | null;
  parts: string[];
}

export interface Draft {
  ticket_id: string;
  message_id: string;
  channel: string;
  body: string;
  confidence: number | null;
  created_at: string;
  subject: string;
}

export interface Proposal {
  id: string;
  question: string;
  answer: string;
  source_ticket: string;
  status: 'pending' | 'approved' | 'rejected' | string;
  created_at: string;
}

export interface Reviews {
  drafts: Draft[];
  proposals: Proposal[];
}

export interface AgreementRow {
  kind: string;
  decided: number;
  reviewed: number;
  agreed: number;
  rate: number | null;
}

export interface Operator {
  sub: string;
  username: string;
  email: string | null;
}

export interface Resolution {
  ticket: TicketSummary;
  proposal: Proposal | null;
}

/** A body is taken as the type when it has the fields named (the server is trusted for the rest). */
function shaped<T>(...fields: string[]): (body: unknown) => T | null {
  return (body) => (isRecord(body) && fields.every((f) => f in body) ? (body as T) : null);
}

const arrays =
  <T>(...fields: string[]) =>
  (body: unknown): T | null =>
    isRecord(body) && fields.every((f) => Array.isArray(body[f])) ? (body as T) : null;

const readSummary = shaped<TicketSummary>('id', 'status', 'sla');
const readDetail = (body: unknown): TicketDetail | null =>
  isRecord(body) && readSummary(body.ticket) ? arrays<TicketDetail>('messages', 'decisions', 'audit')(body) : null;
/** The answers whose body the console does not read (a draft's reject is a bare 200). */
const anything = (): true => true;

export interface OperatorClientOptions {
  apiBase: string;
  /** The ID token (`Authorization: Bearer`). */
  token: string;
  /** The API refused the token: the console signs the operator out. */
  onUnauthorized: () => void;
  fetchImpl?: RequestOptions['fetchImpl'];
}

export type OperatorClient = ReturnType<typeof operatorClient>;

export function operatorClient({ apiBase, token, onUnauthorized, fetchImpl }: OperatorClientOptions) {
  const base = normalizeApiBase(apiBase);
  const headers = { Authorization: `Bearer ${token}` };
  const enc = encodeURIComponent;

  function guard<R extends LoadResult<unknown> | SendResult<unknown>>(r: R): R {
    if (r.kind === 'rejected' && r.status === 401) onUnauthorized();
    return r;
  }
  const get = <T>(path: string, read: (body: unknown) => T | null, signal?: AbortSignal) =>
    load(`${base}${path}`, { fetchImpl, signal, headers }, read).then(guard);
  /** A write: `key` is the attempt's Idempotency-Key, the same on a retry. */
  const post = <T>(path: string, payload: unknown, read: (body: unknown) => T | null, key?: string) =>
    postIdempotent(`${base}${path}`, payload, { fetchImpl, headers, idempotencyKey: key }, read).then(guard);

  return {
    /** Who is signed in; also keeps them online (assignable) for five minutes. */
    me: () => get('/operator/me', shaped<Operator>('sub', 'username')),
    tickets: (filters: QueueFilters, signal?: AbortSignal) =>
      get(`/operator/tickets${filtersToQuery(filters)}`, arrays<Queue>('tickets'), signal),
    ticket: (id: string, signal?: AbortSignal) => get(`/operator/tickets/${enc(id)}`, readDetail, signal),
    /** How `body` will look on the ticket's channel; changes nothing. */
    preview: (id: string, body: string) =>
      post(`/operator/tickets/${enc(id)}/preview`, { body }, arrays<Preview>('parts')),
    reply: (id: string, body: string, key: string) =>
      post(`/operator/tickets/${enc(id)}/replies`, { body }, shaped<{ message_id: string; status: string }>('message_id'), key),
    handBack: (id: string, note: string | null, key: string) =>
      post(`/operator/tickets/${enc(id)}/hand-back`, { note }, readSummary, key),
    resolve: (id: string, payload: { notes: string; question: string | null; answer: string | null }, key: string) =>
      post(`/operator/tickets/${enc(id)}/resolve`, payload, shaped<Resolution>('ticket'), key),
    reviews: (signal?: AbortSignal) => get('/operator/reviews', arrays<Reviews>('drafts', 'proposals'), signal),
    agreement: (signal?: AbortSignal) => get('/operator/agreement', arrays<{ by_kind: AgreementRow[] }>('by_kind'), signal),
    /** Sends the draft; a `body` other than the draft's is an edit. */
    approveDraft: (draft: Draft, body: string | null, key: string) =>
      post(`/operator/drafts/${enc(draft.ticket_id)}/${enc(draft.message_id)}/approve`, { body }, anything, key),
    rejectDraft: (draft: Draft, note: string | null, key: string) =>
      post(`/operator/drafts/${enc(draft.ticket_id)}/${enc(draft.message_id)}/reject`, { note }, anything, key),
    approveProposal: (id: string, edits: { question: string | null; answer: string | null }, key: string) =>
      post(`/operator/proposals/${enc(id)}/approve`, edits, shaped<Proposal>('id'), key),
    rejectProposal: (id: string, key: string) => post(`/operator/proposals/${enc(id)}/reject`, {}, shaped<Proposal>('id'), key),
  };
}

/** What went wrong with a call, for the operator (a 401 never gets here: it signs out). */
export function failureText(
  result: Exclude<LoadResult<unknown>, { kind: 'found' }> | Exclude<SendResult<unknown>, { kind: 'success' }>,
): string {
  switch (result.kind) {
    case 'not_found':
      return 'Not found: it may have been removed.';
    case 'validation':
      return [...Object.values(result.fieldErrors), ...result.otherErrors].join(' ');
    case 'rejected':
      return result.message;
    case 'unreachable':
      return result.reason === 'timeout'
        ? 'The operator API did not answer in time. Please try again.'
        : "We couldn't reach the operator API. Please try again.";
  }
}

/** Calls `ping` now and every `intervalMs` (the operator's presence); returns the stop. */
export function startPresence(ping: () => void, intervalMs = 60_000): () => void {
  ping();
  const timer = setInterval(ping, intervalMs);
  return () => clearInterval(timer);
}
