import type {IncomingMessage, ServerResponse} from 'node:http';

/** Response headers of an SSE stream, as the MCP SDK sends them (`X-Accel-Buffering` keeps nginx from buffering). */
export const sseHeaders = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

/**
 * Answers with a JSON-RPC error body (`id` null, `data` only when given) and `Content-Type: application/json`;
 * nothing when the response has already started.
 */
export function sendJsonError(res: ServerResponse, status: number, code: number, message: string, data?: unknown) {
  if (res.headersSent) return;
  const body = JSON.stringify({jsonrpc: '2.0', error: {code, message, ...(data !== undefined && {data})}, id: null});
  res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)}).end(body);
}

/**
 * Reads a request body as UTF-8 text, up to `maxBytes` bytes: a declared `Content-Length` over it is refused without
 * reading, otherwise the read stops once more has arrived.
 * @returns the text, or undefined when the body is larger than `maxBytes`
 * @throws the stream's error when the request fails while being read
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  if (Number(req.headers['content-length']) > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
