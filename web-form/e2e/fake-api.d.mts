// Types for the parts of fake-api.mjs the unit tests use.
import type http from 'node:http';

export interface FieldError {
  field: string;
  /** Only on a follow-up's errors: why, as a stable code (`required`, `too_short`, ...). */
  code?: string;
  message: string;
}

/** The fake server's validation: the same rules and messages as the real server. */
export function validatePayload(body: unknown): FieldError[];

/** A follow-up's `{"message"}`, held to the form's message rule. */
export function validateFollowUp(body: unknown): FieldError[];

export interface FollowUpAccepted {
  ticket_id: string;
  message_id: string;
  message: string;
}

/** The operator console's API and sign-in (fake-operator-api.mjs). */
export interface FakeOperatorApi {
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean>;
  tickets: Map<string, Record<string, unknown>>;
  proposals: Record<string, unknown>[];
  /** username → online until (ms): set by GET /operator/me. */
  presence: Map<string, number>;
  /** Every token given so far stops working: the next call is a 401. */
  revokeTokens(): void;
  idOf(subject: string): string | undefined;
}

export interface FakeApi {
  server: http.Server;
  tickets: Map<string, unknown>;
  submissions: Map<string, { ticket_id: string; message: string; estimated_response_time: string }>;
  /** `<ticket_id>#<Idempotency-Key>` → what the follow-up's first request answered. */
  followUps: Map<string, FollowUpAccepted>;
  log: string[];
  operator: FakeOperatorApi;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export function createFakeApi(options?: { distDir?: string; replyAfterMs?: number }): FakeApi;
