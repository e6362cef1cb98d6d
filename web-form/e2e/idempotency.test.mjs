// Idempotent submissions: a retry of the same attempt (same Idempotency-Key) gets the
// ticket the first request made (201, then 200 with the same body), never a second one.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { apiPayload, browserSuite, fillForm, openPage, rules, sampleValues, usingFake } from './run.mjs';

const TICKET_RE = /^tkt_[0-9a-f]{32}$/;
const KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;

const suite = browserSuite('the page');

async function open(hash = '#/') {
  suite.current = await openPage(suite.browser, suite.target.baseUrl);
  await suite.current.page.goto(`${suite.target.baseUrl}/${hash}`);
  await suite.current.page.getByRole('heading', { level: 2 }).first().waitFor();
  return suite.current;
}

/** The Idempotency-Key of every POST /support/submit the page made, in order. */
function submitKeys(current) {
  return current
    .apiRequests('/support/submit')
    .filter((r) => r.method === 'POST')
    .map((r) => r.headers['idempotency-key']);
}

/** Tickets the fake API holds (null on a real stack, where they cannot be counted). */
const ticketCount = () => suite.target.fake?.tickets.size ?? null;

function post(body, key) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (key !== undefined) headers['Idempotency-Key'] = key;
  return fetch(`${suite.target.baseUrl}/support/submit`, { method: 'POST', headers, body: JSON.stringify(body) });
}

describe('idempotent submissions (API)', () => {
  it('a repeat with the same key answers 200 with the same ticket; a new key makes a new ticket', async () => {
    const body = apiPayload({ subject: 'Idempotency: how do I export a board to CSV?' });
    const key = randomUUID();
    const first = await post(body, key);
    assert.equal(first.status, 201);
    const created = await first.json();
    assert.match(created.ticket_id, TICKET_RE);
    assert.deepEqual(Object.keys(created).sort(), ['estimated_response_time', 'message', 'ticket_id']);

    const again = await post(body, key);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), created);

    const other = await post(body, randomUUID());
    assert.equal(other.status, 201);
    assert.notEqual((await other.json()).ticket_id, created.ticket_id);
  });

  it('refuses a malformed key', async () => {
    for (const key of ['short', 'a'.repeat(129), 'has space in it', 'semi;colon-key']) {
      const res = await post(apiPayload(), key);
      assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(key)} is refused (got ${res.status})`);
      assert.notEqual(res.status, 201);
    }
  });
});

describe('idempotent submissions (form)', () => {
  it('a retry after a lost answer shows the ticket the first request made', async () => {
    const current = await open();
    const { page } = current;
    const before = ticketCount();
    // The first request reaches the server and makes the ticket, but the browser gets a 503.
    let firstStatus;
    let firstBody;
    await page.route('**/support/submit', async (route) => {
      const res = await route.fetch();
      firstStatus = res.status();
      firstBody = await res.json();
      await route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"unavailable"}' });
    });
    await fillForm(page, sampleValues({ subject: 'Lost answer: how do I export a board to CSV?' }));
    await page.getByRole('button', { name: 'Send request' }).click();
    await page.getByTestId('banner').waitFor();
    assert.equal(firstStatus, 201);
    assert.match(firstBody.ticket_id, TICKET_RE);

    // Pressing submit again without changing anything is the same attempt.
    await page.unroute('**/support/submit');
    await page.getByRole('button', { name: 'Send request' }).click();
    const shown = await page.getByTestId('ticket-id').textContent({ timeout: 20_000 });
    assert.equal(shown, firstBody.ticket_id, 'the retry shows the ticket the first request made');
    const keys = submitKeys(current);
    assert.equal(keys.length, 2);
    assert.match(keys[0], KEY_RE);
    assert.equal(keys[1], keys[0]);
    if (before !== null) assert.equal(ticketCount(), before + 1, 'one ticket');
  });

  it('a double submit makes one request and one ticket', async () => {
    const current = await open();
    const { page } = current;
    const before = ticketCount();
    await page.route('**/support/submit', async (route) => {
      await new Promise((r) => setTimeout(r, 800));
      await route.continue();
    });
    await fillForm(page, sampleValues({ subject: 'Double click: how do I export a board to CSV?' }));
    await page.getByRole('button', { name: 'Send request' }).dblclick();
    await page.getByTestId('ticket-id').waitFor({ timeout: 20_000 });
    const keys = submitKeys(current);
    assert.ok(keys.length >= 1);
    assert.equal(new Set(keys).size, 1, 'every request of the attempt has the same key');
    if (before !== null) assert.equal(ticketCount(), before + 1, 'one ticket');
  });

  it('an edit after a failure, or a new request after a success, gets a new key', async () => {
    const current = await open();
    const { page } = current;
    await page.route('**/support/submit', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"unavailable"}' }),
    );
    const v = sampleValues({ subject: 'New key: how do I export a board to CSV?' });
    await fillForm(page, v);
    const submitOnce = () =>
      Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/support/submit')),
        page.getByRole('button', { name: 'Send request' }).click(),
      ]);
    await submitOnce();
    await page.getByTestId('banner').waitFor();
    // The same attempt again: still the same key.
    await submitOnce();
    assert.deepEqual(submitKeys(current).length, 2);
    assert.equal(new Set(submitKeys(current)).size, 1);

    // An edit starts a new attempt.
    await page.getByLabel('Subject').fill('New key (edited): how do I export a board to CSV?');
    await page.unroute('**/support/submit');
    await page.getByRole('button', { name: 'Send request' }).click();
    const firstTicket = await page.getByTestId('ticket-id').textContent({ timeout: 20_000 });
    let keys = submitKeys(current);
    assert.equal(keys.length, 3);
    assert.equal(keys[1], keys[0]);
    assert.notEqual(keys[2], keys[1]);
    assert.match(keys[2], KEY_RE);

    // After a success, even the very same content is a new request: a new key, a new ticket.
    await page.getByRole('button', { name: 'Send another request' }).click();
    await fillForm(page, { ...v, subject: 'New key (edited): how do I export a board to CSV?' });
    await page.getByRole('button', { name: 'Send request' }).click();
    const secondTicket = await page.getByTestId('ticket-id').textContent({ timeout: 20_000 });
    keys = submitKeys(current);
    assert.equal(keys.length, 4);
    assert.notEqual(keys[3], keys[2]);
    assert.notEqual(secondTicket, firstTicket);
  });
});

describe('escalation on the fake API', { skip: !usingFake }, () => {
  it('an escalated ticket says which team it was passed to', async () => {
    const { page } = await open();
    await fillForm(page, sampleValues({ subject: 'Money back for my last invoice [escalate:refund]' }));
    await page.getByRole('button', { name: 'Send request' }).click();
    await page.getByTestId('status-link').click({ timeout: 20_000 });
    await page.getByTestId('escalated-note').waitFor({ timeout: 15_000 });
    const note = await page.getByTestId('escalated-note').textContent();
    assert.ok(note.startsWith(`Passed to ${rules.escalation_teams.refund}.`), note);
    assert.doesNotMatch(note, /refund/, 'the reason code is not shown');
    assert.equal(await page.getByTestId('ticket-status').textContent(), 'Escalated');
    assert.match(await page.getByTestId('status-live').textContent(), /passed to/);
  });
});
