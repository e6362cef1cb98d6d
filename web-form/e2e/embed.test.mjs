// The embed: one <script> tag on a plain host page.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  browserSuite,
  fillForm,
  openPage,
  REPLY_TIMEOUT_MS,
  sampleValues,
  screenshot,
  usingFake,
} from './run.mjs';

const hostHtml = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'host.html'), 'utf8');
const TICKET_RE = /^tkt_[0-9a-f]{32}$/;

const suite = browserSuite('the embed');

/** Serves `html` at `url` from inside the browser (no server needed, any origin). */
async function openHost(url, html, allowedOrigins = []) {
  suite.current = await openPage(suite.browser, suite.target.baseUrl, { allowedOrigins });
  await suite.current.page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: html }));
  await suite.current.page.goto(url);
  return suite.current;
}

describe('embed.js on a plain host page', () => {
  it('renders from one script tag, submits, and shows the status inline', async () => {
    // e2e/host.html: the host page has only `<script src="/embed.js" data-target=...>`,
    // so the API base defaults to the script's own origin.
    const hostUrl = `${suite.target.baseUrl}/__e2e__/host.html`;
    const { page, requests, apiRequests } = await openHost(hostUrl, hostHtml);
    const widget = page.locator('#tandem-support .tandem-support');
    await widget.getByRole('heading', { name: 'Contact support' }).waitFor();
    assert.equal(await page.evaluate(() => typeof window.TandemSupport?.mount), 'function');
    assert.equal(await page.locator('style#tandem-support-styles').count(), 1);
    // Only the page itself and the one script were loaded.
    assert.deepEqual(
      requests.map((r) => new URL(r.url).pathname),
      ['/__e2e__/host.html', '/embed.js'],
    );

    // Host styles are untouched by the widget's CSS.
    const host = await page.evaluate(() => {
      const p = getComputedStyle(document.getElementById('host-copy'));
      const b = getComputedStyle(document.getElementById('host-button'));
      return { pColor: p.color, pFont: p.fontFamily, pSize: p.fontSize, bBg: b.backgroundColor, bFont: b.fontFamily };
    });
    assert.deepEqual(host, {
      pColor: 'rgb(90, 60, 20)',
      pFont: 'Georgia, serif',
      pSize: '18px',
      bBg: 'rgb(200, 120, 0)',
      bFont: 'Georgia, serif',
    });
    // ...while the widget uses its own system font stack.
    assert.match(await widget.evaluate((el) => getComputedStyle(el).fontFamily), /system-ui/);

    const v = sampleValues({ subject: 'Embed: how do I export a board to CSV?' });
    await fillForm(widget, v);
    await widget.getByRole('button', { name: 'Send request' }).click();
    const id = await widget.getByTestId('ticket-id').textContent({ timeout: 20_000 });
    assert.match(id, TICKET_RE);
    assert.equal(apiRequests('/support/submit').length, 1);
    await screenshot(page, 'embed.png');

    // The status opens inline: the host page URL does not change.
    await widget.getByTestId('status-link').click();
    assert.equal(page.url(), hostUrl);
    await widget.getByTestId('ticket').waitFor();
    await widget.locator('.ts-msg--agent').first().waitFor({ timeout: REPLY_TIMEOUT_MS });
    await screenshot(page, 'embed-status.png');
  });

  it('TandemSupport.mount(el, {apiBase}) mounts a second widget', async () => {
    const hostUrl = `${suite.target.baseUrl}/__e2e__/mount.html`;
    const html = `<!doctype html><html lang="en"><head><title>mount</title></head><body>
      <div id="tandem-support"></div><div id="second"></div>
      <script src="/embed.js" data-api-base="${suite.target.baseUrl}"></script>
      <script>window.TandemSupport.mount(document.getElementById('second'), { apiBase: ${JSON.stringify(suite.target.baseUrl)} });</script>
      </body></html>`;
    // (This page has a second inline script only to call the public mount API.)
    const { page, apiRequests } = await openHost(hostUrl, html);
    await page.locator('#second .tandem-support').getByRole('heading', { name: 'Contact support' }).waitFor();
    assert.equal(await page.locator('.tandem-support').count(), 2);
    // Ids are unique across both widgets, so labels still point at the right inputs.
    const ids = await page.evaluate(() => [...document.querySelectorAll('[id]')].map((e) => e.id));
    assert.equal(new Set(ids).size, ids.length);
    const second = page.locator('#second');
    await second.getByRole('button', { name: 'Send request' }).click();
    assert.equal(await second.getByLabel('Your name').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#tandem-support').getByLabel('Your name').getAttribute('aria-invalid'), null);
    assert.equal(apiRequests('/support/').length, 0);
  });

  it('works cross-origin with data-api-base (needs CORS on the API)', { skip: !usingFake && !process.env.E2E_CORS }, async () => {
    // A second local server is the host page's origin (loopback, so Chromium's
    // local-network-access rules don't apply); the API is on the base URL.
    const html = `<!doctype html><html lang="en"><head><title>Other origin</title></head><body>
      <h1>Partner site</h1>
      <div id="tandem-support"></div>
      <script src="${suite.target.baseUrl}/embed.js" data-api-base="${suite.target.baseUrl}" data-suite.target="#tandem-support"></script>
      </body></html>`;
    const hostServer = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    await new Promise((r) => hostServer.listen(0, '127.0.0.1', r));
    const hostOrigin = `http://127.0.0.1:${hostServer.address().port}`;
    try {
      assert.notEqual(hostOrigin, new URL(suite.target.baseUrl).origin);
      suite.current = await openPage(suite.browser, suite.target.baseUrl, { allowedOrigins: [hostOrigin] });
      const { page, apiRequests } = suite.current;
      await page.goto(`${hostOrigin}/help.html`);
      const widget = page.locator('#tandem-support .tandem-support');
      await widget.getByRole('heading', { name: 'Contact support' }).waitFor();
      await fillForm(widget, sampleValues({ subject: 'Cross-origin: how do I export a board?' }));
      await widget.getByRole('button', { name: 'Send request' }).click();
      assert.match(await widget.getByTestId('ticket-id').textContent({ timeout: 20_000 }), TICKET_RE);
      assert.equal(apiRequests('/support/submit').filter((r) => r.method === 'POST').length, 1);
    } finally {
      hostServer.closeAllConnections?.();
      await new Promise((r) => hostServer.close(r));
    }
  });
});
