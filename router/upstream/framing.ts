import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import type {Logger} from '../log.js';

/**
 * Newline framing of a stdio upstream's stdout (MCP 2025-11-25 basic/transports, stdio: one JSON-RPC message per
 * line, no embedded newlines), in linear time and bounded memory.
 *
 * The SDK's `ReadBuffer` concatenates the whole buffer on every chunk and searches it again from the start for `\n`,
 * which is quadratic in the size of a message. `LineFramer` keeps the chunks of the current line, searches only each
 * new chunk, and concatenates once per complete line. A line that grows past `maxBytes` stops being buffered: only
 * its first and last `EDGE_BYTES` are kept, enough to find its JSON-RPC `id` (see `oversizedDecision`).
 */

/** Bytes kept from each end of a line over the limit: the top-level `id` and `method` sit at one end or the other. */
export const EDGE_BYTES = 4096;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** One complete line read from the stream. */
export type FramedLine =
  /** A line within the limit, its bytes (UTF-8, not decoded), without its `\n` (nor a `\r` before it). */
  | {kind: 'line'; bytes: Buffer}
  /**
   * A line over the limit: its length in bytes (without `\n`) and its first and last bytes (at most `EDGE_BYTES`
   * each, decoded as UTF-8; a character cut at the edge shows as U+FFFD).
   */
  | {kind: 'oversized'; bytes: number; head: string; tail: string};

/** Splits a byte stream into lines. Stateful; no I/O. */
export class LineFramer {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** The line in progress once it is over the limit. */
  #edges: MessageEdges | undefined;

  /** `maxBytes`: the longest line, in bytes without its `\n`, that is buffered and returned whole. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes of the line in progress (not yet ended by `\n`). */
  get pendingBytes(): number {
    return this.#bytes;
  }

  /**
   * Adds one chunk of the stream.
   * @returns the lines the chunk completes, in order; empty lines are skipped
   */
  push(chunk: Buffer): FramedLine[] {
    const lines: FramedLine[] = [];
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) {
        if (start < chunk.length) this.#append(chunk.subarray(start));
        return lines;
      }
      if (end > start) this.#append(chunk.subarray(start, end));
      const line = this.#finish();
      if (line) lines.push(line);
      start = end + 1;
    }
  }

  /** Drops the line in progress. */
  clear(): void {
    this.#chunks = [];
    this.#bytes = 0;
    this.#edges = undefined;
  }

  #append(part: Buffer): void {
    this.#bytes += part.length;
    if (this.#edges) {
      this.#edges.add(part);
    } else if (this.#bytes > this.#maxBytes) {
      this.#edges = new MessageEdges();
      this.#edges.add(...this.#chunks, part);
      this.#chunks = [];
    } else {
      this.#chunks.push(part);
    }
  }

  #finish(): FramedLine | undefined {
    const bytes = this.#bytes;
    let line: FramedLine | undefined;
    if (this.#edges) {
      line = {kind: 'oversized', ...this.#edges.edges()};
    } else if (bytes > 0) {
      const chunks = this.#chunks;
      let whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes);
      if (whole[whole.length - 1] === CARRIAGE_RETURN) whole = whole.subarray(0, whole.length - 1);
      if (whole.length > 0) line = {kind: 'line', bytes: whole};
    }
    this.clear();
    return line;
  }
}

/**
 * A message too large to keep: its size in bytes, and its first and last `EDGE_BYTES` (enough to find its
 * JSON-RPC `id` and `method`, see `oversizedDecision`), copied so that no chunk of it stays alive.
 */
export class MessageEdges {
  #bytes = 0;
  #head: Buffer = Buffer.alloc(0);
  #tail: Buffer = Buffer.alloc(0);

