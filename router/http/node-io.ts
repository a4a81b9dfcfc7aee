import type {IncomingMessage, ServerResponse} from 'node:http';
import {jsonBytes, type MessageJson} from '../catalog/serialized.js';

/** Response headers of an SSE stream, as the MCP SDK sends them (`X-Accel-Buffering` keeps nginx from buffering). */
export const sseHeaders = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

/** A request header as one string (undefined when absent). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Answers `status` with `value` as JSON (`Content-Type: application/json; charset=utf-8`, as express's `res.json`). */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body)});
  res.end(body);
}

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
 * Answers 200 with one JSON-RPC message as the whole body (`Content-Type: application/json`, its `Content-Length`):
 * its pieces are written one after another, uncopied, and the response ends with the last.
 */
export function sendJsonMessage(res: ServerResponse, json: MessageJson, headers: Record<string, string> = {}): void {
  res.writeHead(200, {...headers, 'content-type': 'application/json', 'content-length': jsonBytes(json)});
  if (typeof json === 'string') return void res.end(json);
  json.forEach((piece, index) => (index === json.length - 1 ? res.end(piece) : res.write(piece)));
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

/** JSON longer than this (in UTF-16 code units) is written apart from its SSE framing instead of joined to it. */
const JOIN_BELOW = 64 * 1024;

/**
 * Writes one SSE event whose data is `json` (one line: JSON as the router writes it, or bytes `scanResponse` found
 * without CR or LF) after `head` (the fields before `data`), and ends the response with it when `end` is true. A small
 * one goes out as one string; a large one, or one in pieces, piece by piece, so that the JSON is not copied into a
 * joined string of the same size again (V8 flattens a joined string before it can be written). The response is not
 * corked around them: on Node.js 22, `end` inside `cork` and `uncork` left a Streamable HTTP stream unfinished.
 */
export function writeSseData(res: ServerResponse, head: string, json: MessageJson, end = false): void {
  const finish = (chunk: string) => (end ? res.end(chunk) : res.write(chunk));
  if (typeof json === 'string' && json.length < JOIN_BELOW) {
    finish(`${head}data: ${json}\n\n`);
    return;
  }
  res.write(`${head}data: `);
  for (const piece of typeof json === 'string' ? [json] : json) res.write(piece);
  finish('\n\n');
}
