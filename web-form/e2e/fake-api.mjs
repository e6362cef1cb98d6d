// A tiny in-memory stand-in for the support API, for developing and testing the
// web form without the real stack. Serves dist/ (index.html at /, /embed.js),
// e2e/host.html at /host.html, and implements the server's contract:
//   POST /support/submit        -> 201 | 200 | 422 | 413 | 400
//   GET  /support/ticket/<id>   -> 200 | 404
// Submissions are idempotent: a repeat with the same `Idempotency-Key` header
// (^[A-Za-z0-9_-]{8,128}$; anything else is a 400) answers 200 with the ticket the
// first request made (201), same body. Text fields get the server's hygiene (bidi
// controls removed, invisible-only counts as empty, control characters refused).
// A ticket is `open` at first and becomes `answered` (with an outbound message)
// about one second later. A subject containing "[escalate]" becomes `escalated`
// (reason human_request), "[escalate:refund]" with that reason (any code in
// `escalation_teams` of the shared rules). The status JSON has no sentiment.
//
// Usage: node e2e/fake-api.mjs [port]     (prints the URL it listens on)

import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Server-side validation with the same shared rules (and messages) as the server. */
export function validatePayload(body) {
  const errors = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [{ field: 'body', message: 'body must be a JSON object' }];
  }
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
  text('name', 'Name', rules.name, true);
  text('email', 'Email', rules.email, true);
  text('subject', 'Subject', rules.subject, true);
  choice('category', 'Category', rules.categories, true);
  text('message', 'Message', rules.message, false);
  choice('priority', 'Priority', rules.priorities, false);
  return errors;
}

/** "[escalate]" → human_request; "[escalate:<reason>]" → that reason (other if unknown); else null. */
function escalationRequested(subject) {
  const m = /\[escalate(?::([a-z_]+))?\]/.exec(subject);
  if (!m) return null;
  const reason = m[1] ?? 'human_request';
  return Object.hasOwn(rules.escalation_teams, reason) ? reason : 'other';
}

function send(res, status, body, extraHeaders = {}) {
  const data = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extraHeaders });
  res.end(data);
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

async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) return { tooLarge: true };
    chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks).toString('utf8') };
}

export function createFakeApi({ distDir = path.join(webFormDir, 'dist'), replyAfterMs = 1000 } = {}) {
  const tickets = new Map();
  /** Idempotency-Key → the 201 body of the request that made the ticket. */
  const submissions = new Map();
  const log = [];

  function view(t) {
    const now = Date.now();
    if (t.status === 'open' && now - t.createdMs >= replyAfterMs) {
      const at = new Date(t.createdMs + replyAfterMs).toISOString();
      if (t.escalate) {
        t.status = 'escalated';
        t.escalation_reason = t.escalate;
      } else {
        t.status = 'answered';
        t.messages.push({
          direction: 'outbound',
          channel: 'web_form',
          body: `Hi ${t.name},\n\nThanks for reaching out about "${t.subject}". To export a board, open the board menu and choose Export → CSV.\n\nBest,\nTandem Support`,
          created_at: at,
        });
      }
      t.updated_at = at;
    }
    return {
      ticket_id: t.ticket_id,
      status: t.status,
      subject: t.subject,
      category: t.category,
      priority: t.priority,
      created_at: t.created_at,
      updated_at: t.updated_at,
      escalation_reason: t.status === 'escalated' ? t.escalation_reason : null,
      messages: t.messages,
    };
  }

  async function serveStatic(req, res, urlPath) {
    let file;
    if (urlPath === '/host.html') file = path.join(here, 'host.html');
    else {
      const rel = urlPath === '/' ? 'index.html' : decodeURIComponent(urlPath.slice(1));
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
      if (p.startsWith('/support/')) {
        if (req.method === 'OPTIONS') {
          res.writeHead(204, cors);
          return res.end();
        }
        if (p === '/support/submit' && req.method === 'POST') {
          if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
            return send(res, 415, { error: 'unsupported_media_type', message: 'Send JSON.' }, cors);
          }
          const key = req.headers['idempotency-key'];
          if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key)) {
            return send(
              res,
              400,
              { error: 'invalid_idempotency_key', message: 'Idempotency-Key must be 8 to 128 letters, digits, "-" or "_".' },
              cors,
            );
          }
          const { text, tooLarge } = await readBody(req, rules.max_body_bytes);
          if (tooLarge) return send(res, 413, { error: 'payload_too_large', message: 'That request is too large.' }, cors);
          let body;
          try {
            body = JSON.parse(text);
          } catch {
            return send(res, 400, { error: 'invalid_json', message: 'The request body is not valid JSON.' }, cors);
          }
          const errors = validatePayload(body);
          if (errors.length) return send(res, 422, { error: 'validation_failed', errors }, cors);
          // A repeat of an earlier request: the same ticket, 200 instead of 201.
          if (key !== undefined && submissions.has(key)) return send(res, 200, submissions.get(key), cors);
          const ticket_id = `tkt_${randomBytes(16).toString('hex')}`;
          const nowIso = new Date().toISOString();
          const t = {
            ticket_id,
            createdMs: Date.now(),
            status: 'open',
            name: clean(body.name),
            subject: clean(body.subject),
            category: body.category.trim(),
            priority: (body.priority ?? '').trim() || rules.default_priority,
            created_at: nowIso,
            updated_at: nowIso,
            escalation_reason: null,
            escalate: escalationRequested(body.subject),
            messages: [{ direction: 'inbound', channel: 'web_form', body: clean(body.message), created_at: nowIso }],
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
    log,
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