  /** Adds the next parts of the message, in order. */
  add(...parts: Buffer[]): void {
    for (const part of parts) this.#bytes += part.length;
    if (this.#head.length < EDGE_BYTES) this.#head = firstBytes([this.#head, ...parts]);
    this.#tail = lastBytes([this.#tail, ...parts]);
  }

  /** The size in bytes and both ends decoded as UTF-8 (a character cut at an edge shows as U+FFFD). */
  edges(): {bytes: number; head: string; tail: string} {
    return {bytes: this.#bytes, head: this.#head.toString('utf8'), tail: this.#tail.toString('utf8')};
  }
}

/** The first `EDGE_BYTES` of the concatenation of `parts`, copied. */
function firstBytes(parts: Buffer[]): Buffer {
  const kept: Buffer[] = [];
  let left = EDGE_BYTES;
  for (const part of parts) {
    if (left === 0) break;
    const piece = part.subarray(0, left);
    kept.push(piece);
    left -= piece.length;
  }
  return Buffer.concat(kept);
}

/** The last `EDGE_BYTES` of the concatenation of `parts`, copied (so a big chunk is not kept alive). */
function lastBytes(parts: Buffer[]): Buffer {
  const kept: Buffer[] = [];
  let left = EDGE_BYTES;
  for (let i = parts.length - 1; i >= 0 && left > 0; i--) {
    const part = parts[i] as Buffer;
    const piece = part.subarray(Math.max(0, part.length - left));
    kept.unshift(piece);
    left -= piece.length;
  }
  return Buffer.concat(kept);
}

/** A JSON-RPC id as the wire carries it. */
export type JsonRpcId = string | number;

/** What to do with a line over the limit. */
export type OversizedDecision =
  /** Deliver this error response in place of the message: it is a response, so only its own call fails. */
  | {action: 'fail-call'; id: JsonRpcId; response: JSONRPCMessage}
  /** Drop the line; `reason` says why it cannot be answered, for a warning. */
  | {action: 'drop'; reason: string};

const SCALAR = String.raw`"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null`;
/** A leading top-level member with a scalar value: `{"key":value,` at the start (or after earlier such members). */
const LEADING_MEMBER = new RegExp(String.raw`^\s*[{,]\s*"([^"\\]*)"\s*:\s*(${SCALAR})\s*`);
/** A trailing top-level member with a scalar value: `,"key":value` at the end, once the closing `}` is removed. */
const TRAILING_MEMBER = new RegExp(String.raw`[{,]\s*"([^"\\]*)"\s*:\s*(${SCALAR})\s*$`);
/** How many members at each end are looked at; JSON-RPC has only `jsonrpc`, `id`, and `method` besides the body. */
const EDGE_MEMBERS = 4;

/**
 * The top-level scalar members at both ends of a JSON object cut in the middle: those before the first member whose
 * value is an object or array, and those after the last one. A string inside `result` cannot match: its quotes are
 * escaped, and the members searched for are anchored at the object's own braces.
 */
export function edgeMembers(head: string, tail: string): Map<string, string> {
  const members = new Map<string, string>();
  let rest = head;
  for (let i = 0; i < EDGE_MEMBERS; i++) {
    const match = LEADING_MEMBER.exec(rest);
    if (!match) break;
    members.set(match[1] as string, match[2] as string);
    rest = rest.slice(match[0].length);
  }
  rest = tail.replace(/\s*}\s*$/, '');
  if (rest.length === tail.length) return members; // no closing brace: not a whole object
  for (let i = 0; i < EDGE_MEMBERS; i++) {
    const match = TRAILING_MEMBER.exec(rest);
    if (!match) break;
    if (!members.has(match[1] as string)) members.set(match[1] as string, match[2] as string);
    rest = rest.slice(0, match.index);
  }
  return members;
}

/**
 * Decides what becomes of a line over `maxBytes`. A response (a top-level `id`, no `method`) becomes a JSON-RPC
 * error response for that id, code -32603, whose message names the limit and the size:
 * `sent a message of 12582912 bytes, over maxUpstreamMessageBytes (1048576)`. A request or notification from the
 * upstream, or a line without a recognisable id, is dropped: no call of the router's waits on it by id.
 */
export function oversizedDecision(
  line: {bytes: number; head: string; tail: string},
  maxBytes: number,
): OversizedDecision {
  const members = edgeMembers(line.head, line.tail);
  const what = tooLarge(line.bytes, maxBytes);
  if (members.has('method')) {
    return {action: 'drop', reason: `${what}, a request or notification of the upstream's`};
  }
  const raw = members.get('id');
  const id = raw === undefined ? undefined : parseId(raw);
  if (id === undefined) return {action: 'drop', reason: `${what}, without a JSON-RPC id`};
  return {action: 'fail-call', id, response: tooLargeResponse(id, line.bytes, maxBytes)};
}

/**
 * `oversizedDecision`, with its warning logged: the error response that fails the call, or undefined for a message
 * dropped.
 */
export function oversizedResponse(
  message: {bytes: number; head: string; tail: string},
  maxBytes: number,
  log: Logger | undefined,
): JSONRPCMessage | undefined {
  const decision = oversizedDecision(message, maxBytes);
  if (decision.action === 'drop') {
    log?.warn({bytes: message.bytes}, `Dropped ${decision.reason}`);
    return undefined;
  }
  log?.warn({bytes: message.bytes, id: decision.id}, 'Failed a call whose response is over the limit');
  return decision.response;
}

/**
 * The JSON-RPC error response (-32603) that fails call `id` whose response of `bytes` bytes is over `maxBytes`:
 * `sent a message of 12582912 bytes, over maxUpstreamMessageBytes (1048576)`.
 */
export function tooLargeResponse(id: JsonRpcId, bytes: number, maxBytes: number): JSONRPCMessage {
  return {jsonrpc: '2.0', id, error: {code: -32603, message: `sent ${tooLarge(bytes, maxBytes)}`}};
}

function tooLarge(bytes: number, maxBytes: number): string {
  return `a message of ${bytes} bytes, over maxUpstreamMessageBytes (${maxBytes})`;
}

function parseId(raw: string): JsonRpcId | undefined {
  try {
    const id: unknown = JSON.parse(raw);
    return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : undefined;
  } catch {
    return undefined;
  }
}
