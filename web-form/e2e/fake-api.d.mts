// Types for the parts of fake-api.mjs the unit tests use.
import type http from 'node:http';

export interface FieldError {
  field: string;
  message: string;
}

/** The fake server's validation: the same rules and messages as the real server. */
export function validatePayload(body: unknown): FieldError[];

export interface FakeApi {
  server: http.Server;
  tickets: Map<string, unknown>;
  submissions: Map<string, { ticket_id: string; message: string; estimated_response_time: string }>;
  log: string[];
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export function createFakeApi(options?: { distDir?: string; replyAfterMs?: number }): FakeApi;
