// A tiny in-memory stand-in for the support API, for developing and testing the
// web form without the real stack. Serves dist/ (index.html at /, /embed.js, the
// operator console at /console/), e2e/host.html at /host.html, the console's API and
// sign-in (fake-operator-api.mjs), and implements the server's contract:
//   POST /support/submit                                  -> 201 | 200 | 422 | 413 | 415 | 400
//   GET  /support/ticket/<id>                             -> 200 | 404
//   POST /support/ticket/<id>/messages                    -> 201 | 200 | 422 | 404 | 413 | 415 | 400
//   GET  /support/ticket/<id>/messages/<message_id>/original -> 200 | 404
// Both POSTs are idempotent: a repeat with the same `Idempotency-Key` header
// (^[A-Za-z0-9_-]{8,128}$; anything else is a 400) answers 200 with what the first
// request made (201), same body. Text fields get the server's hygiene (bidi controls
// removed, invisible-only counts as empty, control characters refused).
// A ticket is `open` at first and becomes `answered` (with an outbound message)
// about one second later; a follow-up makes it `open` again (unless escalated) and it
// is answered again a second later. A subject containing "[escalate]" becomes
// `escalated` (reason human_request), "[escalate:refund]" with that reason (any code
// in `escalation_teams` of the shared rules). A subject containing "[email]" makes the
// first message arrive as an email whose original (with a signature and quoted
// history) differs from the text kept: it `has_original`. The status JSON has no
// sentiment.
//
// Usage: node e2e/fake-api.mjs [port]     (prints the URL it listens on)

import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBody, send } from './fake-http.mjs';
import { createFakeOperatorApi } from './fake-operator-api.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const webFormDir = path.resolve(here, '..');
const rules = JSON.parse(await readFile(path.resolve(webFormDir, '../shared/webform-rules.json'), 'utf8'));

const EMAIL_RE =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const TICKET_RE = /^tkt_[0-9a-f]{32}$/;
const IDEMPOTENCY_KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;

// Text hygiene as the server has it (shared/core/src/domain/text.rs).
const BIDI_RE = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
const WS = '\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const TRIM_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, 'g');
const BLANK_RE = new RegExp(`^[${WS}\\u200B-\\u200D\\u2060\\uFEFF\\u00AD]*$`);
const CONTROL_RE = /[\u0000-\u001F\u007F-\u009F]/;
const STRAY_CONTROL_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** Bidi controls removed, then trimmed like Rust's `str::trim`. */
const clean = (s) => s.replace(BIDI_RE, '').replace(TRIM_RE, '');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const len = (s) => [...s].length;

const NOT_AN_OBJECT = { field: 'body', message: 'body must be a JSON object' };

/** The checks of a JSON body's fields; each failure is `{field, message}` in `errors`. */
function fieldChecks(body) {
  const errors = [];
  const fail = (field, message) => errors.push({ field, message });
  const text = (field, label, { min = 0, max }, singleLine) => {
    const raw = body[field];
    if (raw === undefined || raw === null) return fail(field, `${label} is required`);
    if (typeof raw !== 'string') return fail(field, `${label} must be text`);
    const v = clean(raw);
    const n = len(v);
    if (BLANK_RE.test(v)) fail(field, `${label} is required`);
    else if (n < min) fail(field, `${label} must be at least ${min} characters`);
    else if (n > max) fail(field, `${label} must be at most ${max} characters`);
    else if (singleLine && CONTROL_RE.test(v)) fail(field, `${label} must be a single line of text`);
    else if (STRAY_CONTROL_RE.test(v)) fail(field, `${label} contains characters that are not text`);
    else if (field === 'email' && !EMAIL_RE.test(v)) fail(field, 'Email must be a valid email address');
  };
  const choice = (field, label, allowed, required) => {
    const raw = body[field];
    if (raw === undefined || raw === null) return required ? fail(field, `${label} is required`) : undefined;
    if (typeof raw !== 'string') return fail(field, `${label} must be text`);
    if (!allowed.includes(raw.trim())) fail(field, `${label} must be one of: ${allowed.join(', ')}`);
  };
  return { errors, text, choice };
}

