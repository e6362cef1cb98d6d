// A tiny in-memory stand-in for the support API, for developing and testing the
// web form without the real stack. Serves dist/ (index.html at /, /embed.js),
// e2e/host.html at /host.html, and implements:
//   POST /support/submit        -> 201 | 422 | 413 | 400
//   GET  /support/ticket/<id>   -> 200 | 404
// A ticket is `open` at first and becomes `answered` (with an outbound message)
// about one second later. A subject containing "[escalate]" becomes `escalated`.
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

/** Server-side validation with the same shared rules as the client. */
export function validatePayload(body) {
  const errors = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [{ field: 'body', message: 'body must be a JSON object' }];
  }
  const str = (k) => (typeof body[k] === 'string' ? body[k].trim() : '');
  for (const field of ['name', 'subject', 'message']) {
    const { min, max } = rules[field];
    const n = len(str(field));
    if (n < min || n > max) errors.push({ field, message: `${field} must be between ${min} and ${max} characters` });
  }
  const email = str('email');
  if (!email || len(email) > rules.email.max || !EMAIL_RE.test(email)) {
    errors.push({ field: 'email', message: 'email must be a valid email address' });
  }
  if (!rules.categories.includes(str('category'))) {
    errors.push({ field: 'category', message: `category must be one of ${rules.categories.join(', ')}` });
  }
  const priority = str('priority');
  if (priority && !rules.priorities.includes(priority)) {
    errors.push({ field: 'priority', message: `priority must be one of ${rules.priorities.join(', ')}` });
  }
  return errors;
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
        'Access-Control-Allow-Headers': 'Content-Type, Accept',
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
  const log = [];

  function view(t) {
    const now = Date.now();
    if (t.status === 'open' && now - t.createdMs >= replyAfterMs) {
      const at = new Date(t.createdMs + replyAfterMs).toISOString();
      if (t.escalate) {
        t.status = 'escalated';
        t.escalation_reason = 'customer_request';
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
      escalation_reason: t.escalation_reason,
      sentiment: null,
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
          const ticket_id = `tkt_${randomBytes(16).toString('hex')}`;
          const nowIso = new Date().toISOString();
          const t = {
            ticket_id,
            createdMs: Date.now(),
            status: 'open',
            name: body.name.trim(),
            subject: body.subject.trim(),
            category: body.category.trim(),
            priority: (body.priority ?? '').trim() || rules.default_priority,
            created_at: nowIso,
            updated_at: nowIso,
            escalation_reason: null,
            escalate: body.subject.includes('[escalate]'),
            messages: [{ direction: 'inbound', channel: 'web_form', body: body.message.trim(), created_at: nowIso }],
          };
          tickets.set(ticket_id, t);
          return send(
            res,
            201,
            {
              ticket_id,
              message: "Thanks! We've received your request and will reply by email.",
              estimated_response_time: 'within 5 minutes',
            },
            cors,
          );
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
