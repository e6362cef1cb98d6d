// End-to-end harness: real headless Chromium (Debian's, never a downloaded one)
// driven by playwright-core, against either the real stack (E2E_BASE_URL) or the
// in-memory fake API (started here on a free port when E2E_BASE_URL is unset).
//
// Run all e2e tests:  node e2e/run.mjs   (same as: node --test e2e/)
// The *.test.mjs files import the helpers below.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const webFormDir = path.resolve(here, '..');
export const artifactsDir = path.join(here, 'artifacts');

/** The form's rules (limits, categories, priorities, escalation teams): the file the form and the server read. */
export const rules = JSON.parse(readFileSync(path.resolve(webFormDir, '../shared/webform-rules.json'), 'utf8'));

/** How long to wait for the agent's reply (the real stack may call a model). */
export const REPLY_TIMEOUT_MS = Number(process.env.E2E_REPLY_TIMEOUT_MS ?? (process.env.E2E_BASE_URL ? 90_000 : 15_000));

export const usingFake = !process.env.E2E_BASE_URL;

/**
 * Registers a suite's browser, the target under test and the checks after every test
 * (no request to another origin, no uncaught page error); returns them as `suite`.
 */
export function browserSuite(what) {
  const suite = { browser: undefined, target: undefined, current: undefined };
  before(async () => {
    suite.target = await startTarget();
    suite.browser = await launchBrowser();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.target?.close();
  });
  afterEach(async () => {
    if (!suite.current) return;
    const foreign = suite.current.foreignRequests();
    const errors = suite.current.pageErrors;
    await suite.current.close();
    suite.current = undefined;
    assert.deepEqual(foreign, [], `${what} must only talk to the configured API origin`);
    assert.deepEqual(errors, [], 'no uncaught page errors');
  });
  return suite;
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The stack under test: { baseUrl, close() }. */
export async function startTarget() {
  if (process.env.E2E_BASE_URL) {
    return { baseUrl: process.env.E2E_BASE_URL.replace(/\/+$/, ''), fake: null, close: async () => {} };
  }
  const dist = path.join(webFormDir, 'dist');
  if (!existsSync(path.join(dist, 'index.html')) || !existsSync(path.join(dist, 'embed.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the e2e tests');
  }
  const { createFakeApi } = await import('./fake-api.mjs');
  const fake = createFakeApi({ distDir: dist });
  const baseUrl = await fake.listen(0);
  return { baseUrl, fake, close: () => fake.close() };
}

/**
 * A fresh browser context + page that records every request and page error.
 * `allowedOrigins` are the origins the page may talk to (default: the base URL's).
 */
export async function openPage(browser, baseUrl, { allowedOrigins = [], viewport = { width: 1100, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport, locale: 'en-US', serviceWorkers: 'block' });
  const page = await context.newPage();
  const requests = [];
  const pageErrors = [];
  page.on('request', (r) => requests.push({ method: r.method(), url: r.url(), headers: r.headers() }));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const allowed = new Set([new URL(baseUrl).origin, ...allowedOrigins]);
  return {
    context,
    page,
    requests,
    pageErrors,
    /** Requests to anything but the allowed origins (data:/blob:/about: ignored). */
    foreignRequests() {
      return requests.filter(({ url }) => {
        if (/^(data|blob|about):/.test(url)) return false;
        return !allowed.has(new URL(url).origin);
      });
    },
    apiRequests(pathPart) {
      return requests.filter(({ url }) => new URL(url).pathname.startsWith(pathPart));
    },
    close: () => context.close(),
  };
}

export async function screenshot(page, name) {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, name), fullPage: true });
}

/** A valid submission that the real agent can answer from the knowledge base. */
export function sampleValues(overrides = {}) {
  assert.ok(rules.categories.includes('technical'), 'the samples use the "technical" category of the rules');
  return {
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    subject: 'How do I export a board to CSV?',
    category: 'technical',
    categoryLabel: 'Technical support',
    priority: rules.default_priority,
    message: 'Hi! I would like to export my team board to a CSV file for a report. Where do I find that option?',
    ...overrides,
  };
}

/** A valid submission as the API takes it (the sample without the category's label). */
export function apiPayload(overrides = {}) {
  const { categoryLabel: _label, ...v } = sampleValues(overrides);
  return v;
}

/** Makes a ticket through the API (as the form would) and returns its id. */
export async function createTicket(baseUrl, overrides = {}) {
  const res = await fetch(`${baseUrl}/support/submit`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': randomUUID() },
    body: JSON.stringify(apiPayload(overrides)),
  });
  assert.equal(res.status, 201, 'the ticket is made');
  return (await res.json()).ticket_id;
}

/** Fills the form inside `scope` (a page or a locator) by its labels. */
export async function fillForm(scope, v) {
  await scope.getByLabel('Your name').fill(v.name);
  await scope.getByLabel('Email').fill(v.email);
  await scope.getByLabel('Subject').fill(v.subject);
  await scope.getByLabel('Category').selectOption(v.category);
  await scope.getByLabel('Priority').selectOption(v.priority);
  await scope.getByLabel('Message').fill(v.message);
}

export async function readForm(scope) {
  return {
    name: await scope.getByLabel('Your name').inputValue(),
    email: await scope.getByLabel('Email').inputValue(),
    subject: await scope.getByLabel('Subject').inputValue(),
    category: await scope.getByLabel('Category').inputValue(),
    priority: await scope.getByLabel('Priority').inputValue(),
    message: await scope.getByLabel('Message').inputValue(),
  };
}

// `node e2e/run.mjs` runs the whole suite with node's test runner.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', 'e2e/'], {
    cwd: webFormDir,
    stdio: 'inherit',
  });
  child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
}
