// The operator console (/console/): sign-in through Cognito's InitiateAuth, the queue,
// a ticket (preview, reply, hand back, resolve), the reviews, a 401, the keyboard alone.
// Against the fake operator API (fake-operator-api.mjs) and its seeded queue; the
// selectors are roles and labels only, so the same flow can run against a stack.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserSuite, openPage, screenshot, usingFake } from './run.mjs';
import { OPERATORS } from './fake-operator-api.mjs';

const [ALICE, NEWBIE] = OPERATORS;
const SESSION_KEY = 'tandem-console:session';
const KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;

const suite = browserSuite('the console');

/** The console's page, before signing in. */
async function open() {
  suite.current = await openPage(suite.browser, suite.target.baseUrl);
  await suite.current.page.goto(`${suite.target.baseUrl}/console/`);
  await suite.current.page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  return suite.current;
}

async function signIn(page, { email, password } = ALICE) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signed in as Alice, on the queue. */
async function openQueue() {
  const current = await open();
  await signIn(current.page);
  await current.page.getByRole('heading', { name: 'Queue', level: 1 }).waitFor();
  await current.page.getByRole('table').waitFor();
  return current;
}

/** The queue's row of the ticket with `subject`. */
const row = (page, subject) => page.getByRole('row').filter({ has: page.getByRole('link', { name: subject, exact: true }) });

const operatorCalls = (current, method, pathPattern) =>
  current.requests.filter((r) => r.method === method && pathPattern.test(new URL(r.url).pathname));

const live = (page) => page.getByTestId('console-live');
const focused = (page) => page.evaluate(() => `${document.activeElement?.tagName}:${document.activeElement?.textContent?.trim().slice(0, 60)}`);

/** Presses Tab until `isTarget()` (at most `max` times); asserts it got there. */
async function tabUntil(page, isTarget, what, max = 40) {
  for (let i = 0; i < max; i++) {
    if (await isTarget()) return;
    await page.keyboard.press('Tab');
  }
  assert.ok(await isTarget(), `Tab reaches ${what}`);
}

const focusedLabel = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return el?.id ? (document.querySelector(`label[for="${el.id}"]`)?.textContent ?? '') : (el?.textContent?.trim() ?? '');
  });

