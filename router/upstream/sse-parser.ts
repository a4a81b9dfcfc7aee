/** One server-sent event: its `id` and `event` fields when given, and its data lines joined by `\n`. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseParserHandlers {
  /** Each event that has at least one `data` line, in order. */
  onEvent: (event: SseEvent) => void;
  /** A `retry` field of digits only: the reconnection delay the server asks for, in milliseconds. */
  onRetry?: (milliseconds: number) => void;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const NEWLINE = Buffer.from('\n');
/** Longer than any field name the parser acts on (`event`, `retry`) plus its colon and space. */
const HEAD_BYTES = 8;

/**
 * A server-sent events parser over Buffers (WHATWG HTML, "Server-sent events", interpreting an event stream), as the
 * SDK's `eventsource-parser` reads it: lines end in CRLF, LF or CR; a leading UTF-8 BOM is skipped; an event is
 * dispatched at an empty line when it has data; `id` (without NUL) and `event` belong to the event they are in;
 * comments and unknown fields are ignored; `retry` of digits only goes to `onRetry`.
 *
 * Each chunk is scanned once: a line split over chunks is kept as a list of slices of them, and an event's data is
 * joined once, when it is dispatched (not at all when it came in one piece), and only then decoded, so a multi-byte
 * character split over chunks stays whole. (Decoding each slice with a `StringDecoder` and joining the pieces was
 * measured: it holds twice the memory at its peak.)
 */
export class SseParser {
  readonly #handlers: SseParserHandlers;
  /** The slices of the line not yet ended, in order. */
  #line: Buffer[] = [];
  /** The last chunk ended in CR: an LF at the start of the next one ends no line. */
  #afterCr = false;
  #first = true;
  #id: string | undefined;
  #event: string | undefined;
  #data: Buffer[] = [];
  #dataLines = 0;

  constructor(handlers: SseParserHandlers) {
    this.#handlers = handlers;
  }

  /** Parses the next chunk of the stream. */
  feed(chunk: Buffer): void {
    let start = 0;
    if (this.#first && chunk.length > 0) {
      this.#first = false;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    }
    if (this.#afterCr && chunk[start] === LF) start++;
    this.#afterCr = false;
    for (let i = start; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte !== LF && byte !== CR) continue;
      if (i > start) this.#line.push(chunk.subarray(start, i));
      this.#endLine();
      if (byte === CR) {
        if (i + 1 === chunk.length) this.#afterCr = true;
        else if (chunk[i + 1] === LF) i++;
      }
      start = i + 1;
    }
    if (start < chunk.length) this.#line.push(chunk.subarray(start));
  }

  #endLine(): void {
    const parts = this.#line;
    this.#line = [];
    if (parts.length === 0) return this.#dispatch();
    const head = headOf(parts);
    if (head[0] === COLON) return; // a comment
    let colon = head.indexOf(COLON);
    if (colon === -1 && head.length < HEAD_BYTES) colon = head.length; // a field name alone: an empty value
    if (colon === -1) return; // a field name longer than any the parser knows
    const field = head.toString('latin1', 0, colon);
    const skip = colon + (head[colon + 1] === SPACE ? 2 : 1);
    if (field === 'data') {
      if (this.#dataLines++ > 0) this.#data.push(NEWLINE);
      this.#data.push(...dropBytes(parts, Math.min(skip, lengthOf(parts))));
      return;
    }
    if (field !== 'id' && field !== 'event' && field !== 'retry') return;
    const value = Buffer.concat(parts).toString('utf8', Math.min(skip, lengthOf(parts)));
    if (field === 'event') this.#event = value || undefined;
    else if (field === 'id') {
      if (!value.includes('\0')) this.#id = value;
    } else if (/^\d+$/.test(value)) this.#handlers.onRetry?.(Number.parseInt(value, 10));
  }

  #dispatch(): void {
    if (this.#dataLines > 0) {
      const data = (this.#data.length === 1 ? this.#data[0]! : Buffer.concat(this.#data)).toString('utf8');
      this.#handlers.onEvent({
        ...(this.#id !== undefined && {id: this.#id}),
        ...(this.#event !== undefined && {event: this.#event}),
        data,
      });
    }
    this.#id = undefined;
    this.#event = undefined;
    this.#data = [];
    this.#dataLines = 0;
  }
}

/** The first `HEAD_BYTES` bytes of a line (fewer when it is shorter), copying only when its first slice is short. */
function headOf(parts: Buffer[]): Buffer {
  if (parts[0]!.length >= HEAD_BYTES || parts.length === 1) return parts[0]!;
  const head: Buffer[] = [];
  let length = 0;
  for (const part of parts) {
    head.push(part);
    length += part.length;
    if (length >= HEAD_BYTES) break;
  }
  return Buffer.concat(head, Math.min(length, HEAD_BYTES));
}

function lengthOf(parts: Buffer[]): number {
  return parts.reduce((sum, part) => sum + part.length, 0);
}

/** The slices of `parts` after their first `count` bytes (pure: no copy). */
function dropBytes(parts: Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  let left = count;
  for (const part of parts) {
    if (left >= part.length) {
      left -= part.length;
      continue;
    }
    rest.push(left > 0 ? part.subarray(left) : part);
    left = 0;
  }
  return rest;
}
