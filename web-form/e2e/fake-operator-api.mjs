// An in-memory stand-in for the operator API (docs/operator-api.md) and for Cognito's
// InitiateAuth, for developing and testing the operator console without the real stack.
// The fake API (fake-api.mjs) routes these to it:
//   GET  /console/config.json        -> {"apiBase":"","cognitoEndpoint":"<origin>/local/cognito/","region","clientId"}
//   POST /local/cognito/              -> Cognito's InitiateAuth (USER_PASSWORD_AUTH) for OPERATORS
//   GET  /operator/me | tickets | tickets/{id} | reviews | agreement
//   POST /operator/tickets/{id}/preview | replies | hand-back | resolve
//   POST /operator/drafts/{ticket_id}/{message_id}/approve | reject
//   POST /operator/proposals/{id}/approve | reject
// Every /operator/ route wants `Authorization: Bearer <an ID or access token it issued>`
// (401 {"message":"Unauthorized"} otherwise; `revokeTokens()` makes every token given so
// far unknown, as an expired one is). Every write wants an Idempotency-Key (8-128 of
// [A-Za-z0-9_-]); the same key on the same route answers what the first request did. The
// preview changes nothing and takes any key or none. The queue starts with SEED_TICKETS
// (their times relative to the start), three drafts held for review and one proposal.
//
// Formats are the fake's own, and only stand in for the channels' real ones: an email
// reply gets "Hi <first name>," and a sign-off, a WhatsApp one is split on blank lines.

import { randomBytes } from 'node:crypto';
import { readBody, send } from './fake-http.mjs';

export const CLIENT_ID = 'fakeoperatorconsoleclient';
export const REGION = 'us-east-1';
export const COGNITO_PATH = '/local/cognito/';

/** Who may sign in; `new@` still has a temporary password (Cognito's NEW_PASSWORD_REQUIRED). */
export const OPERATORS = [
  { email: 'alice@tandem.example', password: 'Correct-Horse-7', username: 'alice', sub: '5f0c1e9a-0000-4000-8000-00000000a11c' },
  { email: 'new@tandem.example', password: 'Temporary-Pass-1', username: 'newbie', sub: '5f0c1e9a-0000-4000-8000-0000000000e1', temporary: true },
];

const KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;
const MAX_BODY_BYTES = 65_536;
const STATUSES = ['open', 'answered', 'escalated', 'resolved'];
const CHANNELS = ['email', 'whatsapp', 'web_form'];
const REASONS = ['pricing', 'refund', 'legal', 'sentiment', 'human_request', 'no_answer', 'other', 'window_closed', 'delivery_failed'];
const SLA_STATES = ['on_track', 'at_risk', 'breached', 'met'];

const CUSTOMERS = {
  'C-ada': 'Ada Lovelace',
  'C-ben': 'Ben Okafor',
  'C-chen': 'Chen Wei',
  'C-dara': 'Dara Novak',
};

