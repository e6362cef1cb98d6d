// The operator console on the real stack (#11): a whole handoff-and-learning cycle in the
// browser. The agent escalates a customer's refund; the operator signs in through moto's
// Cognito, answers from the console, the agent stays silent until the ticket is handed
// back; a question the knowledge base cannot answer is resolved with notes, its learned
// answer approved in Reviews, and the next customer who asks gets it, cited.
// Needs E2E_BASE_URL (the local stack; the fake has no agent and no Cognito), on a stack this
// test has not taught yet: one that has answers the Figma question instead of escalating it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { browserSuite, createTicket, fillForm, openPage, REPLY_TIMEOUT_MS, sampleValues, screenshot, usingFake } from './run.mjs';

/** The development operator the local stack creates (infra/local-stack/src/cognito.rs). */
const OPERATOR = { email: 'operator@tandemboards.example', password: 'Local-operator-1' };
/** How long the agent must stay quiet on a person's ticket before the test believes it. */
const SILENCE_MS = 5_000;
/** Tickets of earlier runs stay on a stack that was not restarted: this run's subjects and addresses are its own. */
const RUN = randomUUID().slice(0, 8);

const suite = browserSuite('the console on the stack');

/**
 * The operator's console and the customer's page, each in its own browser context (their own
 * sessionStorage), both checked after the test. The console may also talk to Cognito (moto).
 */
async function openPages() {
  const base = suite.target.baseUrl;
  const config = await (await fetch(`${base}/console/config.json`)).json();
  const operator = await openPage(suite.browser, base, { allowedOrigins: [new URL(config.cognitoEndpoint).origin] });
  const customer = await openPage(suite.browser, base);
  suite.current = {
    foreignRequests: () => [...operator.foreignRequests(), ...customer.foreignRequests()],
    get pageErrors() {
      return [...operator.pageErrors, ...customer.pageErrors];
    },
    close: async () => {
      await operator.close();
      await customer.close();
    },
  };
  return { operator: operator.page, customer: customer.page };
}

/** Calls `check` until it returns something truthy (or `timeout` passes); returns that. */
async function until(check, what, timeout = REPLY_TIMEOUT_MS, every = 1_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** The customer's ticket as the status page reads it (GET /support/ticket/{id}). */
async function publicTicket(id) {
  const res = await fetch(`${suite.target.baseUrl}/support/ticket/${id}`, { headers: { Accept: 'application/json' } });
  assert.equal(res.status, 200);
  return res.json();
}

/** The customer writes on the support form; returns the ticket id, the page on its status page. */
async function submitOnForm(page, values) {
  await page.goto(`${suite.target.baseUrl}/#/`);
  await fillForm(page, sampleValues(values));
  await page.getByRole('button', { name: 'Send request' }).click();
  const id = await page.getByTestId('ticket-id').textContent({ timeout: 20_000 });
  await page.getByTestId('status-link').click();
  await page.getByTestId('ticket').waitFor();
  return id;
}

async function signIn(page) {
  await page.goto(`${suite.target.baseUrl}/console/`);
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  await page.getByLabel('Email').fill(OPERATOR.email);
  await page.getByLabel('Password').fill(OPERATOR.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Queue', level: 1 }).waitFor();
  await page.getByTestId('operator').filter({ hasText: `Signed in as ${OPERATOR.email}` }).waitFor();
}

/** The queue's row of the ticket with `subject`, once the queue lists it escalated (refreshing until then). */
async function escalatedRow(page, subject) {
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: subject, exact: true }) });
  await until(async () => {
    // The queue keeps its last answer on screen while the new one loads: wait for it.
    await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/operator/tickets'),
      page.getByRole('button', { name: 'Refresh' }).click(),
    ]);
    return (await row.count()) === 1 && (await row.getByRole('cell').first().textContent()) === 'Escalated';
  }, `"${subject}" escalated in the queue`);
  return row;
}

const live = (page) => page.getByTestId('console-live');
const statusOf = (page) => page.getByTestId('ticket-status');
const agentReplies = (page) => page.locator('.ts-msg--agent');

