// Standalone page: form, errors, keyboard use, failures, status view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  browserSuite,
  fillForm,
  openPage,
  readForm,
  REPLY_TIMEOUT_MS,
  rules,
  sampleValues,
  screenshot,
} from './run.mjs';

const TICKET_RE = /^tkt_[0-9a-f]{32}$/;
const KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;
/** A priority other than the default one. */
const otherPriority = rules.priorities.find((p) => p !== rules.default_priority);
/** One character short of a field's minimum length. */
const tooShort = (field) => 'a'.repeat(rules[field].min - 1);

const suite = browserSuite('the page');

async function open(hash = '#/') {
  suite.current = await openPage(suite.browser, suite.target.baseUrl);
  await suite.current.page.goto(`${suite.target.baseUrl}/${hash}`);
  await suite.current.page.getByRole('heading', { level: 2 }).first().waitFor();
  return suite.current;
}

describe('standalone support form', () => {
  it('submits, shows the ticket id, and the status page shows the agent reply', async () => {
    const { page, apiRequests } = await open();
    const v = sampleValues();
    await fillForm(page, v);
    assert.equal(await page.getByTestId('counter').textContent(), `${[...v.message].length} / ${rules.message.max}`);
    await screenshot(page, 'form.png');

    await page.getByRole('button', { name: 'Send request' }).click();
    const idText = await page.getByTestId('ticket-id').textContent({ timeout: 20_000 });
    assert.match(idText, TICKET_RE);
    await page.getByRole('heading', { name: /we've got your request/i }).waitFor();

    const posts = apiRequests('/support/submit');
    assert.equal(posts.length, 1);
    assert.equal(posts[0].method, 'POST');

    // The draft is gone after success.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('tandem-support:draft')), null);

    await page.getByTestId('status-link').click();
    assert.equal(new URL(page.url()).hash, `#/status/${idText}`);
    await page.getByTestId('ticket').waitFor();
    await page.getByText('How do I export a board to CSV?', { exact: true }).waitFor();
    // Customer message first, then the agent's reply (polling picks it up).
    await page.locator('.ts-msg--agent').first().waitFor({ timeout: REPLY_TIMEOUT_MS });
    // A poll may land between the reply's write and the status's (moto applies a
    // transaction item by item): the page keeps polling while the ticket is open.
    await page
      .getByTestId('ticket-status')
      .filter({ hasText: /Answered|Resolved|Escalated/ })
      .waitFor({ timeout: REPLY_TIMEOUT_MS });
    assert.ok((await page.locator('.ts-msg--customer').count()) >= 1);
    assert.equal(await page.getByTestId('customer-channels').count(), 0, 'a typed address proves no channel');
    const live = await page.getByTestId('status-live').textContent();
    assert.match(live, /Status updated|Ticket status/);
    await screenshot(page, 'status.png');
  });

  it('invalid input shows accessible inline errors and sends no request', async () => {
    const { page, apiRequests } = await open();
    await page.getByLabel('Your name').fill(` ${tooShort('name')} `);
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByLabel('Subject').fill(tooShort('subject'));
    await page.getByLabel('Message').fill(tooShort('message'));
    await page.getByRole('button', { name: 'Send request' }).click();

    // Focus moves to the first invalid field.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'name');
    for (const label of ['Your name', 'Email', 'Subject', 'Category', 'Message']) {
      const field = page.getByLabel(label);
      assert.equal(await field.getAttribute('aria-invalid'), 'true', `${label} is aria-invalid`);
      const describedBy = (await field.getAttribute('aria-describedby')) ?? '';
      const errorId = describedBy.split(' ')[0];
      const errorText = await page.locator(`[id="${errorId}"]`).textContent();
      assert.ok(errorText && errorText.length > 5, `${label} has a described error`);
    }
    assert.equal(await page.getByLabel('Priority').getAttribute('aria-invalid'), null);
    assert.equal(await page.getByTestId('live').textContent(), '5 fields need attention');
    assert.equal(apiRequests('/support/').length, 0, 'no API request for invalid input');
    await screenshot(page, 'errors.png');

    // After the first submit, fixing a field and leaving it clears its error.
    await page.getByLabel('Your name').fill('Ada');
    await page.getByLabel('Your name').blur();
    assert.equal(await page.getByLabel('Your name').getAttribute('aria-invalid'), null);
    // ...and blurring a still-wrong field keeps it flagged.
    await page.getByLabel('Email').fill('still@wrong');
    await page.getByLabel('Email').blur();
    assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
    assert.equal(apiRequests('/support/').length, 0);
  });

  it('server 422 errors show inline like client errors', async () => {
    const { page } = await open();
    await page.route('**/support/submit', (route) =>
      route.fulfill({
        status: 422,
        contentType: 'application/json',
        body: JSON.stringify({
          error: 'validation_failed',
          errors: [{ field: 'email', message: 'This email domain does not accept mail.' }],
        }),
      }),
    );
    await fillForm(page, sampleValues());
    await page.getByRole('button', { name: 'Send request' }).click();
    const email = page.getByLabel('Email');
    await page.getByText('This email domain does not accept mail.').waitFor();
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    const errId = (await email.getAttribute('aria-describedby')).split(' ')[0];
    assert.equal(await page.locator(`[id="${errId}"]`).textContent(), 'This email domain does not accept mail.');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'email');
    assert.equal(await page.getByTestId('live').textContent(), '1 field needs attention');
  });

  it('works with the keyboard only (Tab, typing, Enter)', async () => {
    const { page, apiRequests } = await open();
    const v = sampleValues({ subject: 'Keyboard-only: how do I export a board to CSV?' });
    // Tab from the top of the page to the first field.
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.getAttribute('name'))) === 'name') break;
    }
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'name');
    await page.keyboard.type(v.name);
    await page.keyboard.press('Tab');
    await page.keyboard.type(v.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(v.subject);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'category');
    await page.keyboard.type('Tech'); // type-ahead selects "Technical support"
    assert.equal(await page.getByLabel('Category').inputValue(), 'technical');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'priority');
    await page.keyboard.press('Tab');
    await page.keyboard.type(v.message);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Send request');
    // Focus must be visible on the button.
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(outline, 'solid');
    await page.keyboard.press('Enter');
    const id = await page.getByTestId('ticket-id').textContent({ timeout: 20_000 });
    assert.match(id, TICKET_RE);
    assert.equal(apiRequests('/support/submit').length, 1);
    // Focus moves to the confirmation heading.
    assert.match(await page.evaluate(() => document.activeElement?.textContent ?? ''), /got your request/);
  });

  it('network failure keeps every typed value (and the draft survives a reload)', async () => {
    const { page, apiRequests } = await open();
    const v = sampleValues({ subject: 'Network failure test: export to CSV', priority: otherPriority });
    await fillForm(page, v);
    await page.route('**/support/submit', (route) => route.abort('internetdisconnected'));
    await page.getByRole('button', { name: 'Send request' }).click();
    await page.getByText("We couldn't reach support. Your message is still here — please try again.").first().waitFor();
    const { categoryLabel: _c, ...expected } = v;
    assert.deepEqual(await readForm(page), expected);
    assert.equal(await page.getByRole('button', { name: 'Send request' }).isEnabled(), true);

    // A reload does not lose input (sessionStorage draft).
    await page.reload();
    await page.getByLabel('Your name').waitFor();
    assert.deepEqual(await readForm(page), expected);

    // Retrying once the network is back works and clears the draft.
    await page.unroute('**/support/submit');
    await page.getByRole('button', { name: 'Send request' }).click();
    assert.match(await page.getByTestId('ticket-id').textContent({ timeout: 20_000 }), TICKET_RE);
    const posts = apiRequests('/support/submit');
    assert.equal(posts.length, 2);
    // The retry is the same attempt, even after the reload: the same Idempotency-Key.
    const keys = posts.map((r) => r.headers['idempotency-key']);
    assert.match(keys[0], KEY_RE);
    assert.equal(keys[1], keys[0]);
    await page.reload();
    await page.getByLabel('Your name').waitFor();
    assert.equal(await page.getByLabel('Your name').inputValue(), '');
    assert.equal(await page.getByLabel('Priority').inputValue(), rules.default_priority);
  });

  it('5xx keeps the input and shows the retry message', async () => {
    const { page } = await open();
    await page.route('**/support/submit', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"unavailable"}' }),
    );
    const v = sampleValues();
    await fillForm(page, v);
    await page.getByRole('button', { name: 'Send request' }).click();
    await page.getByTestId('banner').waitFor();
    assert.match(await page.getByTestId('banner').textContent(), /couldn't reach support/);
    assert.equal(await page.getByLabel('Message').inputValue(), v.message);
  });

  it('shows progress and cannot double-submit', async () => {
    const { page, apiRequests } = await open();
    await page.route('**/support/submit', async (route) => {
      await new Promise((r) => setTimeout(r, 1200));
      await route.continue();
    });
    await fillForm(page, sampleValues({ subject: 'Double submit test: export to CSV' }));
    const button = page.locator('button[type="submit"]');
    await button.click();
    await page.getByRole('button', { name: 'Sending…' }).waitFor();
    assert.equal(await button.isDisabled(), true);
    assert.equal(await page.locator('form').first().getAttribute('aria-busy'), 'true');
    // Try again with Enter in a field while sending.
    await page.getByLabel('Subject').press('Enter');
    await button.click({ force: true }).catch(() => {});
    await page.getByTestId('ticket-id').waitFor({ timeout: 20_000 });
    assert.equal(apiRequests('/support/submit').length, 1);
  });
});

