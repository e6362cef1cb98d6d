import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../testing';
import { readConsoleConfig } from './config';
import { loadSession, saveSession, SESSION_KEY } from './session';

const session = { idToken: 'id', accessToken: 'acc', expiresAt: 2_000 };

describe('the session in sessionStorage', () => {
  it('is kept until it expires, and removed then', () => {
    const s = memoryStorage();
    saveSession(session, s);
    expect(loadSession(s, 1_999)).toEqual(session);
    expect(loadSession(s, 2_000)).toBeNull();
    expect(s.data.has(SESSION_KEY)).toBe(false);
  });
  it('signing out removes it; a corrupt one is no session', () => {
    const s = memoryStorage();
    saveSession(session, s);
    saveSession(null, s);
    expect(loadSession(s, 0)).toBeNull();
    s.data.set(SESSION_KEY, '{"idToken":1}');
    expect(loadSession(s, 0)).toBeNull();
    expect(loadSession(null, 0)).toBeNull();
  });
});

describe('config.json', () => {
  it('reads the four fields', () => {
    expect(
      readConsoleConfig({ apiBase: 'https://api.example.com/', cognitoEndpoint: ' https://idp/ ', region: 'eu-west-1', clientId: 'c' }),
    ).toEqual({ apiBase: 'https://api.example.com', cognitoEndpoint: 'https://idp/', region: 'eu-west-1', clientId: 'c' });
    expect(readConsoleConfig({ apiBase: '', cognitoEndpoint: 'https://idp/', region: '', clientId: 'c' })?.apiBase).toBe('');
  });
  it('refuses a config without an endpoint or client', () => {
    expect(readConsoleConfig({ apiBase: '', cognitoEndpoint: '', region: 'r', clientId: 'c' })).toBeNull();
    expect(readConsoleConfig({ apiBase: '', cognitoEndpoint: 'x', region: 'r' })).toBeNull();
    expect(readConsoleConfig('nope')).toBeNull();
  });
});
