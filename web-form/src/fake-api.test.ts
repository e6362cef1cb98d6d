// The fake API (e2e/fake-api.mjs) stands in for the server in the e2e tests: it must
// give the same answer as the form's own checks, and keep the server's contract.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeApi, validatePayload, type FakeApi } from '../e2e/fake-api.mjs';
import { rules } from './rules';
import { FIELDS, toPayload, validate, type FormValues } from './validation';

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
