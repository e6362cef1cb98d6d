// Signing in is Cognito's own InitiateAuth (USER_PASSWORD_AUTH), called from the browser:
// the app client has no secret, so no SDK and no signing are needed.
import { isRecord, request, type RequestOptions } from '../api';
import type { ConsoleConfig } from './config';

export interface Session {
  /** Sent as `Authorization: Bearer` on every API call. */
  idToken: string;
  accessToken: string;
  /** When the tokens expire (ms since the epoch). */
  expiresAt: number;
}

export type SignInResult =
  | { kind: 'signed_in'; session: Session }
  /** Cognito wants another step (e.g. NEW_PASSWORD_REQUIRED) the console does not do. */
  | { kind: 'challenge'; challenge: string; message: string }
  | { kind: 'refused'; message: string }
  | { kind: 'unreachable' };

export const INITIATE_AUTH_TARGET = 'AWSCognitoIdentityProviderService.InitiateAuth';

/**
 * What to say for a refusal, by `__type`. NotAuthorizedException is not here: Cognito's own
 * message tells a wrong password from a disabled user or too many attempts.
 */
const REFUSALS: Record<string, string> = {
  UserNotFoundException: 'Incorrect email or password.',
  PasswordResetRequiredException: 'Your password must be reset. Ask an admin to set a new one.',
  UserNotConfirmedException: 'Your account is not confirmed yet. Ask an admin to confirm it.',
  TooManyRequestsException: 'Too many sign-in attempts. Please wait a moment and try again.',
};

export function challengeMessage(challenge: string): string {
  return challenge === 'NEW_PASSWORD_REQUIRED'
    ? 'Your account still has a temporary password. An admin must set a permanent password for you before you can sign in here.'
    : `Cognito asks for a sign-in step this console does not support (${challenge}). Ask an admin to finish setting up your account.`;
}

/** `NotAuthorizedException` from `__type`, which may carry a namespace before a `#`. */
function errorType(body: unknown): string {
  const t = isRecord(body) && typeof body.__type === 'string' ? body.__type : '';
  return t.slice(t.lastIndexOf('#') + 1);
}

export async function signIn(
  config: ConsoleConfig,
  email: string,
  password: string,
  opts: RequestOptions = {},
  now: () => number = Date.now,
): Promise<SignInResult> {
  const r = await request(
    config.cognitoEndpoint,
    {
      method: 'POST',
      headers: { 'X-Amz-Target': INITIATE_AUTH_TARGET, 'Content-Type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: config.clientId,
        AuthParameters: { USERNAME: email, PASSWORD: password },
      }),
    },
    opts,
  );
  if ('failed' in r) return { kind: 'unreachable' };
  const { res, body } = r;
  if (res.status === 200 && isRecord(body)) {
    if (typeof body.ChallengeName === 'string') {
      return { kind: 'challenge', challenge: body.ChallengeName, message: challengeMessage(body.ChallengeName) };
    }
    const auth = body.AuthenticationResult;
    if (isRecord(auth) && typeof auth.IdToken === 'string' && typeof auth.AccessToken === 'string') {
      const seconds = typeof auth.ExpiresIn === 'number' ? auth.ExpiresIn : 3600;
      return {
        kind: 'signed_in',
        session: { idToken: auth.IdToken, accessToken: auth.AccessToken, expiresAt: now() + seconds * 1000 },
      };
    }
  }
  if (res.status >= 400 && res.status < 500) {
    const known = REFUSALS[errorType(body)];
    const message = isRecord(body) && typeof body.message === 'string' && body.message.trim() ? body.message.trim() : '';
    return { kind: 'refused', message: known ?? (message || `Sign-in was refused (HTTP ${res.status}).`) };
  }
  return { kind: 'unreachable' };
}
