// The status page: the customer writes again on their ticket (a follow-up), and sees the
// original of an email message.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { browserSuite, createTicket, openPage, REPLY_TIMEOUT_MS, rules, screenshot, usingFake } from './run.mjs';

const KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;
const FOLLOW_UP = 'Thanks! And how do I export a board to CSV from the mobile app?';
const UNREACHABLE = "We couldn't reach support. Your message is still here — please try again.";
const ORIGINAL_FAILED = "We couldn't load the original message.";

const suite = browserSuite('the status page');

async function open(hash, options) {
  suite.current = await openPage(suite.browser, suite.target.baseUrl, options);
  await suite.current.page.goto(`${suite.target.baseUrl}/${hash}`);
  await suite.current.page.getByRole('heading', { level: 2 }).first().waitFor();
  return suite.current;
}

/** The status page of a new ticket (made through the API), once the ticket shows. */
async function openTicket(overrides = {}, options) {
  const id = await createTicket(suite.target.baseUrl, {
    subject: 'Follow-up: how do I export a board to CSV?',
    ...overrides,
  });
  const current = await open(`#/status/${id}`, options);
  await current.page.getByTestId('ticket').waitFor();
  return { ...current, id };
}

const isFollowUpPost = (method, url) => method === 'POST' && /\/support\/ticket\/[^/]+\/messages$/.test(new URL(url).pathname);

/** The Idempotency-Key of every follow-up the page sent, in order. */
const followUpKeys = (current) =>
  current.requests.filter((r) => isFollowUpPost(r.method, r.url)).map((r) => r.headers['idempotency-key']);

const followUpResponse = (page) => page.waitForResponse((r) => isFollowUpPost(r.request().method(), r.url()));

const focusedId = (page) => page.evaluate(() => document.activeElement?.id ?? '');

/** Presses Tab until `isTarget(page)` (at most `max` times); asserts it got there. */
async function tabUntil(page, isTarget, what, max = 25) {
  for (let i = 0; i < max; i++) {
    if (await isTarget()) return;
    await page.keyboard.press('Tab');
  }
  assert.ok(await isTarget(), `Tab reaches ${what}`);
}