describe('standalone status view', () => {
  it('rejects a malformed ticket id without a request', async () => {
    const { page, apiRequests } = await open('#/status');
    await page.getByLabel('Ticket ID').fill('tkt_123');
    await page.getByRole('button', { name: 'Check status' }).click();
    const input = page.getByLabel('Ticket ID');
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    const errId = (await input.getAttribute('aria-describedby')).split(' ')[0];
    assert.match(await page.locator(`[id="${errId}"]`).textContent(), /valid ticket ID/);
    assert.equal(apiRequests('/support/').length, 0);
  });

  it('shows "No ticket with that id" for an unknown ticket', async () => {
    const { page } = await open(`#/status/tkt_${'0'.repeat(32)}`);
    await page.getByTestId('not-found').waitFor({ timeout: 15_000 });
    assert.match(await page.getByTestId('not-found').textContent(), /No ticket with that id/);
  });

  it('looks a ticket up by id and shows the team it was passed to, never the reason code', async () => {
    const { page } = await open('#/status');
    // The ticket body is stubbed so the escalated state is deterministic on any stack.
    const id = `tkt_${'e'.repeat(32)}`;
    await page.route(`**/support/ticket/${id}`, (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          ticket_id: id,
          status: 'escalated',
          subject: 'Discount for 300 seats?',
          category: sampleValues().category,
          priority: otherPriority,
          created_at: '2025-01-02T10:00:00Z',
          updated_at: '2025-01-02T10:01:00Z',
          escalation_reason: 'pricing',
          customer_channels: ['email', 'whatsapp'],
          messages: [
            { direction: 'inbound', channel: 'web_form', body: 'Can we get a discount?', created_at: '2025-01-02T10:00:00Z' },
          ],
        }),
      }),
    );
    await page.getByLabel('Ticket ID').fill(`  ${id.toUpperCase()}  `);
    await page.getByLabel('Ticket ID').press('Enter');
    await page.getByTestId('escalated-note').waitFor();
    assert.equal(
      await page.getByTestId('escalated-note').textContent(),
      `Passed to ${rules.escalation_teams.pricing}. Someone from the team will reply to you personally.`,
    );
    assert.match(await page.getByTestId('status-live').textContent(), new RegExp(`passed to ${rules.escalation_teams.pricing}`));
    assert.doesNotMatch(await page.getByTestId('ticket').textContent(), /pricing/i, 'the raw reason code is never shown');
    assert.equal(await page.getByTestId('customer-channels').textContent(), 'Email and WhatsApp');
    assert.equal(new URL(page.url()).hash, `#/status/${id}`);
    const time = await page.locator('.ts-msg time').first().textContent();
    const expected = await page.evaluate(
      (iso) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)),
      '2025-01-02T10:00:00Z',
    );
    assert.equal(time, expected);
  });
});
