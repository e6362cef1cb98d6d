import { describe, expect, it, vi } from 'vitest';
import {
  errorMessageFrom,
  fetchOriginal,
  fetchTicket,
  followUpUrl,
  mapServerErrors,
  normalizeApiBase,
  originalUrl,
  sendFollowUp,
  shouldPollAgain,
  sortMessages,
  submitTicket,
  submitUrl,
  ticketUrl,
} from './api';
import { IDEMPOTENCY_KEY_RE } from './idempotency';
import { rules } from './rules';
import { jsonResponse } from './testing';
import type { SubmitPayload } from './validation';

const payload: SubmitPayload = {
  name: 'Ada',
  email: 'ada@example.com',
  subject: 'Hello there',
  category: rules.categories[0],
  priority: rules.default_priority,
  message: 'A long enough message',
};

const TID = `tkt_${'ab'.repeat(16)}`;
const MID = '1735812000000-in-0123456789abcdef';

describe('urls', () => {
  it('normalizes the base', () => {
    expect(normalizeApiBase('')).toBe('');
    expect(normalizeApiBase(undefined)).toBe('');
    expect(normalizeApiBase('https://api.example.com/')).toBe('https://api.example.com');
    expect(normalizeApiBase(' https://x.example/prod// ')).toBe('https://x.example/prod');
  });
  it('builds endpoint urls', () => {
    expect(submitUrl('')).toBe('/support/submit');
    expect(submitUrl('https://api.example.com/')).toBe('https://api.example.com/support/submit');
    expect(ticketUrl('https://api.example.com', TID)).toBe(`https://api.example.com/support/ticket/${TID}`);
    expect(followUpUrl('https://api.example.com/', TID)).toBe(`https://api.example.com/support/ticket/${TID}/messages`);
    expect(originalUrl('', TID, MID)).toBe(`/support/ticket/${TID}/messages/${MID}/original`);
    expect(originalUrl('', TID, 'a/b?c')).toBe(`/support/ticket/${TID}/messages/a%2Fb%3Fc/original`);
  });
});

describe('mapServerErrors', () => {
  it('maps field errors from a 422 body', () => {
    expect(
      mapServerErrors({
        error: 'validation_failed',
        errors: [
          { field: 'email', message: 'email is not a valid address' },
          { field: 'message', message: 'message must be at least 10 characters' },
        ],
      }),
    ).toEqual({
      fieldErrors: {
        email: 'email is not a valid address',
        message: 'message must be at least 10 characters',
      },
      otherErrors: [],
    });
  });
  it('keeps the first error per field and collects unknown fields', () => {
    const r = mapServerErrors({
      errors: [
        { field: 'name', message: 'first' },
        { field: 'name', message: 'second' },
        { field: 'body', message: 'body too large' },
        { message: 'no field' },
        'junk',
      ],
    });
    expect(r.fieldErrors).toEqual({ name: 'first' });
    expect(r.otherErrors).toEqual(['body too large', 'no field']);
  });
  it('fills a generic message when the body has no errors', () => {
    expect(mapServerErrors(null).otherErrors).toEqual(['Please check the form and try again.']);
    expect(mapServerErrors({ message: 'Bad input' }).otherErrors).toEqual(['Bad input']);
  });
  it('supplies a message when a field error has none', () => {
    expect(mapServerErrors({ errors: [{ field: 'subject' }] }).fieldErrors.subject).toBe('This field is invalid.');
  });
});

describe('errorMessageFrom', () => {
  it('prefers message, then error code', () => {
    expect(errorMessageFrom({ error: 'rate_limited', message: 'Slow down.' }, 429)).toBe('Slow down.');
    expect(errorMessageFrom({ error: 'payload_too_large' }, 413)).toBe('Payload too large.');
    expect(errorMessageFrom(null, 429)).toMatch(/Too many requests/);
    expect(errorMessageFrom(null, 400)).toMatch(/HTTP 400/);
  });
});

