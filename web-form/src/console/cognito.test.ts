import { describe, expect, it, vi } from 'vitest';
import { jsonResponse } from '../testing';
import { INITIATE_AUTH_TARGET, signIn } from './cognito';
import type { ConsoleConfig } from './config';

const config: ConsoleConfig = {
  apiBase: '',
  cognitoEndpoint: 'https://cognito-idp.eu-west-1.amazonaws.com/',
  region: 'eu-west-1',
  clientId: 'client-123',
};
const NOW = 1_800_000_000_000;

async function attempt(status: number, body: unknown) {
  const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) => jsonResponse(status, body));
  const result = await signIn(config, 'alice@tandem.example', 'pw', { fetchImpl }, () => NOW);
  return { result, fetchImpl };
}

describe("sign-in through Cognito's InitiateAuth", () => {
  it('posts USER_PASSWORD_AUTH as Cognito wants it and keeps the tokens', async () => {
    const { result, fetchImpl } = await attempt(200, {
      AuthenticationResult: { IdToken: 'id.tok', AccessToken: 'acc.tok', ExpiresIn: 3600, TokenType: 'Bearer' },
    });
    const [url, init] = fetchImpl.mock.calls[0];
    expect(url).toBe(config.cognitoEndpoint);
    expect(init?.method).toBe('POST');
    expect(init?.headers).toEqual({ 'X-Amz-Target': INITIATE_AUTH_TARGET, 'Content-Type': 'application/x-amz-json-1.1' });
    expect(JSON.parse(init?.body as string)).toEqual({
      AuthFlow: 'USER_PASSWORD_AUTH',
      ClientId: 'client-123',
      AuthParameters: { USERNAME: 'alice@tandem.example', PASSWORD: 'pw' },
    });
    expect(result).toEqual({
      kind: 'signed_in',
      session: { idToken: 'id.tok', accessToken: 'acc.tok', expiresAt: NOW + 3_600_000 },
    });
  });

  it("says Cognito's own words for a wrong password", async () => {
    const { result } = await attempt(400, { __type: 'NotAuthorizedException', message: 'Incorrect username or password.' });
    expect(result).toEqual({ kind: 'refused', message: 'Incorrect username or password.' });
  });

  it('names known refusals, with or without a namespace in __type', async () => {
    const { result } = await attempt(400, { __type: 'com.amazonaws.cognito#PasswordResetRequiredException', message: 'x' });
    expect(result).toEqual({ kind: 'refused', message: 'Your password must be reset. Ask an admin to set a new one.' });
    expect((await attempt(400, {})).result).toEqual({ kind: 'refused', message: 'Sign-in was refused (HTTP 400).' });
  });

  it('a NEW_PASSWORD_REQUIRED challenge says an admin must set a permanent password', async () => {
    const { result } = await attempt(200, { ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: 's', ChallengeParameters: {} });
    expect(result).toMatchObject({ kind: 'challenge', challenge: 'NEW_PASSWORD_REQUIRED' });
    if (result.kind === 'challenge') expect(result.message).toMatch(/admin must set a permanent password/);
  });

  it('a 5xx, an unreadable answer or no network is unreachable', async () => {
    expect((await attempt(500, { __type: 'InternalErrorException' })).result).toEqual({ kind: 'unreachable' });
    expect((await attempt(200, { AuthenticationResult: {} })).result).toEqual({ kind: 'unreachable' });
    const down = await signIn(config, 'a', 'b', {
      fetchImpl: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    expect(down).toEqual({ kind: 'unreachable' });
  });
});
