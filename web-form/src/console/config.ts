import { isRecord, load, normalizeApiBase, type LoadResult, type RequestOptions } from '../api';

/** `/console/config.json`: where the operator API and the user pool's sign-in are. */
export interface ConsoleConfig {
  /** The API's origin (and optional path prefix); '' for the page's own origin. */
  apiBase: string;
  /** Cognito's endpoint that takes `InitiateAuth`, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/`. */
  cognitoEndpoint: string;
  region: string;
  /** The operator pool's app client. */
  clientId: string;
}

/** The config file's fields; null when one is missing or not text (apiBase may be empty). */
export function readConsoleConfig(body: unknown): ConsoleConfig | null {
  if (!isRecord(body)) return null;
  const { apiBase, cognitoEndpoint, region, clientId } = body;
  if (typeof apiBase !== 'string' || typeof cognitoEndpoint !== 'string' || typeof region !== 'string') return null;
  if (typeof clientId !== 'string' || !cognitoEndpoint.trim() || !clientId.trim()) return null;
  return { apiBase: normalizeApiBase(apiBase), cognitoEndpoint: cognitoEndpoint.trim(), region, clientId: clientId.trim() };
}

/** Reads `config.json` beside the page (`/console/config.json` when the page is `/console/`). */
export function loadConsoleConfig(baseUri: string, opts: RequestOptions = {}): Promise<LoadResult<ConsoleConfig>> {
  return load(new URL('config.json', baseUri).href, opts, readConsoleConfig);
}
