import { newIdempotencyKey } from './idempotency';
import { FIELDS, type FieldErrors, type FieldName, type FollowUpPayload, type SubmitPayload } from './validation';

export const SUBMIT_TIMEOUT_MS = 15_000;

export interface SubmitSuccess {
  ticket_id: string;
  message: string;
  estimated_response_time: string;
}

/** The answer to an idempotent POST (a submission or a follow-up). */
export type SendResult<T> =
  | { kind: 'success'; data: T }
  | { kind: 'validation'; fieldErrors: FieldErrors; otherErrors: string[] }
  | { kind: 'rejected'; status: number; message: string }
  | { kind: 'unreachable'; reason: 'timeout' | 'network' | 'server' };

export type SubmitResult = SendResult<SubmitSuccess>;

/** A follow-up the server took (201), or had already taken with the same Idempotency-Key (200). */
export interface FollowUpAccepted {
  ticket_id: string;
  message: string;
}

export type FollowUpResult = SendResult<FollowUpAccepted>;

export interface TicketMessage {
  /** Names the message in `/messages/{message_id}/original`. */
  message_id?: string;
  direction: 'inbound' | 'outbound' | string;
  channel: string;
  /** What the agent read: for an email, without quoted history and signature. */
  body: string;
  created_at: string;
  /** The full message as received differs from `body` and can be fetched. */
  has_original?: boolean;
}

export interface Ticket {
  ticket_id: string;
  status: 'open' | 'answered' | 'escalated' | 'resolved' | string;
  subject: string;
  category: string;
  priority: string;
  created_at: string;
  updated_at: string;
  /** Why a person took over (a code from `escalation_teams` in the rules), only while escalated. */
  escalation_reason: string | null;
  /** The channels the customer has proven they write from; empty while their identity is only claimed. */
  customer_channels?: string[];
  messages: TicketMessage[];
}

/** The answer to a GET of one resource. */
export type LoadResult<T> =
  | { kind: 'found'; value: T }
  | { kind: 'not_found' }
  | { kind: 'rejected'; status: number; message: string }
  | { kind: 'unreachable'; reason: 'timeout' | 'network' | 'server' };

export type TicketResult = Exclude<LoadResult<Ticket>, { kind: 'found' }> | { kind: 'found'; ticket: Ticket };

export const UNREACHABLE_MESSAGE =
  "We couldn't reach support. Your message is still here — please try again.";

/** What to tell the customer when a send was refused or never arrived. */
export function sendFailureText(result: Extract<SendResult<unknown>, { kind: 'rejected' | 'unreachable' }>): string {
  return result.kind === 'rejected' ? result.message : UNREACHABLE_MESSAGE;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  fetchImpl?: FetchLike;
  timeoutMs?: number;
  /** Aborts the request early (e.g. on unmount). */
  signal?: AbortSignal;
  /** Headers beyond the JSON ones (the console's Authorization). */
  headers?: Record<string, string>;
}

export interface SubmitOptions extends RequestOptions {
  /** The attempt's Idempotency-Key; a fresh one when not given. */
  idempotencyKey?: string;
}

/** Removes trailing slashes so `${base}/support/...` never has `//`. */
export function normalizeApiBase(base: string | null | undefined): string {
  return (base ?? '').trim().replace(/\/+$/, '');
}

export function submitUrl(apiBase: string): string {
  return `${normalizeApiBase(apiBase)}/support/submit`;
}

export function ticketUrl(apiBase: string, ticketId: string): string {
  return `${normalizeApiBase(apiBase)}/support/ticket/${encodeURIComponent(ticketId)}`;
}

export function followUpUrl(apiBase: string, ticketId: string): string {
  return `${ticketUrl(apiBase, ticketId)}/messages`;
}