const isObject = (body) => typeof body === 'object' && body !== null && !Array.isArray(body);

/** Server-side validation with the same shared rules (and messages) as the server. */
export function validatePayload(body) {
  if (!isObject(body)) return [NOT_AN_OBJECT];
  const { errors, text, choice } = fieldChecks(body);
  text('name', 'Name', rules.name, true);
  text('email', 'Email', rules.email, true);
  text('subject', 'Subject', rules.subject, true);
  choice('category', 'Category', rules.categories, true);
  text('message', 'Message', rules.message, false);
  choice('priority', 'Priority', rules.priorities, false);
  return errors;
}

/** A follow-up's `{"message"}`: the form's message rule. */
export function validateFollowUp(body) {
  if (!isObject(body)) return [NOT_AN_OBJECT];
  const { errors, text } = fieldChecks(body);
  text('message', 'Message', rules.message, false);
  return errors;
}

/** "[escalate]" → human_request; "[escalate:<reason>]" → that reason (other if unknown); else null. */
function escalationRequested(subject) {
  const m = /\[escalate(?::([a-z_]+))?\]/.exec(subject);
  if (!m) return null;
  const reason = m[1] ?? 'human_request';
  return Object.hasOwn(rules.escalation_teams, reason) ? reason : 'other';
}

function corsHeaders(req) {
  const origin = req.headers.origin;
  return origin
    ? {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, Accept, Idempotency-Key',
        'Access-Control-Max-Age': '600',
        Vary: 'Origin',
      }
    : {};
}

/**
 * The Idempotency-Key (undefined when absent) and JSON body of a POST; a request that is
 * not JSON, too large or has a malformed key is answered here (415, 413, 400) and gives null.
 */
async function readIdempotentPost(req, res, cors) {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    send(res, 415, { error: 'unsupported_media_type', message: 'Send JSON.' }, cors);
    return null;
  }
  const key = req.headers['idempotency-key'];
  if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key)) {
    send(
      res,
      400,
      { error: 'invalid_idempotency_key', message: 'Idempotency-Key must be 8 to 128 letters, digits, "-" or "_".' },
      cors,
    );
    return null;
  }
  const { text, tooLarge } = await readBody(req, rules.max_body_bytes);
  if (tooLarge) {
    send(res, 413, { error: 'payload_too_large', message: 'That request is too large.' }, cors);
    return null;
  }
  try {
    return { key, body: JSON.parse(text) };
  } catch {
    send(res, 400, { error: 'invalid_json', message: 'The request body is not valid JSON.' }, cors);
    return null;
  }
}

/** A message id as the server makes them: the time in ms (13 digits), the direction, 16 hex digits. */
function messageId(direction, ms) {
  return `${String(ms).padStart(13, '0')}-${direction === 'inbound' ? 'in' : 'out'}-${randomBytes(8).toString('hex')}`;
}

function message(direction, body, ms, channel = 'web_form') {
  return { message_id: messageId(direction, ms), direction, channel, body, created_at: new Date(ms).toISOString() };
}

/** The email the customer sent: their text, then a signature and the quoted history the agent does not read. */
function emailOriginal(text, name) {
  return [
    text,
    '',
    '-- ',
    name,
    'Sent from my phone',
    '',
    'On Mon, 6 Jan 2025 at 09:12, Tandem Support <support@tandem.example> wrote:',
    `> Hi ${name},`,
    '> Thanks for reaching out. Which board do you mean? You can copy its address from the browser:',
    `> https://app.tandem.example/boards/${'0123456789abcdef'.repeat(12)}?view=table&columns=all`,
    '>',
    '> Best,',
    '> Tandem Support',
  ].join('\n');
}