describe('submitTicket', () => {
  it('POSTs JSON to /support/submit and returns the ticket on 201', async () => {
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) =>
      jsonResponse(201, { ticket_id: TID, message: 'Thanks!', estimated_response_time: 'within 5 minutes' }),
    );
    const r = await submitTicket('https://api.example.com', payload, { fetchImpl });
    expect(r).toEqual({
      kind: 'success',
      data: { ticket_id: TID, message: 'Thanks!', estimated_response_time: 'within 5 minutes' },
    });
    const [url, init] = fetchImpl.mock.calls[0];
    expect(url).toBe('https://api.example.com/support/submit');
    expect(init?.method).toBe('POST');
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(JSON.parse(init?.body as string)).toEqual(payload);
  });

  it('sends the attempt\'s Idempotency-Key, or a fresh one per call when none is given', async () => {
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) =>
      jsonResponse(201, { ticket_id: TID, message: '', estimated_response_time: '' }),
    );
    const keyOf = (i: number) => (fetchImpl.mock.calls[i][1]?.headers as Record<string, string>)['Idempotency-Key'];
    await submitTicket('', payload, { fetchImpl, idempotencyKey: 'attempt-0001' });
    await submitTicket('', payload, { fetchImpl, idempotencyKey: 'attempt-0001' });
    expect(keyOf(0)).toBe('attempt-0001');
    expect(keyOf(1)).toBe('attempt-0001');
    await submitTicket('', payload, { fetchImpl });
    await submitTicket('', payload, { fetchImpl });
    expect(keyOf(2)).toMatch(IDEMPOTENCY_KEY_RE);
    expect(keyOf(3)).toMatch(IDEMPOTENCY_KEY_RE);
    expect(keyOf(3)).not.toBe(keyOf(2));
  });

  it('200 (a repeat of the same key: the ticket already made) is success like 201', async () => {
    const body = { ticket_id: TID, message: 'Thanks!', estimated_response_time: 'within 5 minutes' };
    const first = await submitTicket('', payload, { fetchImpl: async () => jsonResponse(201, body), idempotencyKey: 'attempt-0002' });
    const again = await submitTicket('', payload, { fetchImpl: async () => jsonResponse(200, body), idempotencyKey: 'attempt-0002' });
    expect(first).toEqual({ kind: 'success', data: body });
    expect(again).toEqual(first);
  });

  it('maps 422 to field errors', async () => {
    const fetchImpl = async () =>
      jsonResponse(422, { error: 'validation_failed', errors: [{ field: 'email', message: 'bad email' }] });
    expect(await submitTicket('', payload, { fetchImpl })).toEqual({
      kind: 'validation',
      fieldErrors: { email: 'bad email' },
      otherErrors: [],
    });
  });

  it('shows the message of other 4xx', async () => {
    const fetchImpl = async () => jsonResponse(429, { error: 'rate_limited', message: 'Too many submissions.' });
    expect(await submitTicket('', payload, { fetchImpl })).toEqual({
      kind: 'rejected',
      status: 429,
      message: 'Too many submissions.',
    });
  });

  it('treats 5xx, a non-JSON 2xx, and network errors as unreachable', async () => {
    expect(await submitTicket('', payload, { fetchImpl: async () => jsonResponse(503, { error: 'x' }) })).toEqual({
      kind: 'unreachable',
      reason: 'server',
    });
    expect(
      await submitTicket('', payload, { fetchImpl: async () => new Response('<html>', { status: 200 }) }),
    ).toEqual({ kind: 'unreachable', reason: 'server' });
    expect(
      await submitTicket('', payload, {
        fetchImpl: async () => {
          throw new TypeError('Failed to fetch');
        },
      }),
    ).toEqual({ kind: 'unreachable', reason: 'network' });
  });

  it('times out via AbortController', async () => {
    vi.useFakeTimers();
    try {
      let seen: AbortSignal | undefined;
      const fetchImpl = (_url: string, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          seen = init?.signal ?? undefined;
          init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        });
      const p = submitTicket('', payload, { fetchImpl });
      await vi.advanceTimersByTimeAsync(14_999);
      expect(seen?.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await p).toEqual({ kind: 'unreachable', reason: 'timeout' });
      expect(seen?.aborted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('fetchTicket', () => {
  const ticket = {
    ticket_id: TID,
    status: 'answered',
    subject: 'Hello there',
    category: payload.category,
    priority: payload.priority,
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:01:00Z',
    escalation_reason: null,
    messages: [],
  };
  it('GETs /support/ticket/<id>', async () => {
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) => jsonResponse(200, ticket));
    expect(await fetchTicket('https://api.example.com', TID, { fetchImpl })).toEqual({ kind: 'found', ticket });
    expect(fetchImpl.mock.calls[0][0]).toBe(`https://api.example.com/support/ticket/${TID}`);
    expect(fetchImpl.mock.calls[0][1]?.method).toBe('GET');
  });
  it('passes the escalation reason through (the page shows it as a team)', async () => {
    const escalated = { ...ticket, status: 'escalated', escalation_reason: 'refund' };
    const r = await fetchTicket('', TID, { fetchImpl: async () => jsonResponse(200, escalated) });
    expect(r).toEqual({ kind: 'found', ticket: escalated });
  });
  it('404 is not_found', async () => {
    expect(await fetchTicket('', TID, { fetchImpl: async () => jsonResponse(404, { error: 'not_found' }) })).toEqual({
      kind: 'not_found',
    });
  });
  it('defaults missing messages to []', async () => {
    const { messages: _m, ...rest } = ticket;
    const r = await fetchTicket('', TID, { fetchImpl: async () => jsonResponse(200, rest) });
    expect(r.kind === 'found' && r.ticket.messages).toEqual([]);
  });
  it('5xx is unreachable', async () => {
    expect(await fetchTicket('', TID, { fetchImpl: async () => jsonResponse(500, {}) })).toEqual({
      kind: 'unreachable',
      reason: 'server',
    });
  });
});

describe('sendFollowUp', () => {
  const accepted = {
    ticket_id: TID,
    message: 'Thanks — we have your message. You will get an answer by email and here.',
  };
  const headersOf = (fetchImpl: ReturnType<typeof vi.fn>, i = 0) =>
    (fetchImpl.mock.calls[i][1] as RequestInit).headers as Record<string, string>;

  it('POSTs {"message"} as JSON to /support/ticket/<id>/messages with the Idempotency-Key; 201 is success', async () => {
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) => jsonResponse(201, accepted));
    const r = await sendFollowUp('https://api.example.com', TID, { message: 'One more question' }, {
      fetchImpl,
      idempotencyKey: 'attempt-0003',
    });
    expect(r).toEqual({ kind: 'success', data: accepted });
    const [url, init] = fetchImpl.mock.calls[0];
    expect(url).toBe(`https://api.example.com/support/ticket/${TID}/messages`);
    expect(init?.method).toBe('POST');
    expect(headersOf(fetchImpl)).toEqual({
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'Idempotency-Key': 'attempt-0003',
    });
    expect(JSON.parse(init?.body as string)).toEqual({ message: 'One more question' });
  });

  it('200 (the same key again: a replay) is success with the same body; without a key, a fresh one per call', async () => {
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) => jsonResponse(200, accepted));
    const opts = { fetchImpl, idempotencyKey: 'attempt-0004' };
    expect(await sendFollowUp('', TID, { message: 'One more question' }, opts)).toEqual({ kind: 'success', data: accepted });
    await sendFollowUp('', TID, { message: 'One more question' }, { fetchImpl });
    await sendFollowUp('', TID, { message: 'One more question' }, { fetchImpl });
    expect(headersOf(fetchImpl, 1)['Idempotency-Key']).toMatch(IDEMPOTENCY_KEY_RE);
    expect(headersOf(fetchImpl, 2)['Idempotency-Key']).not.toBe(headersOf(fetchImpl, 1)['Idempotency-Key']);
  });

  it('maps 422 onto the message field, as the form does', async () => {
    const fetchImpl = async () =>
      jsonResponse(422, {
        error: 'validation_failed',
        errors: [{ field: 'message', message: 'Message must be at least 10 characters' }],
      });
    expect(await sendFollowUp('', TID, { message: 'short' }, { fetchImpl })).toEqual({
      kind: 'validation',
      fieldErrors: { message: 'Message must be at least 10 characters' },
      otherErrors: [],
    });
  });

  it('404 (no such ticket) and other 4xx are rejected with the server\'s message', async () => {
    const notFound = async () => jsonResponse(404, { error: 'not_found', message: 'No ticket with that id' });
    expect(await sendFollowUp('', TID, { message: 'One more question' }, { fetchImpl: notFound })).toEqual({
      kind: 'rejected',
      status: 404,
      message: 'No ticket with that id',
    });
    const tooLarge = async () => jsonResponse(413, { error: 'payload_too_large', message: 'That request is too large.' });
    expect(await sendFollowUp('', TID, { message: 'x' }, { fetchImpl: tooLarge })).toMatchObject({
      kind: 'rejected',
      status: 413,
    });
  });

  it('503, a 2xx without a ticket id, and network errors are unreachable (a retry is safe)', async () => {
    const unavailable = async () =>
      jsonResponse(503, { error: 'unavailable', message: 'Support is briefly unavailable. Please try again in a minute.' });
    expect(await sendFollowUp('', TID, { message: 'One more question' }, { fetchImpl: unavailable })).toEqual({
      kind: 'unreachable',
      reason: 'server',
    });
    const noId = async () => jsonResponse(201, { message: 'Thanks' });
    expect(await sendFollowUp('', TID, { message: 'One more question' }, { fetchImpl: noId })).toEqual({
      kind: 'unreachable',
      reason: 'server',
    });
    const offline = async (): Promise<Response> => {
      throw new TypeError('Failed to fetch');
    };
    expect(await sendFollowUp('', TID, { message: 'One more question' }, { fetchImpl: offline })).toEqual({
      kind: 'unreachable',
      reason: 'network',
    });
  });
});

