// The fake API (e2e/fake-api.mjs) stands in for the server in the e2e tests: it must
// give the same answer as the form's own checks, and keep the server's contract.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeApi, validateFollowUp, validatePayload, type FakeApi } from '../e2e/fake-api.mjs';
import { rules } from './rules';
import { FIELDS, toFollowUpPayload, toPayload, validate, validateMessage, type FormValues } from './validation';

const valid: FormValues = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  subject: 'Cannot export board',
  category: rules.categories[0],
  priority: rules.default_priority,
  message: 'The CSV export button does nothing on my board.',
};

const cases: [string, Partial<FormValues>][] = [
  ['a valid form', {}],
  ['bidi controls everywhere', { name: '\u202EAda\u202C', subject: 'Invoice \u202Efdp.exe', message: 'Hi \u2066there\u2069, help me.' }],
  ['invisible-only name and subject', { name: '\u200B\u200D\u2060', subject: ' \uFEFF \u00AD ' }],
  ['bidi-only email', { email: '\u200E\u202E' }],
  ['a tab in the name', { name: 'Ada\tLovelace' }],
  ['a newline in the subject', { subject: 'Cannot\nexport board' }],
  ['NUL in the message', { message: 'Hello\u0000there, the board is broken' }],
  ['escape in the message', { message: 'Hello\u001B[2Jthere, the board is broken' }],
  ['newlines and tabs in the message', { message: 'Hello,\n\n\tthe board\r\nis broken.' }],
  ['too short', { name: 'a'.repeat(rules.name.min - 1), subject: 'a'.repeat(rules.subject.min - 1) }],
  ['too long', { message: 'a'.repeat(rules.message.max + 1) }],
  ['an unknown category and priority', { category: 'no_such_category', priority: 'urgent' }],
  ['a bad email', { email: 'ada@example' }],
];

describe('the fake API validates like the form', () => {
  it.each(cases)('%s', (_name, overrides) => {
    const values = { ...valid, ...overrides };
    // Both what the form sends (bidi controls removed, trimmed) and the raw input get the form's verdict.
    const fromForm = Object.keys(validate(values)).sort();
    const fromFake = validatePayload(toPayload(values)).map((e) => e.field).sort();
    const fromFakeRaw = validatePayload(values).map((e) => e.field).sort();
    expect(fromFake).toEqual(fromForm);
    expect(fromFakeRaw).toEqual(fromForm);
  });
  it.each(rules.categories)('accepts category %s', (category) => {
    expect(validatePayload(toPayload({ ...valid, category }))).toEqual([]);
  });
  it("uses the server's messages", () => {
    const errors = validatePayload({ ...valid, name: '\u200B', subject: 'Re:\tx y z', message: 'Hello\u0000there, it broke' });
    expect(errors).toEqual([
      { field: 'name', message: 'Name is required' },
      { field: 'subject', message: 'Subject must be a single line of text' },
      { field: 'message', message: 'Message contains characters that are not text' },
    ]);
    // Every missing required field at once, in the server's order.
    expect(validatePayload({}).map((e) => e.field)).toEqual(FIELDS.filter((f) => f !== 'priority'));
  });
});