/** The queue at start; `age` and message `ago` in minutes before the fake started. */
export const SEED_TICKETS = [
  {
    id: 'tkt_00000000000000000000000000000a01',
    subject: 'Refund for a double charge',
    channel: 'email',
    status: 'escalated',
    category: 'billing',
    priority: 'high',
    escalation_reason: 'refund',
    handled_by: 'person',
    assignee: null,
    customer_id: 'C-ada',
    age: 50,
    sla: 'at_risk',
    escalation: {
      note: 'Asks for the second charge of March back.',
      summary: 'Charged twice for the March invoice (INV-2031); wants one charge refunded.',
    },
    messages: [
      { author: 'customer', ago: 50, body: 'Hello, I was charged twice for my March invoice (INV-2031). Can you refund the second charge?' },
      {
        author: 'agent',
        ago: 49,
        body: 'Hi Ada,\n\nThanks for writing. A refund needs one of our billing team: I have passed your ticket to them, and someone will reply to you personally.\n\nBest,\nTandem Support',
        delivery: 'delivered',
      },
    ],
    decisions: [
      { kind: 'category', value: 'billing', confidence: 0.93 },
      { kind: 'escalation', value: 'refund', confidence: 0.88, verdict: 'approved' },
    ],
  },
  {
    id: 'tkt_00000000000000000000000000000a02',
    subject: 'Password reset link expired',
    channel: 'whatsapp',
    status: 'resolved',
    category: 'technical',
    priority: 'medium',
    escalation_reason: null,
    handled_by: 'agent',
    assignee: null,
    customer_id: 'C-ada',
    age: 2 * 1440,
    sla: 'met',
    messages: [
      { author: 'customer', ago: 2 * 1440, body: 'My password reset link says it expired' },
      { author: 'agent', ago: 2 * 1440 - 1, body: 'Reset links last one hour. Ask for a new one on the sign-in page: Forgot password.', delivery: 'read' },
    ],
    decisions: [{ kind: 'draft', value: 'Reset links last one hour…', confidence: 0.9, verdict: 'approved' }],
  },
  {
    id: 'tkt_00000000000000000000000000000a03',
    subject: 'Invoice shows the wrong VAT number',
    channel: 'whatsapp',
    status: 'escalated',
    category: 'billing',
    priority: 'medium',
    escalation_reason: 'human_request',
    handled_by: 'person',
    assignee: 'alice',
    customer_id: 'C-ben',
    age: 190,
    sla: 'breached',
    escalation: { note: null, summary: 'Wants a person to correct the VAT number on invoice INV-1988.' },
    messages: [
      { author: 'customer', ago: 190, body: 'The VAT number on my invoice is wrong. I want to talk to a person please.' },
      { author: 'agent', ago: 189, body: 'I have passed this to our support team: a person will reply here.', delivery: 'delivered' },
    ],
    decisions: [{ kind: 'escalation', value: 'human_request', confidence: 0.97 }],
  },
  {
    id: 'tkt_00000000000000000000000000000a04',
    subject: 'How do I export a board to CSV?',
    channel: 'web_form',
    status: 'answered',
    category: 'technical',
    priority: 'low',
    escalation_reason: null,
    handled_by: 'agent',
    assignee: null,
    customer_id: 'C-chen',
    age: 12,
    sla: 'on_track',
    messages: [
      { author: 'customer', ago: 12, body: 'How do I export my board to a CSV file?' },
      { author: 'agent', ago: 11, body: 'Open the board menu and choose Export → CSV.', delivery: 'delivered' },
    ],
    decisions: [
      { kind: 'category', value: 'technical', confidence: 0.95 },
      { kind: 'draft', value: 'Open the board menu and choose Export → CSV.', confidence: 0.86, verdict: 'edited' },
    ],
  },
  {
    id: 'tkt_00000000000000000000000000000a05',
    subject: 'Pricing for 200 seats',
    channel: 'email',
    status: 'escalated',
    category: 'billing',
    priority: 'medium',
    escalation_reason: 'pricing',
    handled_by: 'person',
    assignee: null,
    customer_id: 'C-dara',
    age: 400,
    sla: 'breached',
    escalation: { note: null, summary: 'Asks for a volume price for 200 seats on the Business plan.' },
    messages: [{ author: 'customer', ago: 400, body: 'What would 200 seats on the Business plan cost per year?' }],
    decisions: [{ kind: 'escalation', value: 'pricing', confidence: 0.91, verdict: 'rejected' }],
  },
  {
    id: 'tkt_00000000000000000000000000000a06',
    subject: 'Can I change my workspace URL?',
    channel: 'web_form',
    status: 'open',
    category: 'general',
    priority: 'medium',
    escalation_reason: null,
    handled_by: 'agent',
    assignee: null,
    customer_id: 'C-chen',
    age: 6,
    sla: 'on_track',
    messages: [{ author: 'customer', ago: 6, body: 'Can I change the URL of my workspace?' }],
    decisions: [],
    draft: {
      body: 'Yes: an admin can change it under Settings → Workspace → URL. The old address redirects for 30 days.',
      confidence: 0.64,
    },
  },
  {
    id: 'tkt_00000000000000000000000000000a07',
    subject: 'Two-factor codes are not arriving',
    channel: 'email',
    status: 'open',
    category: 'technical',
    priority: 'high',
    escalation_reason: null,
    handled_by: 'agent',
    assignee: null,
    customer_id: 'C-dara',
    age: 25,
    sla: 'at_risk',
    messages: [{ author: 'customer', ago: 25, body: 'I do not get my two-factor codes by SMS anymore.' }],
    decisions: [],
    draft: {
      body: 'Codes by SMS can take a few minutes. You can also switch to an authenticator app under Profile → Security.',
      confidence: 0.58,
    },
  },
  {
    id: 'tkt_00000000000000000000000000000a08',
    subject: 'Can I pay by bank transfer?',
    channel: 'whatsapp',
    status: 'open',
    category: 'billing',
    priority: 'low',
    escalation_reason: null,
    handled_by: 'agent',
    assignee: null,
    customer_id: 'C-ben',
    age: 3,
    sla: 'on_track',
    messages: [{ author: 'customer', ago: 3, body: 'Can I pay the yearly plan by bank transfer?' }],
    decisions: [],
    draft: { body: 'Yes, on yearly plans. Ask for an invoice under Billing → Payment method.', confidence: 0.55 },
  },
];