describe('fetchOriginal', () => {
  it('GETs /support/ticket/<id>/messages/<message_id>/original and returns the text', async () => {
    const original = 'Hi,\n\nThe export fails.\n\n-- \nAda\n\n> On Monday you wrote:\n> ...';
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) => jsonResponse(200, { message_id: MID, original }));
    expect(await fetchOriginal('https://api.example.com', TID, MID, { fetchImpl })).toEqual({
      kind: 'found',
      value: original,
    });
    expect(fetchImpl.mock.calls[0][0]).toBe(`https://api.example.com/support/ticket/${TID}/messages/${MID}/original`);
    expect(fetchImpl.mock.calls[0][1]?.method).toBe('GET');
  });
  it('404 is not_found; a 200 without the text or a 5xx is unreachable', async () => {
    const answer = (status: number, body: unknown) => fetchOriginal('', TID, MID, { fetchImpl: async () => jsonResponse(status, body) });
    expect(await answer(404, { error: 'not_found', message: 'No original for that message' })).toEqual({ kind: 'not_found' });
    expect(await answer(200, { message_id: MID })).toEqual({ kind: 'unreachable', reason: 'server' });
    expect(await answer(503, { error: 'unavailable' })).toEqual({ kind: 'unreachable', reason: 'server' });
  });
});

describe('sortMessages', () => {
  it('orders oldest first, stable on ties', () => {
    const m = (body: string, created_at: string) => ({ direction: 'inbound', channel: 'web_form', body, created_at });
    expect(
      sortMessages([
        m('c', '2024-01-01T00:02:00Z'),
        m('a', '2024-01-01T00:00:00Z'),
        m('b1', '2024-01-01T00:01:00Z'),
        m('b2', '2024-01-01T00:01:00Z'),
      ]).map((x) => x.body),
    ).toEqual(['a', 'b1', 'b2', 'c']);
  });
});

describe('shouldPollAgain', () => {
  it('polls only while open', () => {
    expect(shouldPollAgain('open', 0)).toBe(true);
    for (const s of ['answered', 'escalated', 'resolved']) expect(shouldPollAgain(s, 0)).toBe(false);
  });
  it('stops after 5 minutes', () => {
    expect(shouldPollAgain('open', 5 * 60_000 - 3_000)).toBe(true);
    expect(shouldPollAgain('open', 5 * 60_000 - 2_999)).toBe(false);
    expect(shouldPollAgain('open', 10 * 60_000)).toBe(false);
  });
});
