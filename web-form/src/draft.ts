import { emptyValues, FIELDS, type FormValues } from './validation';

export const DRAFT_KEY = 'tandem-support:draft';

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

/** Reads a saved draft; unknown keys and non-string values are ignored. */
export function loadDraft(storage: DraftStorage | null = defaultStorage()): FormValues {
  const values = emptyValues();
  if (!storage) return values;
  try {
    const raw = storage.getItem(DRAFT_KEY);
    if (!raw) return values;
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return values;
    for (const f of FIELDS) {
      const v = (parsed as Record<string, unknown>)[f];
      if (typeof v === 'string') values[f] = v;
    }
  } catch {
    /* corrupt draft: start fresh */
  }
  return values;
}

export function saveDraft(values: FormValues, storage: DraftStorage | null = defaultStorage()): void {
  if (!storage) return;
  try {
    storage.setItem(DRAFT_KEY, JSON.stringify(values));
  } catch {
    /* quota or blocked: the draft is a convenience only */
  }
}

export function clearDraft(storage: DraftStorage | null = defaultStorage()): void {
  if (!storage) return;
  try {
    storage.removeItem(DRAFT_KEY);
  } catch {
    /* ignore */
  }
}
