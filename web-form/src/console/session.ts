import { defaultStorage, readStored, writeStored, type DraftStorage } from '../draft';
import type { Session } from './cognito';

/** The signed-in operator's tokens: in sessionStorage, so they go with the tab. */
export const SESSION_KEY = 'tandem-console:session';

/** The stored session; null when there is none, it is corrupt or it has expired. */
export function loadSession(storage: DraftStorage | null = defaultStorage(), now: number = Date.now()): Session | null {
  const s = readStored(SESSION_KEY, storage);
  if (!s || typeof s.idToken !== 'string' || typeof s.accessToken !== 'string' || typeof s.expiresAt !== 'number') {
    return null;
  }
  if (s.expiresAt <= now) {
    writeStored(SESSION_KEY, null, storage);
    return null;
  }
  return { idToken: s.idToken, accessToken: s.accessToken, expiresAt: s.expiresAt };
}

/** Keeps `session`; null signs out. */
export function saveSession(session: Session | null, storage: DraftStorage | null = defaultStorage()): void {
  writeStored(SESSION_KEY, session, storage);
}
