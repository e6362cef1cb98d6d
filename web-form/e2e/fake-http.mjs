// What the fake API and the fake operator API (fake-operator-api.mjs) both need of HTTP.

/** Answers `body` as JSON (no body for undefined), never cached. */
export function send(res, status, body, extraHeaders = {}) {
  const data = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extraHeaders });
  res.end(data);
}

/** The request's body as text, or `{ tooLarge: true }` past `limit` bytes. */
export async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) return { tooLarge: true };
    chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks).toString('utf8') };
}