const SEED_PROPOSAL = {
  question: 'How long does a password reset link last?',
  answer: 'One hour. Ask for a new link on the sign-in page (Forgot password).',
  source_ticket: 'tkt_00000000000000000000000000000a02',
};

const iso = (ms) => new Date(ms).toISOString();
const hex = (n) => randomBytes(n).toString('hex');
const isText = (v) => typeof v === 'string' && v.trim() !== '';
const textOrNull = (v) => (typeof v === 'string' && v.trim() ? v.trim() : null);

/** A token shaped like a JWT (never checked as one: the fake knows the tokens it gave). */
function fakeJwt(claims) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ typ: 'JWT', kid: 'fake', alg: 'RS256' })}.${part(claims)}.${hex(16)}`;
}

export function createFakeOperatorApi({ now = () => Date.now() } = {}) {
  const startMs = now();
  const at = (minutesAgo) => iso(startMs - minutesAgo * 60_000);
  /** token → the operator it was given to. */
  const tokens = new Map();
  /** username → online until (ms). */
  const presence = new Map();
  /** `<route>#<Idempotency-Key>` → the first answer. */
  const answers = new Map();
  const tickets = new Map();
  const messages = [];
  const decisions = [];
  const audit = [];
  const drafts = [];
  const proposals = [];

  function record(ticketId, actor, action, detail, why = null) {
    audit.push({ ticket_id: ticketId, at: iso(now()), actor, action, detail, why });
  }

  for (const seed of SEED_TICKETS) {
    const { messages: seedMessages, decisions: seedDecisions, draft, age, sla, escalation, ...t } = seed;
    const lastAgo = Math.min(age, ...seedMessages.map((m) => m.ago));
    tickets.set(t.id, {
      ...t,
      created_ms: startMs - age * 60_000,
      updated_at: at(lastAgo),
      sla: {
        state: sla,
        first_response_due: at(age - 60),
        resolution_due: at(age - 24 * 60),
        first_response_at: seedMessages.find((m) => m.author !== 'customer') ? at(age - 1) : null,
      },
      escalation: escalation ? { reason: t.escalation_reason, note: escalation.note, summary: escalation.summary, context: {} } : null,
    });
    for (const m of seedMessages) {
      messages.push({
        id: `${hex(4)}-${m.author === 'customer' ? 'in' : 'out'}-${hex(8)}`,
        ticket_id: t.id,
        direction: m.author === 'customer' ? 'inbound' : 'outbound',
        channel: t.channel,
        author: m.author,
        author_name: null,
        body: m.body,
        created_at: at(m.ago),
        delivery_status: m.delivery ?? null,
        has_original: false,
      });
    }
    for (const d of seedDecisions) {
      decisions.push({
        id: `dec_${hex(6)}`,
        ticket_id: t.id,
        message_id: messages.findLast((m) => m.ticket_id === t.id)?.id ?? '',
        kind: d.kind,
        value: d.value,
        confidence: d.confidence,
        at: at(age),
        verdict: d.verdict ? { outcome: d.verdict, by: 'alice', at: at(age - 5) } : null,
      });
    }
    audit.push({ ticket_id: t.id, at: at(age), actor: 'customer', action: 'message_received', detail: `By ${t.channel}`, why: null });
    if (t.escalation_reason) {
      audit.push({
        ticket_id: t.id,
        at: at(age - 1),
        actor: 'agent',
        action: 'escalated',
        detail: `Reason: ${t.escalation_reason}`,
        why: escalation?.summary ?? null,
      });
    }
    if (draft) {
      const message_id = `${hex(4)}-out-${hex(8)}`;
      drafts.push({ ticket_id: t.id, message_id, channel: t.channel, body: draft.body, confidence: draft.confidence, created_at: at(age - 1), subject: t.subject });
      decisions.push({ id: `dec_${hex(6)}`, ticket_id: t.id, message_id, kind: 'draft', value: draft.body, confidence: draft.confidence, at: at(age - 1), verdict: null });
      audit.push({ ticket_id: t.id, at: at(age - 1), actor: 'agent', action: 'draft_held', detail: 'Held for review', why: `confidence ${draft.confidence}` });
    }
  }
  proposals.push({ id: `prop_${hex(6)}`, ...SEED_PROPOSAL, status: 'pending', created_at: at(1440) });

  function summary(t) {
    const { created_ms, escalation: _e, ...rest } = t;
    return { ...rest, created_at: iso(created_ms), age_minutes: Math.floor((now() - created_ms) / 60_000) };
  }

  function operatorFor(req) {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return m ? tokens.get(m[1]) : undefined;
  }

  /** Cognito's InitiateAuth, as far as the console uses it. */
  async function initiateAuth(req, res) {
    const fail = (type, message) => send(res, 400, { __type: type, message });
    if (req.headers['x-amz-target'] !== 'AWSCognitoIdentityProviderService.InitiateAuth') {
      return fail('UnknownOperationException', 'Unknown operation');
    }
    if (!/^application\/x-amz-json-1\.1\b/i.test(req.headers['content-type'] ?? '')) {
      return fail('SerializationException', 'Expected application/x-amz-json-1.1');
    }
    let body;
    try {
      body = JSON.parse((await readBody(req, MAX_BODY_BYTES)).text ?? '');
    } catch {
      return fail('SerializationException', 'Not JSON');
    }
    if (body.ClientId !== CLIENT_ID) return fail('ResourceNotFoundException', 'User pool client does not exist.');
    if (body.AuthFlow !== 'USER_PASSWORD_AUTH') return fail('InvalidParameterException', 'Unsupported AuthFlow');
    const { USERNAME, PASSWORD } = body.AuthParameters ?? {};
    const op = OPERATORS.find((o) => o.email === USERNAME && o.password === PASSWORD);
    if (!op) return fail('NotAuthorizedException', 'Incorrect username or password.');
    if (op.temporary) {
      return send(res, 200, { ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: hex(32), ChallengeParameters: { USER_ID_FOR_SRP: op.username } });
    }
    const iat = Math.floor(now() / 1000);
    const common = { sub: op.sub, iss: `https://cognito-idp.${REGION}.amazonaws.com/${REGION}_fake`, iat, exp: iat + 3600 };
    const idToken = fakeJwt({ ...common, aud: CLIENT_ID, token_use: 'id', 'cognito:username': op.username, email: op.email });
    const accessToken = fakeJwt({ ...common, client_id: CLIENT_ID, token_use: 'access', username: op.username });
    for (const token of [idToken, accessToken]) tokens.set(token, op);
    return send(res, 200, {
      AuthenticationResult: { IdToken: idToken, AccessToken: accessToken, RefreshToken: hex(32), ExpiresIn: 3600, TokenType: 'Bearer' },
      ChallengeParameters: {},
    });
  }

  /** The queue's query checked as the API checks it: an error text, or the filters. */
  function queueQuery(q) {
    const filters = {};
    for (const [name, allowed] of [['status', STATUSES], ['channel', CHANNELS], ['reason', REASONS], ['sla', SLA_STATES]]) {
      const v = q.get(name);
      if (v === null) continue;
      if (!allowed.includes(v)) return `${name} must be one of: ${allowed.join(', ')}`;
      filters[name] = v;
    }
    for (const [name, max] of [['older_than', Infinity], ['limit', 200]]) {
      const v = q.get(name);
      if (v === null) continue;
      if (!/^\d+$/.test(v) || Number(v) > max) return `${name} must be a whole number${max < Infinity ? ` up to ${max}` : ''}`;
      filters[name] = Number(v);
    }
    return filters;
  }

  function queue(q) {
    const f = queueQuery(q);
    if (typeof f === 'string') return [400, { error: f }];
    const matching = [...tickets.values()]
      .map(summary)
      .filter(
        (t) =>
          (!f.status || t.status === f.status) &&
          (!f.channel || t.channel === f.channel) &&
          (!f.reason || t.escalation_reason === f.reason) &&
          (!f.sla || t.sla.state === f.sla) &&
          (f.older_than === undefined || t.age_minutes > f.older_than),
      )
      .sort((a, b) => (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0));
    const count = (state) => matching.filter((t) => t.sla.state === state).length;
    return [200, { tickets: matching.slice(0, f.limit ?? 50), sla_counts: { at_risk: count('at_risk'), breached: count('breached') } }];
  }

  function detail(t) {
    const mine = (x) => x.ticket_id === t.id;
    return {
      ticket: summary(t),
      escalation: t.escalation,
      messages: messages
        .filter((m) => tickets.get(m.ticket_id)?.customer_id === t.customer_id)
        .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0)),
      decisions: decisions.filter(mine),
      audit: audit.filter(mine).map(({ ticket_id: _t, ...e }) => e),
    };
  }

  /** How a person's reply goes out on the ticket's channel. */
  function formatted(t, body, op) {
    const text = body.trim();
    if (t.channel === 'email') {
      const first = (CUSTOMERS[t.customer_id] ?? 'there').split(' ')[0];
      return { channel: 'email', subject: `Re: ${t.subject}`, parts: [`Hi ${first},\n\n${text}\n\nBest regards,\n${op.username}\nTandem Support`] };
    }
    if (t.channel === 'whatsapp') {
      return { channel: 'whatsapp', subject: null, parts: text.split(/\n[ \t]*\n+/).map((p) => p.trim()).filter(Boolean) };
    }
    return { channel: t.channel, subject: null, parts: [text] };
  }

  /** A reply (the operator's, or an approved draft of the agent) appended to the conversation, queued. */
  function sendReply(t, op, body, author) {
    const sent = formatted(t, body, op);
    const m = {
      id: `${hex(4)}-out-${hex(8)}`,
      ticket_id: t.id,
      direction: 'outbound',
      channel: t.channel,
      author,
      author_name: author === 'person' ? op.username : null,
      body: sent.parts.join('\n\n'),
      created_at: iso(now()),
      delivery_status: 'queued',
      has_original: false,
    };
    messages.push(m);
    t.updated_at = m.created_at;
    t.sla.first_response_at ??= m.created_at;
    return m;
  }

  function verdict(ticketId, messageId, outcome, op) {
    const d = decisions.find((x) => x.ticket_id === ticketId && x.message_id === messageId && x.kind === 'draft');
    if (d) d.verdict = { outcome, by: op.username, at: iso(now()) };
  }

  const RESOLVED = [409, { error: 'The ticket is resolved: it takes no more replies or changes.' }];
  const noTicket = [404, { error: 'No such ticket.' }];

  /** The writes: [status, body] for the route, with the operator `op` and the JSON `body`. */
  function write(path, op, body) {
    const actor = `operator:${op.username}`;
    let m = /^\/operator\/tickets\/([^/]+)\/(preview|replies|hand-back|resolve)$/.exec(path);
    if (m) {
      const t = tickets.get(decodeURIComponent(m[1]));
      if (!t) return noTicket;
      const action = m[2];
      if (action === 'preview' || action === 'replies') {
        if (!isText(body.body)) return [400, { error: 'Write the reply first: body is empty.' }];
        if ([...body.body].length > 5000) return [400, { error: 'The reply is too long: at most 5000 characters.' }];
        if (action === 'preview') return [200, formatted(t, body.body, op)];
        if (t.status === 'resolved') return RESOLVED;
        const sent = sendReply(t, op, body.body, 'person');
        t.handled_by = 'person';
        t.assignee ??= op.username;
        record(t.id, actor, 'replied', `By ${t.channel}`);
        return [202, { message_id: sent.id, status: 'queued' }];
      }
      if (t.status === 'resolved') return RESOLVED;
      if (action === 'hand-back') {
        t.handled_by = 'agent';
        t.updated_at = iso(now());
        record(t.id, actor, 'handed_back', textOrNull(body.note) ?? 'Handed back to the agent');
        return [200, summary(t)];
      }
      if (typeof body.notes !== 'string') return [400, { error: 'notes must be text.' }];
      t.status = 'resolved';
      t.sla.state = 'met';
      t.escalation_reason = null;
      t.updated_at = iso(now());
      const notes = textOrNull(body.notes);
      record(t.id, actor, 'resolved', notes ?? 'Resolved without notes');
      let proposal = null;
      if (notes) {
        const first = messages.find((x) => x.ticket_id === t.id && x.author === 'customer');
        proposal = {
          id: `prop_${hex(6)}`,
          question: textOrNull(body.question) ?? first?.body ?? t.subject,
          answer: textOrNull(body.answer) ?? notes,
          source_ticket: t.id,
          status: 'pending',
          created_at: iso(now()),
        };
        proposals.push(proposal);
      }
      return [200, { ticket: summary(t), proposal }];
    }
    m = /^\/operator\/drafts\/([^/]+)\/([^/]+)\/(approve|reject)$/.exec(path);
    if (m) {
      const [ticketId, messageId] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
      const i = drafts.findIndex((d) => d.ticket_id === ticketId && d.message_id === messageId);
      if (i < 0) return [404, { error: 'No such draft: it may have been reviewed already.' }];
      const [draft] = drafts.splice(i, 1);
      const t = tickets.get(ticketId);
      if (m[3] === 'reject') {
        verdict(ticketId, messageId, 'rejected', op);
        t.handled_by = 'person';
        record(t.id, actor, 'draft_rejected', textOrNull(body.note) ?? 'Nothing was sent');
        return [200, {}];
      }
      const edited = isText(body.body) && body.body.trim() !== draft.body.trim();
      verdict(ticketId, messageId, edited ? 'edited' : 'approved', op);
      sendReply(t, op, edited ? body.body : draft.body, 'agent');
      if (t.status === 'open') t.status = 'answered';
      record(t.id, actor, edited ? 'draft_edited' : 'draft_approved', 'Sent');
      return [200, { status: 'queued' }];
    }
    m = /^\/operator\/proposals\/([^/]+)\/(approve|reject)$/.exec(path);
    if (m) {
      const p = proposals.find((x) => x.id === decodeURIComponent(m[1]));
      if (!p) return [404, { error: 'No such proposal.' }];
      if (p.status !== 'pending') return [409, { error: `The proposal is ${p.status} already.` }];
      if (m[2] === 'approve') {
        p.question = textOrNull(body.question) ?? p.question;
        p.answer = textOrNull(body.answer) ?? p.answer;
        p.status = 'approved';
      } else {
        p.status = 'rejected';
      }
      return [200, p];
    }
    return [404, { error: 'Not found' }];
  }

  function agreement() {
    const kinds = [...new Set(decisions.map((d) => d.kind))].sort();
    return {
      by_kind: kinds.map((kind) => {
        const of = decisions.filter((d) => d.kind === kind);
        const reviewed = of.filter((d) => d.verdict).length;
        const agreed = of.filter((d) => d.verdict?.outcome === 'approved').length;
        return { kind, decided: of.length, reviewed, agreed, rate: reviewed ? Math.round((agreed / reviewed) * 1000) / 1000 : null };
      }),
    };
  }

  /** The reads: [status, body]. */
  function read(path, url, op) {
    if (path === '/operator/me') {
      presence.set(op.username, now() + 5 * 60_000);
      return [200, { sub: op.sub, username: op.username, email: op.email }];
    }
    if (path === '/operator/tickets') return queue(url.searchParams);
    if (path === '/operator/reviews') return [200, { drafts, proposals: proposals.filter((x) => x.status === 'pending') }];
    if (path === '/operator/agreement') return [200, agreement()];
    const m = /^\/operator\/tickets\/([^/]+)$/.exec(path);
    const t = m ? tickets.get(decodeURIComponent(m[1])) : undefined;
    if (t) return [200, detail(t)];
    return m ? noTicket : [404, { error: 'Not found' }];
  }

  /** Answers the request when it is the console's (true), else leaves it (false). */
  async function handle(req, res, url) {
    const p = url.pathname;
    if (p === '/console/config.json' && req.method === 'GET') {
      send(res, 200, { apiBase: '', cognitoEndpoint: `http://${req.headers.host}${COGNITO_PATH}`, region: REGION, clientId: CLIENT_ID });
      return true;
    }
    if (p === COGNITO_PATH && req.method === 'POST') {
      await initiateAuth(req, res);
      return true;
    }
    if (!p.startsWith('/operator/')) return false;
    const op = operatorFor(req);
    if (!op) {
      send(res, 401, { message: 'Unauthorized' });
      return true;
    }
    if (req.method === 'GET') {
      const [status, body] = read(p, url, op);
      send(res, status, body);
      return true;
    }
    if (req.method !== 'POST') {
      send(res, 405, { error: 'Method not allowed' });
      return true;
    }
    const key = req.headers['idempotency-key'];
    const isPreview = p.endsWith('/preview');
    if (!isPreview && (key === undefined || !KEY_RE.test(key))) {
      send(res, 400, { error: 'Every write needs an Idempotency-Key header of 8 to 128 letters, digits, - or _.' });
      return true;
    }
    const replayKey = `${p}#${key}`;
    if (!isPreview && answers.has(replayKey)) {
      const [status, body] = answers.get(replayKey);
      send(res, status, body);
      return true;
    }
    const { text, tooLarge } = await readBody(req, MAX_BODY_BYTES);
    if (tooLarge) {
      send(res, 413, { error: 'That request is too large.' });
      return true;
    }
    let body;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      send(res, 400, { error: 'The request body is not valid JSON.' });
      return true;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      send(res, 400, { error: 'The request body must be a JSON object.' });
      return true;
    }
    const answer = write(p, op, body);
    if (!isPreview) answers.set(replayKey, answer);
    send(res, answer[0], answer[1]);
    return true;
  }

  return {
    handle,
    tickets,
    proposals,
    /** username → online until (ms): set by GET /operator/me. */
    presence,
    /** Every token given so far stops working (as when it expired): the next call is a 401. */
    revokeTokens: () => tokens.clear(),
    /** A ticket's id by its subject. */
    idOf: (subject) => [...tickets.values()].find((t) => t.subject === subject)?.id,
  };
}