describe('the fake API keeps the contract', () => {
  let api: FakeApi;
  let base: string;
  beforeAll(async () => {
    api = createFakeApi({ replyAfterMs: 0 });
    base = await api.listen(0);
  });
  afterAll(() => api.close());

  const submit = (key?: string, body: unknown = toPayload(valid)) =>
    fetch(`${base}/support/submit`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
      body: JSON.stringify(body),
    });

  it('a repeated Idempotency-Key answers 200 with the same ticket; a new key, 201 and a new ticket', async () => {
    const first = await submit('attempt-aaaa-0001');
    expect(first.status).toBe(201);
    const created = await first.json();
    const again = await submit('attempt-aaaa-0001');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(created);
    const other = await submit('attempt-aaaa-0002');
    expect(other.status).toBe(201);
    expect((await other.json()).ticket_id).not.toBe(created.ticket_id);
    expect(api.tickets.size).toBe(2);
  });

  it('refuses a malformed key with 400 and makes no ticket', async () => {
    const before = api.tickets.size;
    for (const key of ['short', 'x'.repeat(129), 'no spaces allowed', 'semi;colon']) {
      const res = await submit(key);
      expect(res.status).toBe(400);
      expect((await res.json()).error).toBe('invalid_idempotency_key');
    }
    expect(api.tickets.size).toBe(before);
  });

  it('allows the Idempotency-Key header cross-origin', async () => {
    const res = await fetch(`${base}/support/submit`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://partner.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,idempotency-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
  });

  it('the status JSON has no sentiment, and an escalation reason from the rules only while escalated', async () => {
    const answered = await (await submit('attempt-bbbb-0001')).json();
    const escalatedReq = await submit('attempt-bbbb-0002', toPayload({ ...valid, subject: 'Money back [escalate:refund]' }));
    const escalated = await escalatedReq.json();
    const view = async (id: string) => (await fetch(`${base}/support/ticket/${id}`)).json();
    const a = await view(answered.ticket_id);
    const e = await view(escalated.ticket_id);
    expect(a).not.toHaveProperty('sentiment');
    expect(e).not.toHaveProperty('sentiment');
    expect(a.status).toBe('answered');
    expect(a.escalation_reason).toBeNull();
    expect(e.status).toBe('escalated');
    expect(e.escalation_reason).toBe('refund');
    expect(Object.keys(rules.escalation_teams)).toContain(e.escalation_reason);
  });
});

describe('the fake API validates a follow-up like the form', () => {
  const messages = cases.map(([name, overrides]) => [name, overrides.message ?? valid.message] as const);
  it.each(messages)('%s', (_name, message) => {
    const fromForm = validateMessage(message) ? ['message'] : [];
    expect(validateFollowUp(toFollowUpPayload(message)).map((e) => e.field)).toEqual(fromForm);
    expect(validateFollowUp({ message }).map((e) => e.field)).toEqual(fromForm);
  });
  it('gives each error a code and the server\'s message', () => {
    expect(validateFollowUp({ message: 'short' })).toEqual([
      { field: 'message', message: `Message must be at least ${rules.message.min} characters` },
    ]);
    expect(validateFollowUp({})).toEqual([{ field: 'message', message: 'Message is required' }]);
    expect(validateFollowUp([])).toEqual([{ field: 'body', message: 'body must be a JSON object' }]);
  });
});

