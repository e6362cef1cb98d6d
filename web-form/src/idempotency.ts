// The Idempotency-Key of POST /support/submit. One key per submission attempt: pressing
// submit again on the same, unchanged form (after a network error, a 5xx, a double click,
// even a reload) reuses the key, so the server answers with the ticket it already made
// (200) instead of making a second one (201). Editing the form, or a success, ends the
// attempt: the next submit gets a fresh key.

import { defaultStorage, type DraftStorage } from './draft';
import { FIELDS, type SubmitPayload } from './validation';

/** The keys the server accepts. */
export const IDEMPOTENCY_KEY_RE = /^[A-Za-z0-9_-]{8,128}$/;

export const ATTEMPT_KEY = 'tandem-support:attempt';

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

/** A submission attempt: its key and what it sent. */
export interface Attempt {
  key: string;
  fingerprint: string;
}

/** What was sent, for telling a retry of the same attempt from a new one. */
export function fingerprint(payload: SubmitPayload): string {
  return JSON.stringify(FIELDS.map((field) => payload[field]));
}

export type AttemptEvent =
  /** The user submits a valid form with this payload. */
  | { type: 'submit'; payload: SubmitPayload }
  /** The user changed a field. */
  | { type: 'edit' }
  /** The server answered: `ok` for a ticket (201 or 200), false for anything else. */
  | { type: 'result'; ok: boolean };

/**
 * The attempt after `event`. On `submit` the result is never null and its key goes in the
 * Idempotency-Key header: the current key when the payload is the one already tried,
 * else a new one from `mint`.
 */
export function nextAttempt(current: Attempt | null, event: { type: 'submit'; payload: SubmitPayload }, mint?: () => string): Attempt;
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
export function loadAttempt(storage: DraftStorage | null = defaultStorage()): Attempt | null {
  if (!storage) return null;
  try {
    const raw = storage.getItem(ATTEMPT_KEY);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { key, fingerprint: fp } = parsed as Record<string, unknown>;
    if (typeof key !== 'string' || !isValidIdempotencyKey(key) || typeof fp !== 'string') return null;
    return { key, fingerprint: fp };
  } catch {
    return null;
  }
}

export function saveAttempt(attempt: Attempt | null, storage: DraftStorage | null = defaultStorage()): void {
  if (!storage) return;
  try {
    if (attempt) storage.setItem(ATTEMPT_KEY, JSON.stringify(attempt));
    else storage.removeItem(ATTEMPT_KEY);
  } catch {
    /* storage is a convenience only */
  }
}
