import { describe, expect, it, vi } from 'vitest';
import { memoryStorage } from './testing';
import {
  ATTEMPT_KEY,
  fingerprint,
  FOLLOW_UP_ATTEMPT_KEY,
  IDEMPOTENCY_KEY_RE,
  isValidIdempotencyKey,
  loadAttempt,
  newIdempotencyKey,
  nextAttempt,
  saveAttempt,
  type Attempt,
} from './idempotency';
import { rules } from './rules';
import type { SubmitPayload } from './validation';

const payload: SubmitPayload = {
  name: 'Ada',
  email: 'ada@example.com',
  subject: 'Hello there',
  category: rules.categories[0],
  priority: rules.default_priority,
  message: 'A long enough message',
};

/** Keys k1, k2, ... in order, so tests can tell which submit minted which. */
function counterMint() {
  let n = 0;
  return vi.fn(() => `key-${String(++n).padStart(4, '0')}`);
}

describe('idempotency keys', () => {
  it('the server pattern: 8–128 of A–Z a–z 0–9 _ -', () => {
    expect(IDEMPOTENCY_KEY_RE.source).toBe('^[A-Za-z0-9_-]{8,128}$');
    for (const k of ['abcdefgh', 'A'.repeat(128), '0123-4567_89', '123e4567-e89b-12d3-a456-426614174000']) {
      expect(isValidIdempotencyKey(k)).toBe(true);
    }
    for (const k of ['', 'abcdefg', 'A'.repeat(129), 'abc def gh', 'abcdefgh\n', 'abcdefgh=', 'äbcdefgh']) {
      expect(isValidIdempotencyKey(k)).toBe(false);
    }
  });

  it('new keys come from crypto.randomUUID, fresh every time, and match the pattern', () => {
    const keys = new Set(Array.from({ length: 50 }, () => newIdempotencyKey()));
    expect(keys.size).toBe(50);
    for (const k of keys) expect(k).toMatch(IDEMPOTENCY_KEY_RE);
    const randomUUID = vi.fn(() => '00000000-0000-4000-8000-000000000000');
    expect(newIdempotencyKey({ randomUUID, getRandomValues: crypto.getRandomValues.bind(crypto) })).toBe(
      '00000000-0000-4000-8000-000000000000',
    );
    expect(randomUUID).toHaveBeenCalledOnce();
  });

  it('without randomUUID (not a secure context) a v4 UUID is built from getRandomValues', () => {
    const noUuid = { getRandomValues: crypto.getRandomValues.bind(crypto) };
    const keys = new Set(Array.from({ length: 50 }, () => newIdempotencyKey(noUuid)));
    expect(keys.size).toBe(50);
    for (const k of keys) {
      expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(k).toMatch(IDEMPOTENCY_KEY_RE);
    }
  });
});