describe('the fake API keeps the follow-up contract', () => {
  const replyAfterMs = 150;
  let api: FakeApi;
  let base: string;
  beforeAll(async () => {
    api = createFakeApi({ replyAfterMs });
    base = await api.listen(0);
  });
  afterAll(() => api.close());

  const json = { 'Content-Type': 'application/json' };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const view = async (id: string) => (await fetch(`${base}/support/ticket/${id}`)).json();
  async function newTicket(overrides: Partial<FormValues> = {}): Promise<string> {
    const res = await fetch(`${base}/support/submit`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(toPayload({ ...valid, ...overrides })),
    });
    return (await res.json()).ticket_id;
  }
  const followUp = (id: string, body: unknown, key?: string, headers: Record<string, string> = json) =>
    fetch(`${base}/support/ticket/${id}/messages`, {
      method: 'POST',
      headers: { ...headers, ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('201 on the first post; the same key again is a 200 replay with the same body and adds nothing', async () => {
    const id = await newTicket();
    const first = await followUp(id, { message: 'And can I export only one column?' }, 'follow-up-0001');
    expect(first.status).toBe(201);
    const accepted = await first.json();
    expect(accepted).toEqual({
      ticket_id: id,
      message: 'Thanks — we have your message. You will get an answer by email and here.',
    });
    const again = await followUp(id, { message: 'And can I export only one column?' }, 'follow-up-0001');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(accepted);
    const other = await followUp(id, { message: 'And can I export only one column?' }, 'follow-up-0002');
    expect(other.status).toBe(201);
    const bodies = (await view(id)).messages.map((m: { body: string }) => m.body);
    expect(bodies.filter((b: string) => b === 'And can I export only one column?')).toHaveLength(2);
  });

  it('the key is scoped to the ticket: the same key on another ticket adds a message there', async () => {
    const [a, b] = [await newTicket(), await newTicket()];
    expect((await followUp(a, { message: 'One more question here' }, 'follow-up-0003')).status).toBe(201);
    expect((await followUp(b, { message: 'One more question here' }, 'follow-up-0003')).status).toBe(201);
  });

  it('an answered ticket goes back to open with the message, then is answered again', async () => {
    const id = await newTicket();
    await sleep(replyAfterMs + 20);
    const answered = await view(id);
    expect(answered.status).toBe('answered');
    expect((await followUp(id, { message: '  And can I export only one column?  ' }, 'follow-up-0004')).status).toBe(201);
    const reopened = await view(id);
    expect(reopened.status).toBe('open');
    expect(reopened.messages.at(-1)).toMatchObject({ direction: 'inbound', channel: 'web_form', body: 'And can I export only one column?' });
    await sleep(replyAfterMs + 20);
    const again = await view(id);
    expect(again.status).toBe('answered');
    expect(again.messages.map((m: { direction: string }) => m.direction)).toEqual(['inbound', 'outbound', 'inbound', 'outbound']);
  });

  it('an escalated ticket stays escalated', async () => {
    const id = await newTicket({ subject: 'Money back please [escalate:refund]' });
    await sleep(replyAfterMs + 20);
    expect((await followUp(id, { message: 'Any news on my refund?' }, 'follow-up-0005')).status).toBe(201);
    const t = await view(id);
    expect(t.status).toBe('escalated');
    expect(t.escalation_reason).toBe('refund');
  });

  it('422 in the submit route\'s shape, with codes; nothing is added', async () => {
    const id = await newTicket();
    const res = await followUp(id, { message: ' short ' }, 'follow-up-0006');
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      error: 'validation_failed',
      errors: [{ field: 'message', message: `Message must be at least ${rules.message.min} characters` }],
    });
    expect((await view(id)).messages).toHaveLength(1);
  });

  it('404 for an unknown ticket; 415, 413 and 400 for malformed requests', async () => {
    const id = await newTicket();
    const ok = { message: 'One more question here' };
    const notFound = await followUp(`tkt_${'0'.repeat(32)}`, ok, 'follow-up-0007');
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toEqual({ error: 'not_found', message: 'No ticket with that id' });
    expect((await followUp(id, ok, 'follow-up-0008', { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await followUp(id, { message: 'x'.repeat(rules.max_body_bytes) }, 'follow-up-0009')).status).toBe(413);
    expect((await followUp(id, '{not json', 'follow-up-0010')).status).toBe(400);
    const badKey = await followUp(id, ok, 'bad key');
    expect(badKey.status).toBe(400);
    expect((await badKey.json()).error).toBe('invalid_idempotency_key');
    expect((await view(id)).messages).toHaveLength(1);
  });

  it('has_original only on an email message whose original differs; the original route gives it or 404', async () => {
    const emailed = await view(await newTicket({ subject: 'Export question [email]' }));
    const typed = await view(await newTicket());
    const [email] = emailed.messages;
    expect(email).toMatchObject({ channel: 'email', has_original: true, body: valid.message });
    expect(email).not.toHaveProperty('original');
    expect(typed.messages[0]).not.toHaveProperty('has_original');
    const url = (t: { ticket_id: string }, mid: string) => `${base}/support/ticket/${t.ticket_id}/messages/${mid}/original`;
    const res = await fetch(url(emailed, email.message_id));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(['message_id', 'original']);
    expect(body.message_id).toBe(email.message_id);
    expect(body.original.startsWith(`${valid.message}\n\n-- \n`)).toBe(true);
    expect(body.original).toContain('> Thanks for reaching out.');
    expect((await fetch(url(typed, typed.messages[0].message_id))).status).toBe(404);
    expect((await fetch(url(emailed, '0000000000000-in-0000000000000000'))).status).toBe(404);
  });
});
