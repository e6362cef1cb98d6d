// The Idempotency-Key of POST /support/submit and of a follow-up (POST
// /support/ticket/{id}/messages). One key per attempt: sending again the same, unchanged
// request (after a network error, a 5xx, a double click, even a reload) reuses the key, so
// the server answers with what it already made (200) instead of making it twice (201).
// Editing what will be sent, or a success, ends the attempt: the next send gets a fresh key.

import { defaultStorage, readStored, writeStored, type DraftStorage } from './draft';

/** The keys the server accepts. */
export const IDEMPOTENCY_KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;

/** Where the form's unfinished attempt is kept. */
export const ATTEMPT_KEY = 'tandem-support:attempt';
/** Where the unfinished attempt of a follow-up is kept (its fingerprint names the ticket). */
export const FOLLOW_UP_ATTEMPT_KEY = 'tandem-support:follow-up-attempt';

export function isValidIdempotencyKey(key: string): boolean {
  return IDEMPOTENCY_KEY_RE.test(key);
}

type CryptoLike = Pick<Crypto, 'getRandomValues'> & { randomUUID?: () => string };

/**
 * A fresh random key: `crypto.randomUUID()`, or a version 4 UUID built from
 * `crypto.getRandomValues` where randomUUID is missing (it needs a secure context,
 * and the embed may sit on a plain-http host page).
 */
export function newIdempotencyKey(cryptoImpl: CryptoLike = globalThis.crypto): string {
  if (typeof cryptoImpl.randomUUID === 'function') return cryptoImpl.randomUUID();
  const b = cryptoImpl.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** An attempt: its key and what it sent. */
export interface Attempt {
  key: string;
  fingerprint: string;
}

/** What was sent, for telling a retry of the same attempt from a new one (whatever the key order). */
export function fingerprint(payload: object): string {
  return JSON.stringify(Object.entries(payload).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export type AttemptEvent =
  /** The user sends this valid payload. */
  | { type: 'submit'; payload: object }
  /** The user changed what will be sent. */
  | { type: 'edit' }
  /** The server answered: `ok` for 201 or 200, false for anything else. */
  | { type: 'result'; ok: boolean };

/**
 * The attempt after `event`. On `submit` the result is never null and its key goes in the
 * Idempotency-Key header: the current key when the payload is the one already tried,
 * else a new one from `mint`.
 */
export function nextAttempt(current: Attempt | null, event: { type: 'submit'; payload: object }, mint?: () => string): Attempt;
export function nextAttempt(current: Attempt | null, event: AttemptEvent, mint?: () => string): Attempt | null;
export function nextAttempt(
  current: Attempt | null,
  event: AttemptEvent,
  mint: () => string = () => newIdempotencyKey(),
): Attempt | null {
  switch (event.type) {
    case 'submit': {
      const fp = fingerprint(event.payload);
      if (current && current.fingerprint === fp && isValidIdempotencyKey(current.key)) return current;
      return { key: mint(), fingerprint: fp };
    }
    case 'edit':
      return null;
    case 'result':
      return event.ok ? null : current;
  }
}

/** The unfinished attempt saved next to the draft, so a retry after a reload keeps its key. */
export function loadAttempt(storage: DraftStorage | null = defaultStorage(), storageKey = ATTEMPT_KEY): Attempt | null {
  const saved = readStored(storageKey, storage);
  if (!saved) return null;
  const { key, fingerprint: fp } = saved;
  if (typeof key !== 'string' || !isValidIdempotencyKey(key) || typeof fp !== 'string') return null;
  return { key, fingerprint: fp };
}

export function saveAttempt(
  attempt: Attempt | null,
  storage: DraftStorage | null = defaultStorage(),
  storageKey = ATTEMPT_KEY,
): void {
  writeStored(storageKey, attempt, storage);
}