describe('nextAttempt: one key per submission attempt', () => {
  it('the first submit gets a new key', () => {
    const mint = counterMint();
    const a = nextAttempt(null, { type: 'submit', payload }, mint);
    expect(a).toEqual({ key: 'key-0001', fingerprint: fingerprint(payload) });
  });

  it('a retry of the same form after a failure (network, 5xx, 4xx) reuses the key', () => {
    const mint = counterMint();
    let a: Attempt | null = nextAttempt(null, { type: 'submit', payload }, mint);
    a = nextAttempt(a, { type: 'result', ok: false }, mint);
    const retry = nextAttempt(a, { type: 'submit', payload: { ...payload } }, mint);
    expect(retry.key).toBe('key-0001');
    expect(mint).toHaveBeenCalledOnce();
  });

  it('a second submit while the first is under way (double click) reuses the key', () => {
    const mint = counterMint();
    const a = nextAttempt(null, { type: 'submit', payload }, mint);
    expect(nextAttempt(a, { type: 'submit', payload }, mint).key).toBe(a.key);
  });

  it('an edit after a failure ends the attempt: the next submit gets a new key', () => {
    const mint = counterMint();
    let a: Attempt | null = nextAttempt(null, { type: 'submit', payload }, mint);
    a = nextAttempt(a, { type: 'result', ok: false }, mint);
    a = nextAttempt(a, { type: 'edit' }, mint);
    expect(a).toBeNull();
    // ...even when the edit was undone and the form is the same again.
    expect(nextAttempt(a, { type: 'submit', payload }, mint).key).toBe('key-0002');
  });

  it('a success ends the attempt: the next submit gets a new key, even with the same content', () => {
    const mint = counterMint();
    let a: Attempt | null = nextAttempt(null, { type: 'submit', payload }, mint);
    a = nextAttempt(a, { type: 'result', ok: true }, mint);
    expect(a).toBeNull();
    expect(nextAttempt(a, { type: 'submit', payload }, mint).key).toBe('key-0002');
  });

  it('a different payload is a different attempt (e.g. a draft changed in another tab)', () => {
    const mint = counterMint();
    const a = nextAttempt(null, { type: 'submit', payload }, mint);
    for (const field of Object.keys(payload) as (keyof SubmitPayload)[]) {
      const b = nextAttempt(a, { type: 'submit', payload: { ...payload, [field]: `${payload[field]}x` } }, mint);
      expect(b.key, field).not.toBe(a.key);
    }
  });

  it('a follow-up is an attempt too: the same text on the same ticket reuses the key, on another ticket it does not', () => {
    const mint = counterMint();
    const followUp = { ticket_id: `tkt_${'a'.repeat(32)}`, message: 'One more question' };
    const a = nextAttempt(null, { type: 'submit', payload: followUp }, mint);
    expect(nextAttempt(a, { type: 'submit', payload: { message: followUp.message, ticket_id: followUp.ticket_id } }, mint).key).toBe(a.key);
    expect(nextAttempt(a, { type: 'submit', payload: { ...followUp, ticket_id: `tkt_${'b'.repeat(32)}` } }, mint).key).not.toBe(a.key);
  });

  it('a stored key the server would refuse is replaced', () => {
    const mint = counterMint();
    const stale = { key: 'bad key', fingerprint: fingerprint(payload) };
    expect(nextAttempt(stale, { type: 'submit', payload }, mint).key).toBe('key-0001');
  });

  it('uses fresh random keys by default', () => {
    const a = nextAttempt(null, { type: 'submit', payload });
    const b = nextAttempt(null, { type: 'submit', payload });
    expect(a.key).toMatch(IDEMPOTENCY_KEY_RE);
    expect(b.key).not.toBe(a.key);
  });
});

describe('the attempt is kept next to the draft (a retry after a reload keeps its key)', () => {
  it('saves, loads and clears', () => {
    const s = memoryStorage();
    const a = nextAttempt(null, { type: 'submit', payload });
    saveAttempt(a, s);
    expect(loadAttempt(s)).toEqual(a);
    expect(nextAttempt(loadAttempt(s), { type: 'submit', payload }).key).toBe(a.key);
    saveAttempt(null, s);
    expect(s.data.has(ATTEMPT_KEY)).toBe(false);
    expect(loadAttempt(s)).toBeNull();
  });
  it("a follow-up's attempt is kept apart from the form's", () => {
    const s = memoryStorage();
    const form = nextAttempt(null, { type: 'submit', payload });
    const followUp = nextAttempt(null, { type: 'submit', payload: { ticket_id: `tkt_${'a'.repeat(32)}`, message: 'More' } });
    saveAttempt(form, s);
    saveAttempt(followUp, s, FOLLOW_UP_ATTEMPT_KEY);
    expect(loadAttempt(s)).toEqual(form);
    expect(loadAttempt(s, FOLLOW_UP_ATTEMPT_KEY)).toEqual(followUp);
    saveAttempt(null, s, FOLLOW_UP_ATTEMPT_KEY);
    expect(loadAttempt(s)).toEqual(form);
  });
  it('ignores corrupt or foreign data, and works without storage', () => {
    const s = memoryStorage();
    for (const raw of ['{not json', 'null', '"x"', '{"key":"short","fingerprint":"[]"}', '{"key":"abcdefgh12"}']) {
      s.setItem(ATTEMPT_KEY, raw);
      expect(loadAttempt(s)).toBeNull();
    }
    expect(loadAttempt(null)).toBeNull();
    expect(() => saveAttempt({ key: 'abcdefgh12', fingerprint: '' }, null)).not.toThrow();
  });
});