describe('follow-up messages on the status page', () => {
  it('a follow-up shows in the conversation, the ticket opens again and is answered again', async () => {
    const current = await openTicket();
    const { page } = current;
    const status = page.getByTestId('ticket-status');
    await status.filter({ hasText: /Answered|Resolved|Escalated/ }).waitFor({ timeout: REPLY_TIMEOUT_MS });
    assert.equal(await status.textContent(), 'Answered', 'the agent answers the sample question');
    const repliesBefore = await page.locator('.ts-msg--agent').count();

    await page.getByLabel('Add a message').fill(`  ${FOLLOW_UP}  `);
    const [response] = await Promise.all([
      followUpResponse(page),
      page.getByRole('button', { name: 'Send message' }).click(),
    ]);
    assert.equal(response.status(), 201);
    const accepted = await response.json();
    assert.deepEqual(Object.keys(accepted).sort(), ['message', 'ticket_id']);
    assert.equal(accepted.ticket_id, current.id);

    await page.getByTestId('follow-up-sent').waitFor();
    assert.equal(await page.getByTestId('follow-up-sent').textContent(), accepted.message);
    assert.equal(await page.getByTestId('follow-up-live').textContent(), 'Message sent.');
    assert.equal(await page.getByLabel('Add a message').inputValue(), '');
    // The message shows (trimmed, as sent), and the ticket is open again...
    await page.locator('.ts-msg--customer').filter({ hasText: FOLLOW_UP }).waitFor();
    // The real agent may answer before the page looks again: only the fake's delay
    // guarantees the page sees the ticket open in between.
    if (usingFake) {
      await status.filter({ hasText: /^Open/ }).waitFor();
      await page.getByText('Waiting for a reply — this page updates automatically.').waitFor();
      await screenshot(page, 'status-follow-up.png');
    }
    // ...until the page, polling again, shows the agent's answer to it.
    await page.locator('.ts-msg--agent').nth(repliesBefore).waitFor({ timeout: REPLY_TIMEOUT_MS });
    await status.filter({ hasText: /Answered|Resolved/ }).waitFor({ timeout: REPLY_TIMEOUT_MS });
    const thread = await page
      .getByTestId('thread')
      .locator('> li')
      .evaluateAll((items) => items.map((li) => (li.classList.contains('ts-msg--agent') ? 'agent' : 'customer')));
    assert.deepEqual(thread.slice(0, 4), ['customer', 'agent', 'customer', 'agent']);
    assert.equal(await page.locator('.ts-msg--customer').nth(1).locator('.ts-msg-body').textContent(), FOLLOW_UP);
    assert.equal(followUpKeys(current).length, 1);
  });

  it('invalid input shows accessible inline errors, like the form, and sends no request', async () => {
    const current = await openTicket();
    const { page } = current;
    const field = page.getByLabel('Add a message');
    const send = page.getByRole('button', { name: 'Send message' });
    const errorText = async () => {
      const errorId = ((await field.getAttribute('aria-describedby')) ?? '').split(' ')[0];
      return page.locator(`[id="${errorId}"]`).textContent();
    };

    await send.click();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.equal(await errorText(), 'Please enter a message.');
    assert.equal(await focusedId(page), await field.getAttribute('id'), 'focus moves to the message');
    assert.equal(await page.getByTestId('follow-up-live').textContent(), '1 field needs attention');

    // Whitespace and invisible characters only is still empty; too short says how long it must be.
    await field.fill(' \u200B\n ');
    await send.click();
    assert.equal(await errorText(), 'Please enter a message.');
    await field.fill('a'.repeat(rules.message.min - 1));
    assert.equal(await errorText(), `Message must be at least ${rules.message.min} characters.`);
    const describedBy = (await field.getAttribute('aria-describedby')).split(' ');
    assert.equal(describedBy.length, 2, 'the error, then the counter');
    assert.equal(await page.locator(`[id="${describedBy[1]}"]`).textContent(), `${rules.message.min - 1} / ${rules.message.max}`);

    // Fixing the text clears the error at once.
    await field.fill(FOLLOW_UP);
    assert.equal(await field.getAttribute('aria-invalid'), null);
    assert.deepEqual(followUpKeys(current), [], 'no request for invalid input');
  });

  it("server 422 errors show inline on the message, like the form's", async () => {
    const { page } = await openTicket();
    await page.route('**/support/ticket/*/messages', (route) =>
      route.fulfill({
        status: 422,
        contentType: 'application/json',
        body: JSON.stringify({
          error: 'validation_failed',
          errors: [{ field: 'message', message: 'Message must be at most 5000 characters' }],
        }),
      }),
    );
    const field = page.getByLabel('Add a message');
    await field.fill(FOLLOW_UP);
    await page.getByRole('button', { name: 'Send message' }).click();
    await page.getByText('Message must be at most 5000 characters').waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    const errorId = (await field.getAttribute('aria-describedby')).split(' ')[0];
    assert.equal(await page.locator(`[id="${errorId}"]`).textContent(), 'Message must be at most 5000 characters');
    assert.equal(await focusedId(page), await field.getAttribute('id'));
    assert.equal(await page.getByTestId('follow-up-live').textContent(), '1 field needs attention');
    assert.equal(await field.inputValue(), FOLLOW_UP, 'the text is kept');
  });

  it('a retry after a 503 reuses the Idempotency-Key, even after a reload, and adds the message once', async () => {
    const current = await openTicket();
    const { page } = current;
    // The first request reaches the server and adds the message, but the browser gets a 503.
    let firstStatus;
    await page.route('**/support/ticket/*/messages', async (route) => {
      firstStatus = (await route.fetch()).status();
      await route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'unavailable', message: 'Support is briefly unavailable. Please try again in a minute.' }),
      });
    });
    const field = page.getByLabel('Add a message');
    await field.fill(FOLLOW_UP);
    await page.getByRole('button', { name: 'Send message' }).click();
    await page.getByTestId('follow-up-banner').waitFor();
    assert.equal(await page.getByTestId('follow-up-banner').textContent(), UNREACHABLE);
    assert.equal(await page.getByTestId('follow-up-live').textContent(), UNREACHABLE);
    assert.equal(firstStatus, 201);
    assert.equal(await field.inputValue(), FOLLOW_UP, 'the text is kept');
    assert.equal(await page.getByRole('button', { name: 'Send message' }).isEnabled(), true);

    // A reload keeps the text, and the attempt with it.
    await page.reload();
    await page.getByTestId('ticket').waitFor();
    assert.equal(await page.getByLabel('Add a message').inputValue(), FOLLOW_UP);

    await page.unroute('**/support/ticket/*/messages');
    const [retry] = await Promise.all([
      followUpResponse(page),
      page.getByRole('button', { name: 'Send message' }).click(),
    ]);
    assert.equal(retry.status(), 200, 'the server already has it: a replay');
    await page.getByTestId('follow-up-sent').waitFor();
    const keys = followUpKeys(current);
    assert.equal(keys.length, 2);
    assert.match(keys[0], KEY_RE);
    assert.equal(keys[1], keys[0]);
    await page.locator('.ts-msg--customer').filter({ hasText: FOLLOW_UP }).waitFor();
    assert.equal(await page.locator('.ts-msg--customer').filter({ hasText: FOLLOW_UP }).count(), 1, 'added once');

    // After a success the same text again is a new message, with a new key.
    await page.getByLabel('Add a message').fill(FOLLOW_UP);
    const [again] = await Promise.all([
      followUpResponse(page),
      page.getByRole('button', { name: 'Send message' }).click(),
    ]);
    assert.equal(again.status(), 201);
    assert.notEqual(followUpKeys(current)[2], keys[0]);
  });

  it('shows progress and cannot send twice', async () => {
    const current = await openTicket();
    const { page } = current;
    await page.route('**/support/ticket/*/messages', async (route) => {
      await new Promise((r) => setTimeout(r, 800));
      await route.continue();
    });
    await page.getByLabel('Add a message').fill(FOLLOW_UP);
    await page.getByRole('button', { name: 'Send message' }).dblclick();
    const sending = page.getByRole('button', { name: 'Sending…' });
    await sending.waitFor();
    assert.equal(await sending.isDisabled(), true);
    assert.equal(await page.getByTestId('follow-up').getAttribute('aria-busy'), 'true');
    await page.getByTestId('follow-up-sent').waitFor();
    assert.equal(followUpKeys(current).length, 1);
  });

  it('works with the keyboard only (Tab, typing, Enter)', async () => {
    const { page } = await openTicket();
    const field = page.getByLabel('Add a message');
    const fieldId = await field.getAttribute('id');
    await page.getByLabel('Ticket ID').focus();
    await tabUntil(page, async () => (await focusedId(page)) === fieldId, 'the follow-up box');
    await page.keyboard.type(FOLLOW_UP);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Send message');
    assert.equal(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'solid');
    await page.keyboard.press('Enter');
    await page.getByTestId('follow-up-sent').waitFor();
    assert.equal(await page.getByTestId('follow-up-live').textContent(), 'Message sent.');
    assert.equal(await focusedId(page), fieldId, 'focus is back in the (empty) box, ready for another message');
    await page.locator('.ts-msg--customer').filter({ hasText: FOLLOW_UP }).waitFor();
  });

  it('is not offered for an unknown ticket', async () => {
    const { page } = await open(`#/status/tkt_${'0'.repeat(32)}`);
    await page.getByTestId('not-found').waitFor();
    assert.equal(await page.getByTestId('follow-up').count(), 0);
  });
});