describe('the operator console on the local stack', { skip: usingFake && 'needs the real stack (E2E_BASE_URL): the agent, the operator API and Cognito' }, () => {
  it('a person takes an escalated refund, replies from the console, the agent stays silent until it is handed back', async () => {
    const { operator, customer } = await openPages();
    const subject = `Charged twice (${RUN})`;
    const refund = 'I was charged twice this month. Please refund the second charge.';

    // 1. The customer asks for a refund on the form: the agent hands refunds to people.
    const id = await submitOnForm(customer, {
      name: 'Rita Refund',
      email: `rita.${RUN}@refund.example`,
      subject,
      category: 'billing',
      message: refund,
    });
    await statusOf(customer).filter({ hasText: 'Escalated' }).waitFor({ timeout: REPLY_TIMEOUT_MS });
    await customer.getByTestId('escalated-note').waitFor();

    // 2. The operator signs in, finds it in the queue with its SLA, opens it.
    await signIn(operator);
    const row = await escalatedRow(operator, subject);
    assert.match(await row.getByTestId('sla-badge').textContent(), /^(On track|At risk|Breached)$/);
    const cells = await row.textContent();
    for (const part of ['Web form', 'Refund']) assert.ok(cells.includes(part), `${part} in ${cells}`);
    await screenshot(operator, 'console-stack-queue.png');

    await row.getByRole('link', { name: subject }).click();
    await operator.getByRole('heading', { name: subject, level: 1 }).waitFor();
    assert.equal(new URL(operator.url()).hash, `#/tickets/${id}`);
    // What the agent knew when it handed over: the reason and its summary.
    const escalation = await operator.getByRole('region', { name: 'Escalation' }).textContent();
    assert.match(escalation, /Reason\s*Refund.*Summary\s*\S/s);
    const conversation = operator.getByTestId('conversation');
    await conversation.getByRole('listitem').filter({ hasText: refund }).waitFor();

    const reply = `I have refunded the second charge (${RUN}). You will see it on your card within 5 days.`;
    await operator.getByLabel('Reply to the customer').fill(reply);
    const preview = operator.getByRole('region', { name: 'Preview' });
    await preview.getByText('Web form status page').waitFor();
    assert.ok((await preview.textContent()).includes(reply), 'the preview shows the reply');
    await screenshot(operator, 'console-stack-ticket.png');
    await operator.getByRole('button', { name: 'Send reply' }).click();
    await live(operator).filter({ hasText: "Reply queued for the customer's Web form." }).waitFor();
    await conversation.getByRole('listitem').filter({ hasText: `${OPERATOR.email} (person)` }).filter({ hasText: reply }).waitFor();

    // 3. The customer sees the person's reply (an escalated ticket is not polled: they reload).
    await until(async () => {
      await customer.reload();
      await customer.getByTestId('ticket').waitFor();
      return (await agentReplies(customer).filter({ hasText: reply }).count()) === 1;
    }, "the person's reply on the status page");
    const repliesBefore = await agentReplies(customer).count();

    // The customer writes again: the ticket is the person's, the agent stays silent...
    const thanks = `Thank you! Will the refund show as a separate line (${RUN})?`;
    await customer.getByLabel('Add a message').fill(thanks);
    await customer.getByRole('button', { name: 'Send message' }).click();
    await customer.locator('.ts-msg--customer').filter({ hasText: thanks }).waitFor();
    await customer.waitForTimeout(SILENCE_MS);
    assert.equal(await agentReplies(customer).count(), repliesBefore, 'the agent does not answer over the person');
    assert.equal((await publicTicket(id)).messages.length, repliesBefore + 2, 'nothing new on the ticket either');
    // ...and the operator sees the message on the ticket.
    await operator.reload();
    await conversation.getByRole('listitem').filter({ hasText: 'Customer' }).filter({ hasText: thanks }).waitFor();

    // 4. Handed back: the agent answers the customer's next message.
    await operator.getByLabel('Note for the record (optional)').fill('Refund done; the agent can take questions again.');
    await operator.getByRole('button', { name: 'Hand back' }).click();
    await live(operator).filter({ hasText: 'Handed back' }).waitFor();
    await operator.getByTestId('audit').getByText(`operator:${OPERATOR.email} · Handed back`).waitFor();

    await customer.getByLabel('Add a message').fill('How do I export my board to CSV?');
    await customer.getByRole('button', { name: 'Send message' }).click();
    const answer = agentReplies(customer).nth(repliesBefore);
    await answer.waitFor({ timeout: REPLY_TIMEOUT_MS });
    assert.match(await answer.textContent(), /CSV/i, 'the agent answers the question');
    await screenshot(customer, 'console-stack-status.png');
  });

  it('resolving with notes proposes a learned answer; approved in Reviews, the agent answers the next customer with it', async () => {
    const { operator, customer } = await openPages();
    const subject = `Live Figma on a card (${RUN})`;
    const question = 'How do I show a live Figma design on a card?';
    const learned = 'Paste the Figma share link into the card description: Tandem shows a live Figma preview on the card.';

    // 5. A question the knowledge base cannot answer goes to a person...
    const id = await createTicket(suite.target.baseUrl, {
      name: 'Fay Figma',
      email: `fay.${RUN}@figma-fan.example`,
      subject,
      message: 'Can I show a live Figma design on a card? I need a person to tell me.',
    });
    const { status } = await until(async () => {
      const ticket = await publicTicket(id);
      return ticket.status !== 'open' && ticket;
    }, 'the agent to take the Figma question');
    // A stack this test ran on before has learned the answer and gives it: the test needs a fresh one.
    assert.equal(status, 'escalated', 'nothing the agent knows answers the Figma question (a fresh stack has not learned it)');

    // ...who resolves it with notes, wording the question and the answer the agent will learn.
    await signIn(operator);
    const row = await escalatedRow(operator, subject);
    await row.getByRole('link', { name: subject }).click();
    await operator.getByRole('heading', { name: subject, level: 1 }).waitFor();
    await operator.getByRole('region', { name: 'Escalation' }).waitFor();
    await operator.getByLabel('Resolution notes').fill(`Told the customer how (${RUN}).`);
    await operator.getByLabel('Question').fill(question);
    await operator.getByLabel('Answer').fill(learned);
    await operator.getByRole('button', { name: 'Resolve ticket' }).click();
    await live(operator).filter({ hasText: 'Ticket resolved. The learned answer waits in Reviews.' }).waitFor();
    await statusOf(operator).filter({ hasText: 'Resolved' }).waitFor();

    // The proposal this ticket made, approved as it is.
    await operator.getByRole('link', { name: 'Reviews' }).click();
    const proposal = operator.getByRole('article').filter({ has: operator.getByRole('link', { name: `ticket ${id}` }) });
    await proposal.getByRole('heading', { name: question }).waitFor();
    assert.equal(await proposal.getByLabel('Answer').inputValue(), learned);
    await proposal.getByRole('button', { name: 'Approve as is' }).click();
    await live(operator).filter({ hasText: 'Learned answer approved' }).waitFor();
    await proposal.waitFor({ state: 'detached' });

    // 6. The next customer asks the same on the form: the agent answers with what it learned, and says whose answer it is.
    await submitOnForm(customer, {
      name: 'Nico Next',
      email: `nico.${RUN}@next.example`,
      subject: `Figma on a card (${RUN})`,
      message: 'How can I show our Figma design live on a Tandem card?',
    });
    const answer = agentReplies(customer).first();
    await answer.waitFor({ timeout: REPLY_TIMEOUT_MS });
    await statusOf(customer).filter({ hasText: 'Answered' }).waitFor({ timeout: REPLY_TIMEOUT_MS });
    const text = await answer.textContent();
    assert.ok(text.includes('live Figma preview'), `the learned answer in: ${text}`);
    assert.ok(text.includes("our team's answer"), `cited as the team's answer: ${text}`);
    await screenshot(customer, 'console-stack-learned.png');
  });
});