describe('operator console', { skip: !usingFake && 'needs the seeded queue of the fake operator API' }, () => {
  it('signs in, shows the queue with SLA badges and counts, and filters it', async () => {
    const current = await openQueue();
    const { page } = current;

    // Every API call carries the ID token Cognito gave; the console said who is online.
    const session = JSON.parse(await page.evaluate((k) => sessionStorage.getItem(k), SESSION_KEY));
    const calls = current.requests.filter((r) => new URL(r.url).pathname.startsWith('/operator/'));
    assert.ok(calls.length >= 2);
    for (const r of calls) assert.equal(r.headers.authorization, `Bearer ${session.idToken}`);
    assert.equal(operatorCalls(current, 'GET', /^\/operator\/me$/).length, 1, 'presence at sign-in');
    assert.ok(suite.target.fake.operator.presence.get(ALICE.username) > Date.now(), 'alice is online');
    await page.getByTestId('operator').filter({ hasText: `Signed in as ${ALICE.email}` }).waitFor();

    // SLA badges say their state in words; the counts are shown.
    assert.equal(await row(page, 'Refund for a double charge').getByTestId('sla-badge').textContent(), 'At risk');
    assert.equal(await row(page, 'Pricing for 200 seats').getByTestId('sla-badge').textContent(), 'Breached');
    assert.equal(await row(page, 'Password reset link expired').getByTestId('sla-badge').textContent(), 'Met');
    assert.equal(await row(page, 'How do I export a board to CSV?').getByTestId('sla-badge').textContent(), 'On track');
    assert.equal(await page.getByTestId('sla-counts').textContent(), 'At risk: 2Breached: 2');
    const refund = await row(page, 'Refund for a double charge').textContent();
    for (const part of ['Escalated', '50 min', 'Email', 'Refund', 'Unassigned']) assert.ok(refund.includes(part), `${part} in ${refund}`);
    assert.match(await row(page, 'Invoice shows the wrong VAT number').textContent(), /alice/);
    await screenshot(page, 'console-queue.png');

    // Filters: escalated tickets older than an hour.
    await page.getByLabel('Status').selectOption('escalated');
    await page.getByLabel('Older than (minutes)').fill('60');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/#\/\?status=escalated&older_than=60$/);
    await live(page).filter({ hasText: '2 tickets. At risk: 0. Breached: 2.' }).waitFor();
    const links = await page.getByRole('table').getByRole('link').allTextContents();
    assert.deepEqual(links, ['Invoice shows the wrong VAT number', 'Pricing for 200 seats']);
    const last = operatorCalls(current, 'GET', /^\/operator\/tickets$/).at(-1);
    assert.equal(new URL(last.url).search, '?status=escalated&older_than=60');

    // A reload keeps the filters (they are in the address) and the session.
    await page.reload();
    await page.getByRole('heading', { name: 'Queue' }).waitFor();
    assert.equal(await page.getByLabel('Status').inputValue(), 'escalated');
    await page.getByRole('link', { name: 'Pricing for 200 seats' }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('link', { name: 'Password reset link expired' }).waitFor();

    // Bad minutes are refused before any request.
    const before = operatorCalls(current, 'GET', /^\/operator\/tickets$/).length;
    await page.getByLabel('Older than (minutes)').fill('soon');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    assert.equal(await page.getByLabel('Older than (minutes)').getAttribute('aria-invalid'), 'true');
    assert.equal(operatorCalls(current, 'GET', /^\/operator\/tickets$/).length, before);
  });

  it('says why a sign-in failed, and that a temporary password needs an admin', async () => {
    const { page } = await open();
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');

    await signIn(page, { email: ALICE.email, password: 'wrong-password' });
    await page.getByTestId('sign-in-banner').filter({ hasText: 'Incorrect username or password.' }).waitFor();
    assert.equal(await page.getByLabel('Password').inputValue(), '');

    await signIn(page, NEWBIE);
    await page.getByTestId('sign-in-banner').filter({ hasText: 'An admin must set a permanent password' }).waitFor();
    assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), SESSION_KEY), null);
  });

  it('opens a ticket: conversation, escalation, decisions, audit; previews and sends a reply, hands back, resolves with notes', async () => {
    const current = await openQueue();
    const { page } = current;
    await page.getByRole('link', { name: 'Refund for a double charge' }).click();
    const title = page.getByRole('heading', { name: 'Refund for a double charge', level: 1 });
    await title.waitFor();
    assert.match(new URL(page.url()).hash, /^#\/tickets\/tkt_/);
    assert.equal(await focused(page), 'H1:Refund for a double charge', 'focus moves to the ticket');

    // The customer's whole conversation: this email and their earlier WhatsApp ticket.
    const conversation = page.getByTestId('conversation');
    assert.equal(await conversation.getByRole('listitem').count(), 4);
    await conversation.getByText('My password reset link says it expired').waitFor();
    assert.match(await conversation.getByRole('listitem').first().textContent(), /Customer.*WhatsApp.*ticket tkt_/);
    assert.match(await conversation.getByRole('listitem').last().textContent(), /Agent.*Email.*Delivered/);
    assert.match(await page.getByTestId('escalation').textContent(), /Refund.*Asks for the second charge.*Charged twice/);
    assert.match(await page.getByTestId('decisions').textContent(), /Category.*billing.*93%.*Not reviewed/);
    assert.match(await page.getByTestId('decisions').textContent(), /Escalation.*refund.*88%.*Approved by alice/);
    assert.match(await page.getByTestId('audit').textContent(), /agent · Escalated: Reason: refund/);

    // The preview: the email with its subject, greeting and sign-off.
    const reply = 'I have refunded the second charge of INV-2031.\n\nIt shows on your card within 5 days.';
    await page.getByLabel('Reply to the customer').fill(reply);
    const preview = page.getByTestId('preview');
    await preview.getByText('Subject: Re: Refund for a double charge').waitFor();
    assert.match(await preview.textContent(), /Hi Ada,\s+I have refunded the second charge of INV-2031\.\s+It shows on your card within 5 days\.\s+Best regards,\s+alice/);
    await screenshot(page, 'console-ticket.png');

    await page.getByRole('button', { name: 'Send reply' }).click();
    await live(page).filter({ hasText: "Reply queued for the customer's Email." }).waitFor();
    await conversation.getByRole('listitem').filter({ hasText: 'alice (person)' }).filter({ hasText: 'Queued' }).waitFor();
    assert.equal(await page.getByLabel('Reply to the customer').inputValue(), '');
    const [sent] = operatorCalls(current, 'POST', /\/replies$/);
    assert.match(sent.headers['idempotency-key'], KEY_RE);
    assert.equal(sent.headers.authorization.startsWith('Bearer '), true);

    // Hand back: the agent answers the next message again.
    await page.getByLabel('Note for the record (optional)').fill('Refund done; the agent can take questions again.');
    await page.getByRole('button', { name: 'Hand back' }).click();
    await live(page).filter({ hasText: 'Handed back' }).waitFor();
    await page.getByTestId('audit').getByText('operator:alice · Handed back: Refund done; the agent can take questions again.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Hand back' }).count(), 0, 'only a person’s ticket is handed back');

    // Resolve with notes: the question is prefilled with the customer's first message, the answer follows the notes.
    assert.equal(
      await page.getByLabel('Question').inputValue(),
      'Hello, I was charged twice for my March invoice (INV-2031). Can you refund the second charge?',
    );
    await page.getByLabel('Resolution notes').fill('Refunded the duplicate charge through the billing tool.');
    assert.equal(await page.getByLabel('Answer').inputValue(), 'Refunded the duplicate charge through the billing tool.');
    const question = 'I was charged twice for one invoice. Can I get a refund?';
    await page.getByLabel('Question').fill(question);
    await page.getByLabel('Answer').fill('Yes: billing refunds a duplicate charge within 5 days.');
    await page.getByRole('button', { name: 'Resolve ticket' }).click();
    await live(page).filter({ hasText: 'Ticket resolved. The learned answer waits in Reviews.' }).waitFor();
    await page.getByTestId('ticket-status').filter({ hasText: 'Resolved' }).waitFor();
    assert.equal(await page.getByTestId('sla-badge').textContent(), 'Met');
    const [resolved] = operatorCalls(current, 'POST', /\/resolve$/);
    assert.match(resolved.headers['idempotency-key'], KEY_RE);

    // ...and the proposal it made is approved in Reviews.
    await page.getByRole('link', { name: 'Reviews' }).click();
    const proposal = page.getByRole('article', { name: question });
    await proposal.waitFor();
    assert.equal(await proposal.getByLabel('Answer').inputValue(), 'Yes: billing refunds a duplicate charge within 5 days.');
    await proposal.getByRole('button', { name: 'Approve as is' }).click();
    await live(page).filter({ hasText: 'Learned answer approved' }).waitFor();
    await proposal.waitFor({ state: 'detached' });
    const approved = suite.target.fake.operator.proposals.find((p) => p.question === question);
    assert.equal(approved.status, 'approved');
  });

  it('shows a WhatsApp reply as its separate messages', async () => {
    const { page } = await openQueue();
    await page.getByRole('link', { name: 'Invoice shows the wrong VAT number' }).click();
    await page.getByLabel('Reply to the customer').fill('I have corrected the VAT number.\n\nThe new invoice is in Billing → Invoices.');
    const bubbles = page.getByTestId('preview').getByRole('list', { name: 'WhatsApp: 2 messages' }).getByRole('listitem');
    await bubbles.nth(1).waitFor();
    assert.deepEqual(await bubbles.allTextContents(), [
      'Message 1 of 2: I have corrected the VAT number.',
      'Message 2 of 2: The new invoice is in Billing → Invoices.',
    ]);
  });

  it('a reply that failed is sent again with the same Idempotency-Key', async () => {
    const current = await openQueue();
    const { page } = current;
    await page.getByRole('link', { name: 'Pricing for 200 seats' }).click();
    await page.getByLabel('Reply to the customer').fill('Our sales team will send you a quote for 200 seats today.');
    let failures = 1;
    await page.route('**/operator/tickets/*/replies', (route) => (failures-- > 0 ? route.abort('connectionreset') : route.continue()));
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.getByTestId('reply-banner').filter({ hasText: "We couldn't reach the operator API" }).waitFor();
    await page.getByRole('button', { name: 'Send reply' }).click();
    await live(page).filter({ hasText: 'Reply queued' }).waitFor();
    const keys = operatorCalls(current, 'POST', /\/replies$/).map((r) => r.headers['idempotency-key']);
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1]);
  });

  it('reviews: approves a draft as is, edits and approves one, rejects one; edits and approves a proposal; shows the agreement rate', async () => {
    const current = await openQueue();
    const { page } = current;
    await page.getByRole('link', { name: 'Reviews' }).click();
    await page.getByRole('heading', { name: 'Reviews', level: 1 }).waitFor();
    const draftRate = () => page.getByTestId('agreement').getByRole('row').filter({ hasText: 'Draft' }).getByRole('cell').allTextContents();
    // Made, reviewed, agreed, rate: the seeds' five drafts, one approved and one edited.
    assert.deepEqual(await draftRate(), ['5', '2', '1', '50%']);

    const draft = (subject) => page.getByRole('article', { name: subject });
    await draft('Can I change my workspace URL?').getByRole('button', { name: 'Approve as is' }).click();
    await live(page).filter({ hasText: 'Draft approved and sent.' }).waitFor();
    await draft('Can I change my workspace URL?').waitFor({ state: 'detached' });
    assert.match(await focused(page), /^H2:Drafts held for review \(2\)/, 'focus goes to the list after a verdict');

    const twoFactor = draft('Two-factor codes are not arriving');
    await twoFactor.getByLabel('Reply to send').fill('Codes by SMS can take a few minutes. An authenticator app is faster: Profile → Security.');
    await twoFactor.getByRole('button', { name: 'Approve with edits' }).click();
    await live(page).filter({ hasText: 'Edited draft approved and sent.' }).waitFor();
    await twoFactor.waitFor({ state: 'detached' });

    const bank = draft('Can I pay by bank transfer?');
    await bank.getByLabel('Why reject (optional)').fill('Bank transfer is only for yearly plans over 50 seats.');
    await bank.getByRole('button', { name: 'Reject draft' }).click();
    await live(page).filter({ hasText: 'Draft rejected' }).waitFor();
    await page.getByText('No drafts wait for review.').waitFor();

    const posts = operatorCalls(current, 'POST', /^\/operator\/drafts\//).map((r) => new URL(r.url).pathname.split('/').at(-1));
    assert.deepEqual(posts, ['approve', 'approve', 'reject']);
    // Now all five reviewed, two approved as they were.
    await page.getByTestId('agreement').getByRole('cell', { name: '40%' }).waitFor();
    assert.deepEqual(await draftRate(), ['5', '5', '2', '40%']);
    const ticket = suite.target.fake.operator.tickets.get(suite.target.fake.operator.idOf('Can I pay by bank transfer?'));
    assert.equal(ticket.handled_by, 'person', 'a rejected draft sends the ticket to a person');
    await screenshot(page, 'console-reviews.png');

    // A proposal edited, then approved: the edit is what the agent learns.
    const proposal = page.getByRole('article', { name: 'How long does a password reset link last?' });
    await proposal.getByLabel('Answer').fill('One hour. A new link comes from Forgot password on the sign-in page.');
    await proposal.getByRole('button', { name: 'Approve with edits' }).click();
    await live(page).filter({ hasText: 'Learned answer approved' }).waitFor();
    await proposal.waitFor({ state: 'detached' });
    const [approve] = operatorCalls(current, 'POST', /^\/operator\/proposals\/[^/]+\/approve$/);
    assert.equal(approve.headers['content-type'], 'application/json');
    const learned = suite.target.fake.operator.proposals.find((p) => p.question === 'How long does a password reset link last?');
    assert.deepEqual([learned.status, learned.answer], ['approved', 'One hour. A new link comes from Forgot password on the sign-in page.']);
  });

  it('a 401 from the API signs the operator out with a clear message', async () => {
    const { page } = await openQueue();
    suite.target.fake.operator.revokeTokens();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    await page.getByTestId('sign-in-banner').filter({ hasText: 'You have been signed out' }).waitFor();
    assert.equal(await focused(page), 'H1:Sign in', 'focus on the sign-in page, the notice read next');
    assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), SESSION_KEY), null);
    assert.match(await live(page).textContent(), /You have been signed out/);
    // Signing in again returns to where the operator was.
    await signIn(page);
    await page.getByRole('heading', { name: 'Queue', level: 1 }).waitFor();
  });

  it('works with the keyboard alone: sign in, filter, open a ticket, reply, sign out', async () => {
    const current = await open();
    const { page } = current;
    assert.equal(await focusedLabel(page), 'Email', 'the email field has focus');
    await page.keyboard.type(ALICE.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ALICE.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Queue', level: 1 }).waitFor();
    assert.equal(await focused(page), 'H1:Queue', 'focus on the queue after signing in');

    await tabUntil(page, async () => (await focusedLabel(page)) === 'Channel', 'the channel filter');
    await page.keyboard.type('WhatsApp');
    assert.equal(await page.getByLabel('Channel').inputValue(), 'whatsapp');
    await tabUntil(page, async () => (await focused(page)) === 'BUTTON:Apply filters', 'Apply filters');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/\?channel=whatsapp$/);
    await live(page).filter({ hasText: /^3 tickets\./ }).waitFor();

    await tabUntil(page, async () => (await focused(page)) === 'A:Invoice shows the wrong VAT number', 'the ticket link');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Invoice shows the wrong VAT number', level: 1 }).waitFor();
    assert.equal(await focused(page), 'H1:Invoice shows the wrong VAT number');

    await tabUntil(page, async () => (await focusedLabel(page)) === 'Reply to the customer', 'the reply box');
    await page.keyboard.type('The corrected invoice is in Billing → Invoices.');
    await tabUntil(page, async () => (await focused(page)) === 'BUTTON:Send reply', 'Send reply');
    await page.keyboard.press('Enter');
    await live(page).filter({ hasText: 'Reply queued' }).waitFor();
    assert.equal(await focusedLabel(page), 'Reply to the customer', 'focus back in the emptied reply box');

    await page.keyboard.down('Shift');
    await tabUntil(page, async () => (await focused(page)) === 'BUTTON:Sign out', 'Sign out', 60);
    await page.keyboard.up('Shift');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), SESSION_KEY), null);
  });
});