describe('follow-up messages (API)', () => {
  const post = (id, body, key) =>
    fetch(`${suite.target.baseUrl}/support/ticket/${id}/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify(body),
    });

  it('201 with the message id; the same key again is a 200 replay with the same body', async () => {
    const id = await createTicket(suite.target.baseUrl);
    const key = randomUUID();
    const first = await post(id, { message: FOLLOW_UP }, key);
    assert.equal(first.status, 201);
    const accepted = await first.json();
    assert.deepEqual(Object.keys(accepted).sort(), ['message', 'ticket_id']);
    assert.equal(accepted.ticket_id, id);
    const again = await post(id, { message: FOLLOW_UP }, key);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), accepted);
  });

  it('404 for an unknown ticket; 422 in the shape of the form\'s errors', async () => {
    const missing = await post(`tkt_${'0'.repeat(32)}`, { message: FOLLOW_UP }, randomUUID());
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: 'not_found', message: 'No ticket with that id' });

    const id = await createTicket(suite.target.baseUrl);
    const invalid = await post(id, { message: 'a'.repeat(rules.message.min - 1) }, randomUUID());
    assert.equal(invalid.status, 422);
    const body = await invalid.json();
    assert.equal(body.error, 'validation_failed');
    assert.equal(body.errors.length, 1);
    assert.equal(body.errors[0].field, 'message');
    assert.equal(typeof body.errors[0].message, 'string');
  });
});

describe('the original of an email message', () => {
  // Only the fake API can make a ticket whose message `has_original` (a subject with
  // "[email]"): the real stack makes one only from an email received by the mailbox.
  it('"Show original" fetches it once, toggles it, and keeps long lines in the layout', { skip: !usingFake }, async () => {
    const current = await openTicket({ subject: 'Export question [email]' }, { viewport: { width: 390, height: 800 } });
    const { page, apiRequests } = current;
    const show = page.getByRole('button', { name: 'Show original' });
    assert.equal(await show.getAttribute('aria-expanded'), 'false');
    const region = page.locator(`[id="${await show.getAttribute('aria-controls')}"]`);
    assert.equal(await region.isHidden(), true);

    await show.click();
    const hide = page.getByRole('button', { name: 'Hide original' });
    assert.equal(await hide.getAttribute('aria-expanded'), 'true');
    const text = region.getByTestId('original-text');
    await text.waitFor();
    const [message] = suite.target.fake.tickets.get(current.id).messages;
    assert.equal(await text.textContent(), message.original);
    assert.match(await text.textContent(), /\n-- \n[\s\S]*\n> Thanks for reaching out\./);
    // The long quoted link wraps inside the block; the page does not scroll sideways.
    const fits = await text.evaluate((pre) => ({
      pre: pre.scrollWidth <= pre.clientWidth,
      page: document.documentElement.scrollWidth <= document.documentElement.clientWidth,
    }));
    assert.deepEqual(fits, { pre: true, page: true });
    await screenshot(page, 'status-original.png');

    await hide.click();
    assert.equal(await show.getAttribute('aria-expanded'), 'false');
    assert.equal(await region.isHidden(), true);
    await show.click();
    await text.waitFor();
    const originals = apiRequests('/support/ticket/').filter((r) => r.url.endsWith('/original'));
    assert.equal(originals.length, 1, 'fetched once');
  });

  it('a failed fetch shows an inline error and can be tried again, all by keyboard; the text stays text', async () => {
    // The ticket and its original are stubbed, so this runs on any stack.
    const id = `tkt_${'d'.repeat(32)}`;
    const messageId = '1736150000000-in-0123456789abcdef';
    const original = 'Hi, the export <b>fails</b> <img src=x onerror="window.injected=1">\n\n-- \nAda\n\n> On Monday you wrote:\n> Which board?';
    const current = await open('#/status');
    const { page } = current;
    await page.route(`**/support/ticket/${id}`, (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          ticket_id: id,
          status: 'answered',
          subject: 'Export fails',
          category: 'technical',
          priority: rules.default_priority,
          created_at: '2025-01-06T09:00:00Z',
          updated_at: '2025-01-06T09:01:00Z',
          escalation_reason: null,
          customer_channels: ['email'],
          messages: [
            { message_id: messageId, direction: 'inbound', channel: 'email', body: 'Hi, the export <b>fails</b>', created_at: '2025-01-06T09:00:00Z', has_original: true },
            { message_id: '1736150000000-out-0123456789abcdef', direction: 'outbound', channel: 'email', body: 'Hello! Try again please.', created_at: '2025-01-06T09:01:00Z' },
          ],
        }),
      }),
    );
    let calls = 0;
    await page.route(`**/support/ticket/${id}/messages/${messageId}/original`, (route) =>
      ++calls === 1
        ? route.abort('internetdisconnected')
        : route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ message_id: messageId, original }) }),
    );
    await page.getByLabel('Ticket ID').fill(id);
    await page.keyboard.press('Enter');
    await page.getByTestId('ticket').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Show original' }).count(), 1, 'only the message with an original');

    const focusedText = () => page.evaluate(() => document.activeElement?.textContent ?? '');
    await tabUntil(page, async () => (await focusedText()) === 'Show original', '"Show original"');
    await page.keyboard.press('Enter');
    await page.getByTestId('original').getByText(ORIGINAL_FAILED).waitFor();
    assert.equal(await page.getByTestId('status-live').textContent(), ORIGINAL_FAILED);
    assert.equal(await page.getByRole('button', { name: 'Hide original' }).getAttribute('aria-expanded'), 'true');

    await page.keyboard.press('Tab');
    assert.equal(await focusedText(), 'Try again');
    await page.keyboard.press('Enter');
    const text = page.getByTestId('original-text');
    await text.waitFor();
    assert.equal(await text.textContent(), original);
    assert.equal(await text.locator('b, img').count(), 0, 'markup in an original is shown as text');
    assert.equal(await page.evaluate(() => window.injected), undefined);
    assert.equal(await focusedText(), 'Hide original', 'focus stays on the toggle');
    // The block is focusable (to scroll it with the keyboard), then the toggle collapses it.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Original message');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    assert.equal(await page.getByRole('button', { name: 'Show original' }).getAttribute('aria-expanded'), 'false');
    assert.equal(await text.isHidden(), true);
    await page.keyboard.press('Space');
    await text.waitFor();
    assert.equal(calls, 2, 'a failure is fetched again, a success is not');
  });
});