export function originalUrl(apiBase: string, ticketId: string, messageId: string): string {
  return `${followUpUrl(apiBase, ticketId)}/${encodeURIComponent(messageId)}/original`;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Maps a 422 body `{"error":"validation_failed","errors":[{"field","message"}]}`
 * onto per-field errors. Errors for fields the form does not know are
 * returned in `otherErrors` so they are still shown.
 */
export function mapServerErrors(body: unknown): { fieldErrors: FieldErrors; otherErrors: string[] } {
  const fieldErrors: FieldErrors = {};
  const otherErrors: string[] = [];
  const list = isRecord(body) && Array.isArray(body.errors) ? body.errors : [];
  for (const item of list) {
    if (!isRecord(item)) continue;
    const message = typeof item.message === 'string' && item.message.trim() ? item.message.trim() : 'This field is invalid.';
    const field = typeof item.field === 'string' ? item.field : '';
    if ((FIELDS as readonly string[]).includes(field)) {
      const f = field as FieldName;
      if (!fieldErrors[f]) fieldErrors[f] = message;
    } else {
      otherErrors.push(message);
    }
  }
  if (Object.keys(fieldErrors).length === 0 && otherErrors.length === 0) {
    const msg = isRecord(body) && typeof body.message === 'string' ? body.message : 'Please check the form and try again.';
    otherErrors.push(msg);
  }
  return { fieldErrors, otherErrors };
}

/** The human message of a non-422 4xx body `{"error","message"}`. */
export function errorMessageFrom(body: unknown, status: number): string {
  if (isRecord(body)) {
    if (typeof body.message === 'string' && body.message.trim()) return body.message.trim();
    if (typeof body.error === 'string' && body.error.trim()) return humanizeCode(body.error);
  }
  if (status === 429) return 'Too many requests. Please wait a moment and try again.';
  return `The request was not accepted (HTTP ${status}).`;
}

function humanizeCode(code: string): string {
  const t = code.replace(/_/g, ' ').trim();
  // The operator API's `error` is already a sentence for a person.
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');
}

async function readJson(res: Response): Promise<unknown> {
  try {
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** One HTTP exchange with a timeout; the body read as JSON (null when it is not). */
export async function request(
  url: string,
  init: RequestInit,
  opts: RequestOptions,
): Promise<{ res: Response; body: unknown } | { failed: 'timeout' | 'network' }> {
  const fetchImpl: FetchLike = opts.fetchImpl ?? ((i, r) => fetch(i, r));
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, opts.timeoutMs ?? SUBMIT_TIMEOUT_MS);
  const onOuterAbort = () => ctrl.abort();
  opts.signal?.addEventListener('abort', onOuterAbort);
  try {
    const res = await fetchImpl(url, { ...init, signal: ctrl.signal });
    const body = await readJson(res);
    return { res, body };
  } catch {
    return { failed: timedOut ? 'timeout' : 'network' };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * POSTs `payload` as JSON with an Idempotency-Key. 201 (made now) and 200 (made by an
 * earlier request with the same key) are both success; `read` takes the body apart, and a
 * 2xx body it cannot read counts as a server failure.
 */
export async function postIdempotent<T>(
  url: string,
  payload: unknown,
  opts: SubmitOptions,
  read: (body: unknown) => T | null,
): Promise<SendResult<T>> {
  const r = await request(
    url,
    {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'Idempotency-Key': opts.idempotencyKey ?? newIdempotencyKey(),
        ...opts.headers,
      },
      body: JSON.stringify(payload),
    },
    opts,
  );
  if ('failed' in r) return { kind: 'unreachable', reason: r.failed };
  const { res, body } = r;
  if (res.status >= 200 && res.status < 300) {
    const data = read(body);
    return data === null ? { kind: 'unreachable', reason: 'server' } : { kind: 'success', data };
  }
  if (res.status === 422) return { kind: 'validation', ...mapServerErrors(body) };
  if (res.status >= 400 && res.status < 500) {
    return { kind: 'rejected', status: res.status, message: errorMessageFrom(body, res.status) };
  }
  return { kind: 'unreachable', reason: 'server' };
}

const asText = (v: unknown): string => (typeof v === 'string' ? v : '');

function readSubmitSuccess(body: unknown): SubmitSuccess | null {
  if (!isRecord(body) || typeof body.ticket_id !== 'string' || body.ticket_id.length === 0) return null;
  return {
    ticket_id: body.ticket_id,
    message: asText(body.message),
    estimated_response_time: asText(body.estimated_response_time),
  };
}

/** POSTs the form to /support/submit. */
export function submitTicket(apiBase: string, payload: SubmitPayload, opts: SubmitOptions = {}): Promise<SubmitResult> {
  return postIdempotent(submitUrl(apiBase), payload, opts, readSubmitSuccess);
}

function readFollowUpAccepted(body: unknown): FollowUpAccepted | null {
  if (!isRecord(body) || typeof body.ticket_id !== 'string' || body.ticket_id.length === 0) return null;
  return { ticket_id: body.ticket_id, message: asText(body.message) };
}

/**
 * POSTs a follow-up to /support/ticket/{id}/messages. An unknown ticket is `rejected` with
 * status 404 and the server's message.
 */
export function sendFollowUp(
  apiBase: string,
  ticketId: string,
  payload: FollowUpPayload,
  opts: SubmitOptions = {},
): Promise<FollowUpResult> {
  return postIdempotent(followUpUrl(apiBase, ticketId), payload, opts, readFollowUpAccepted);
}

/** GETs `url`; `read` takes a 200 body apart (null: not what was asked for, a server failure). */
export async function load<T>(url: string, opts: RequestOptions, read: (body: unknown) => T | null): Promise<LoadResult<T>> {
  const r = await request(url, { method: 'GET', headers: { Accept: 'application/json', ...opts.headers } }, opts);
  if ('failed' in r) return { kind: 'unreachable', reason: r.failed };
  const { res, body } = r;
  const value = res.status === 200 ? read(body) : null;
  if (value !== null) return { kind: 'found', value };
  if (res.status === 404) return { kind: 'not_found' };
  if (res.status >= 400 && res.status < 500) {
    return { kind: 'rejected', status: res.status, message: errorMessageFrom(body, res.status) };
  }
  return { kind: 'unreachable', reason: 'server' };
}

function readTicket(body: unknown): Ticket | null {
  if (!isRecord(body) || typeof body.ticket_id !== 'string' || typeof body.status !== 'string') return null;
  const ticket = body as unknown as Ticket;
  return { ...ticket, messages: Array.isArray(ticket.messages) ? ticket.messages : [] };
}

export async function fetchTicket(apiBase: string, ticketId: string, opts: RequestOptions = {}): Promise<TicketResult> {
  const r = await load(ticketUrl(apiBase, ticketId), opts, readTicket);
  return r.kind === 'found' ? { kind: 'found', ticket: r.value } : r;
}

/** The full text of a message as received (`not_found` when it has none). */
export function fetchOriginal(
  apiBase: string,
  ticketId: string,
  messageId: string,
  opts: RequestOptions = {},
): Promise<LoadResult<string>> {
  return load(originalUrl(apiBase, ticketId, messageId), opts, (body) =>
    isRecord(body) && typeof body.original === 'string' ? body.original : null,
  );
}

/** Sorts messages oldest first (stable for equal timestamps). */
export function sortMessages(messages: TicketMessage[]): TicketMessage[] {
  return messages
    .map((m, i) => ({ m, i, t: Date.parse(m.created_at) }))
    .sort((a, b) => (Number.isNaN(a.t) || Number.isNaN(b.t) ? a.i - b.i : a.t - b.t || a.i - b.i))
    .map((x) => x.m);
}

export const POLL_INTERVAL_MS = 3_000;
export const POLL_MAX_MS = 5 * 60_000;

/** Poll again in 3 s only while the ticket is `open` and for at most 5 minutes. */
export function shouldPollAgain(status: string, elapsedMs: number): boolean {
  return status === 'open' && elapsedMs + POLL_INTERVAL_MS <= POLL_MAX_MS;
}
