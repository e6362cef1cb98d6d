import { emptyValues, FIELDS, type FormValues } from './validation';

export const DRAFT_KEY = 'tandem-support:draft';
export const FOLLOW_UP_DRAFT_KEY = 'tandem-support:follow-up-draft';

export interface DraftStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function defaultStorage(): DraftStorage | null {
  try {
    return typeof window !== 'undefined' ? window.sessionStorage : null;
  } catch {
    return null; // storage blocked (e.g. third-party iframe policies)
  }
}

/** The object stored as JSON under `key`; null when there is none, it is corrupt, or storage is blocked. */
export function readStored(key: string, storage: DraftStorage | null = defaultStorage()): Record<string, unknown> | null {
  if (!storage) return null;
  try {
    const raw = storage.getItem(key);
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Stores `value` as JSON under `key` (null removes it). */
export function writeStored(key: string, value: object | null, storage: DraftStorage | null = defaultStorage()): void {
  if (!storage) return;
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify(value));
  } catch {
    /* quota or blocked: a draft is a convenience only */
  }
}

/** Reads a saved draft; unknown keys and non-string values are ignored. */
export function loadDraft(storage: DraftStorage | null = defaultStorage()): FormValues {
  const values = emptyValues();
  const saved = readStored(DRAFT_KEY, storage);
  for (const f of FIELDS) {
    const v = saved?.[f];
    if (typeof v === 'string') values[f] = v;
  }
  return values;
}

export function saveDraft(values: FormValues, storage: DraftStorage | null = defaultStorage()): void {
  writeStored(DRAFT_KEY, values, storage);
}

export function clearDraft(storage: DraftStorage | null = defaultStorage()): void {
  writeStored(DRAFT_KEY, null, storage);
}

/** The unsent follow-up on `ticketId`, '' for none. One is kept at a time: the last ticket written on. */
export function loadFollowUpDraft(ticketId: string, storage: DraftStorage | null = defaultStorage()): string {
  const saved = readStored(FOLLOW_UP_DRAFT_KEY, storage);
  return saved?.ticket_id === ticketId && typeof saved.message === 'string' ? saved.message : '';
}

/** Keeps the follow-up being written on `ticketId`; '' drops it. */
export function saveFollowUpDraft(
  ticketId: string,
  message: string,
  storage: DraftStorage | null = defaultStorage(),
): void {
  writeStored(FOLLOW_UP_DRAFT_KEY, message ? { ticket_id: ticketId, message } : null, storage);
}