export function createFakeApi({ distDir = path.join(webFormDir, 'dist'), replyAfterMs = 1000 } = {}) {
  const tickets = new Map();
  /** Idempotency-Key → the 201 body of the request that made the ticket. */
  const submissions = new Map();
  /** `<ticket_id>#<Idempotency-Key>` → the 201 body of the request that added the follow-up. */
  const followUps = new Map();
  const log = [];
  /** The operator console's API and sign-in (fake-operator-api.mjs). */
  const operator = createFakeOperatorApi();

  /** The agent's turn: an open ticket is answered (or escalated) `replyAfterMs` after it (re)opened. */
  function settle(t) {
    if (t.status !== 'open' || Date.now() - t.openedMs < replyAfterMs) return;
    const atMs = t.openedMs + replyAfterMs;
    if (t.escalate) {
      t.status = 'escalated';
      t.escalation_reason = t.escalate;
    } else {
      const answered = t.messages.some((m) => m.direction === 'outbound');
      const reply = answered
        ? `Hi ${t.name},\n\nThanks for the follow-up. Export → CSV includes every column; to keep only some, hide the others in the board view first.\n\nBest,\nTandem Support`
        : `Hi ${t.name},\n\nThanks for reaching out about "${t.subject}". To export a board, open the board menu and choose Export → CSV.\n\nBest,\nTandem Support`;
      t.status = 'answered';
      t.messages.push(message('outbound', reply, atMs));
    }
    t.updated_at = new Date(atMs).toISOString();
  }

  function view(t) {
    settle(t);
    return {
      ticket_id: t.ticket_id,
      status: t.status,
      subject: t.subject,
      category: t.category,
      priority: t.priority,
      created_at: t.created_at,
      updated_at: t.updated_at,
      escalation_reason: t.status === 'escalated' ? t.escalation_reason : null,
      messages: t.messages.map(({ original, ...m }) => (original === undefined ? m : { ...m, has_original: true })),
    };
  }

  /** POST /support/ticket/<id>/messages: the customer writes again on their ticket. */
  async function addFollowUp(req, res, cors, ticketId) {
    const post = await readIdempotentPost(req, res, cors);
    if (!post) return;
    const t = TICKET_RE.test(ticketId) ? tickets.get(ticketId) : undefined;
    if (!t) return send(res, 404, { error: 'not_found', message: 'No ticket with that id' }, cors);
    const errors = validateFollowUp(post.body);
    if (errors.length) return send(res, 422, { error: 'validation_failed', errors }, cors);
    const replayKey = post.key === undefined ? undefined : `${ticketId}#${post.key}`;
    if (replayKey !== undefined && followUps.has(replayKey)) return send(res, 200, followUps.get(replayKey), cors);
    settle(t);
    const nowMs = Date.now();
    const added = message('inbound', clean(post.body.message), nowMs);
    t.messages.push(added);
    if (t.status !== 'escalated') {
      t.status = 'open';
      t.openedMs = nowMs;
    }
    t.updated_at = added.created_at;
    const created = {
      ticket_id: ticketId,
      message: 'Thanks — we have your message. You will get an answer by email and here.',
    };
    if (replayKey !== undefined) followUps.set(replayKey, created);
    return send(res, 201, created, cors);
  }

  /** GET /support/ticket/<id>/messages/<message_id>/original: an email's full text. */
  function original(res, cors, ticketId, messageId) {
    const m = tickets.get(ticketId)?.messages.find((x) => x.message_id === messageId);
    if (m?.original === undefined) {
      return send(res, 404, { error: 'not_found', message: 'No original for that message' }, cors);
    }
    return send(res, 200, { message_id: messageId, original: m.original }, cors);
  }

  async function serveStatic(req, res, urlPath) {
    let file;
    if (urlPath === '/host.html') file = path.join(here, 'host.html');
    else {
      const rel = decodeURIComponent(urlPath.slice(1)) + (urlPath.endsWith('/') ? 'index.html' : '');
      file = path.resolve(distDir, rel);
      if (!file.startsWith(path.resolve(distDir) + path.sep)) return send(res, 404, { error: 'not_found' });
    }
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new Error('not a file');
      const data = await readFile(file);
      res.writeHead(200, {
        'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : data);
    } catch {
      send(res, 404, { error: 'not_found', message: 'Not found' });
    }
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    log.push(`${req.method} ${p}`);
    const cors = corsHeaders(req);
    try {
      if (await operator.handle(req, res, url)) return;
      // The console's pages use relative paths: it must be served from /console/.
      if (p === '/console') {
        res.writeHead(301, { Location: '/console/' });
        return res.end();
      }
      if (p.startsWith('/support/')) {
        if (req.method === 'OPTIONS') {
          res.writeHead(204, cors);
          return res.end();
        }
        if (p === '/support/submit' && req.method === 'POST') {
          const post = await readIdempotentPost(req, res, cors);
          if (!post) return;
          const { key, body } = post;
          const errors = validatePayload(body);
          if (errors.length) return send(res, 422, { error: 'validation_failed', errors }, cors);
          // A repeat of an earlier request: the same ticket, 200 instead of 201.
          if (key !== undefined && submissions.has(key)) return send(res, 200, submissions.get(key), cors);
          const ticket_id = `tkt_${randomBytes(16).toString('hex')}`;
          const nowMs = Date.now();
          const nowIso = new Date(nowMs).toISOString();
          const first = message('inbound', clean(body.message), nowMs);
          if (body.subject.includes('[email]')) {
            first.channel = 'email';
            first.original = emailOriginal(first.body, clean(body.name));
          }
          const t = {
            ticket_id,
            openedMs: nowMs,
            status: 'open',
            name: clean(body.name),
            subject: clean(body.subject),
            category: body.category.trim(),
            priority: (body.priority ?? '').trim() || rules.default_priority,
            created_at: nowIso,
            updated_at: nowIso,
            escalation_reason: null,
            escalate: escalationRequested(body.subject),
            messages: [first],
          };
          tickets.set(ticket_id, t);
          const created = {
            ticket_id,
            message: "Thanks! We've received your request and will reply by email.",
            estimated_response_time: 'within 5 minutes',
          };
          if (key !== undefined) submissions.set(key, created);
          return send(res, 201, created, cors);
        }
        const m = /^\/support\/ticket\/([^/]+)$/.exec(p);
        if (m && req.method === 'GET') {
          const id = decodeURIComponent(m[1]);
          const t = TICKET_RE.test(id) ? tickets.get(id) : undefined;
          if (!t) return send(res, 404, { error: 'not_found', message: 'No ticket with that id' }, cors);
          return send(res, 200, view(t), cors);
        }
        const messages = /^\/support\/ticket\/([^/]+)\/messages$/.exec(p);
        if (messages && req.method === 'POST') return await addFollowUp(req, res, cors, decodeURIComponent(messages[1]));
        const orig = /^\/support\/ticket\/([^/]+)\/messages\/([^/]+)\/original$/.exec(p);
        if (orig && req.method === 'GET') {
          return original(res, cors, decodeURIComponent(orig[1]), decodeURIComponent(orig[2]));
        }
        return send(res, 404, { error: 'not_found', message: 'Not found' }, cors);
      }
      if (req.method === 'GET' || req.method === 'HEAD') return await serveStatic(req, res, p);
      send(res, 405, { error: 'method_not_allowed', message: 'Method not allowed' });
    } catch (err) {
      send(res, 500, { error: 'internal', message: String(err) }, cors);
    }
  });

  return {
    server,
    tickets,
    submissions,
    followUps,
    log,
    operator,
    /** Starts on `port` (0 = a free one) and resolves to the base URL. */
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const addr = server.address();
          resolve(`http://${host}:${addr.port}`);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const api = createFakeApi();
  const url = await api.listen(Number(process.argv[2] ?? 0));
  console.log(`fake support API listening on ${url}`);
}
