import { afterEach, describe, expect, it, vi } from 'vitest';
import { IDEMPOTENCY_KEY_RE } from '../idempotency';
import { jsonResponse } from '../testing';
import { failureText, operatorClient, startPresence, type Draft } from './operatorApi';
import { NO_FILTERS } from './routes';

const TOKEN = 'eyJ.id-token.sig';
const summary = {
  id: 'tkt_1',
  subject: 'Refund please',
  channel: 'email',
  status: 'escalated',
  sla: { state: 'at_risk', first_response_due: null, resolution_due: null, first_response_at: null },
};

function client(answer: (url: string, init?: RequestInit) => Response) {
  const fetchImpl = vi.fn(async (url: string, init?: RequestInit) => answer(url, init));
  const onUnauthorized = vi.fn();
  const api = operatorClient({ apiBase: 'https://api.example.com/', token: TOKEN, onUnauthorized, fetchImpl });
  const header = (i: number, name: string) => (fetchImpl.mock.calls[i][1]?.headers as Record<string, string>)[name];
  return { api, fetchImpl, onUnauthorized, header };
}

describe('the operator API client', () => {
  it('sends the ID token as a Bearer token on reads and writes', async () => {
    const c = client(() => jsonResponse(200, { tickets: [], sla_counts: { at_risk: 0, breached: 0 } }));
    await c.api.tickets(NO_FILTERS);
    expect(c.fetchImpl.mock.calls[0][0]).toBe('https://api.example.com/operator/tickets');
    expect(c.header(0, 'Authorization')).toBe(`Bearer ${TOKEN}`);
    await c.api.reply('tkt_1', 'Hello', 'key-0001');
    expect(c.header(1, 'Authorization')).toBe(`Bearer ${TOKEN}`);
    expect(c.header(1, 'Idempotency-Key')).toBe('key-0001');
    expect(c.header(1, 'Content-Type')).toBe('application/json');
  });

  it('puts the filters in the query and ids in the path, encoded', async () => {
    const c = client(() => jsonResponse(200, { tickets: [], sla_counts: { at_risk: 0, breached: 0 } }));
    await c.api.tickets({ ...NO_FILTERS, status: 'escalated', sla: 'breached', older_than: '30' });
    expect(c.fetchImpl.mock.calls[0][0]).toBe('https://api.example.com/operator/tickets?status=escalated&sla=breached&older_than=30');
    await c.api.ticket('a/b?c');
    expect(c.fetchImpl.mock.calls[1][0]).toBe('https://api.example.com/operator/tickets/a%2Fb%3Fc');
  });

  it('reads a ticket and its parts', async () => {
    const detail = { ticket: summary, escalation: null, messages: [], decisions: [], audit: [] };
    const c = client(() => jsonResponse(200, detail));
    expect(await c.api.ticket('tkt_1')).toEqual({ kind: 'found', value: detail });
  });

  it('a 200 without the fields asked for is a server failure', async () => {
    const c = client(() => jsonResponse(200, { ticket: summary }));
    expect(await c.api.ticket('tkt_1')).toEqual({ kind: 'unreachable', reason: 'server' });
  });

  it('a 401 signs the operator out, on a read and on a write', async () => {
    const c = client(() => jsonResponse(401, { message: 'Unauthorized' }));
    const read = await c.api.me();
    expect(read).toEqual({ kind: 'rejected', status: 401, message: 'Unauthorized' });
    expect(c.onUnauthorized).toHaveBeenCalledTimes(1);
    await c.api.handBack('tkt_1', null, 'key-0002');
    expect(c.onUnauthorized).toHaveBeenCalledTimes(2);
  });

  it("other refusals keep the operator signed in and say the API's error", async () => {
    const c = client(() => jsonResponse(409, { error: 'The ticket is resolved: it takes no more replies.' }));
    const r = await c.api.reply('tkt_1', 'Hello', 'key-0003');
    expect(r).toEqual({ kind: 'rejected', status: 409, message: 'The ticket is resolved: it takes no more replies.' });
    expect(c.onUnauthorized).not.toHaveBeenCalled();
    if (r.kind === 'rejected') expect(failureText(r)).toBe('The ticket is resolved: it takes no more replies.');
  });

  it('404 is not found; 503 and a dead network are unreachable', async () => {
    expect(await client(() => jsonResponse(404, { error: 'No such ticket' })).api.ticket('x')).toEqual({ kind: 'not_found' });
    const busy = await client(() => jsonResponse(503, { error: 'try again' })).api.reviews();
    expect(busy).toEqual({ kind: 'unreachable', reason: 'server' });
    const down = client(() => {
      throw new TypeError('Failed to fetch');
    });
    const r = await down.api.agreement();
    expect(r).toEqual({ kind: 'unreachable', reason: 'network' });
    if (r.kind === 'unreachable') expect(failureText(r)).toMatch(/couldn't reach the operator API/);
    expect(down.onUnauthorized).not.toHaveBeenCalled();
  });

  it("posts each write's body to its route", async () => {
    const c = client((url) =>
      jsonResponse(url.includes('/resolve') ? 200 : url.endsWith('/replies') ? 202 : 200, {
        ticket: summary,
        proposal: null,
        message_id: 'm1',
        status: 'queued',
        id: 'p1',
      }),
    );
    const draft = { ticket_id: 'tkt_1', message_id: 'm/2' } as Draft;
    await c.api.reply('tkt_1', 'Hi', 'k-000001');
    await c.api.resolve('tkt_1', { notes: 'Refunded', question: 'Refund?', answer: null }, 'k-000002');
    await c.api.approveDraft(draft, null, 'k-000003');
    await c.api.rejectDraft(draft, 'Wrong article', 'k-000004');
    await c.api.approveProposal('p1', { question: null, answer: 'Better' }, 'k-000005');
    await c.api.rejectProposal('p1', 'k-000006');
    await c.api.handBack('tkt_1', 'Back to you', 'k-000007');
    const calls = c.fetchImpl.mock.calls.map(([url, init]) => [url.replace('https://api.example.com', ''), JSON.parse(init?.body as string)]);
    expect(calls).toEqual([
      ['/operator/tickets/tkt_1/replies', { body: 'Hi' }],
      ['/operator/tickets/tkt_1/resolve', { notes: 'Refunded', question: 'Refund?', answer: null }],
      ['/operator/drafts/tkt_1/m%2F2/approve', { body: null }],
      ['/operator/drafts/tkt_1/m%2F2/reject', { note: 'Wrong article' }],
      ['/operator/proposals/p1/approve', { question: null, answer: 'Better' }],
      ['/operator/proposals/p1/reject', {}],
      ['/operator/tickets/tkt_1/hand-back', { note: 'Back to you' }],
    ]);
  });

  it('a preview changes nothing: any key will do, a fresh one per call', async () => {
    const c = client(() => jsonResponse(200, { channel: 'whatsapp', subject: null, parts: ['Hi', 'Second'] }));
    expect(await c.api.preview('tkt_1', 'Hi\n\nSecond')).toEqual({
      kind: 'success',
      data: { channel: 'whatsapp', subject: null, parts: ['Hi', 'Second'] },
    });
    await c.api.preview('tkt_1', 'Hi');
    expect(c.header(0, 'Idempotency-Key')).toMatch(IDEMPOTENCY_KEY_RE);
    expect(c.header(1, 'Idempotency-Key')).not.toBe(c.header(0, 'Idempotency-Key'));
  });
});

describe('presence', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  it('pings at once and every minute until stopped', () => {
    vi.useFakeTimers();
    const ping = vi.fn();
    const stop = startPresence(ping);
    expect(ping).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60_000);
    expect(ping).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(120_000);
    expect(ping).toHaveBeenCalledTimes(4);
    stop();
    vi.advanceTimersByTime(600_000);
    expect(ping).toHaveBeenCalledTimes(4);
  });
});
