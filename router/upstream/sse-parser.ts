import {MessageEdges} from './framing.js';

/**
 * One server-sent event: its `id` and `event` fields when given, and its data lines joined by `\n`: text, or the
 * bytes (UTF-8, not decoded) when they are `bytesFrom` or more.
 */
export interface SseEvent {
  id?: string;
  event?: string;
  data: string | Buffer;
}

export interface SseParserHandlers {
  /** Each event that has at least one `data` line, in order. */
  onEvent: (event: SseEvent) => void;
  /** A `retry` field of digits only: the reconnection delay the server asks for, in milliseconds. */
  onRetry?: (milliseconds: number) => void;
  /**
   * Each event whose data is over `maxDataBytes`, instead of `onEvent`: the size of its data in bytes and its first
   * and last bytes (`MessageEdges`); the rest was never kept.
   */
  onOversized?: (event: {bytes: number; head: string; tail: string; id?: string; event?: string}) => void;
  /** Largest event data, in bytes, that is kept and given to `onEvent` (default: no limit). */
  maxDataBytes?: number;
  /** Event data of this many bytes or more goes to `onEvent` as bytes, not decoded (default: never). */
  bytesFrom?: number;
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
  #dataBytes = 0;
  #dataLines = 0;
  /** Bytes of the line not yet ended. */
  #lineBytes = 0;
  /** The line not yet ended is over the limit: `data` goes on into `#edges`, any other field is skipped. */
  #longLine: 'data' | 'skip' | undefined;
  /** The event's data, once it is over the limit. */
  #edges: MessageEdges | undefined;
  readonly #maxDataBytes: number;
  readonly #bytesFrom: number;

  constructor(handlers: SseParserHandlers) {
    this.#handlers = handlers;
    this.#maxDataBytes = handlers.maxDataBytes ?? Number.POSITIVE_INFINITY;
    this.#bytesFrom = handlers.bytesFrom ?? Number.POSITIVE_INFINITY;
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
      if (i > start) this.#take(chunk.subarray(start, i));
      this.#endLine();
      if (byte === CR) {
        if (i + 1 === chunk.length) this.#afterCr = true;
        else if (chunk[i + 1] === LF) i++;
      }
      start = i + 1;
    }
    if (start < chunk.length) this.#take(chunk.subarray(start));
  }

  /** Keeps a slice of the line in progress, unless the line is over the limit. */
  #take(part: Buffer): void {
    if (this.#longLine === 'data') return (this.#edges as MessageEdges).add(part);
    if (this.#longLine === 'skip') return;
    this.#line.push(part);
    this.#lineBytes += part.length;
    if (this.#lineBytes > this.#maxDataBytes + HEAD_BYTES) this.#overflowLine();
  }

  /** The line in progress went over the limit: a `data` line goes on into the event's edges, another is skipped. */
  #overflowLine(): void {
    const parts = this.#line;
    this.#line = [];
    const field = fieldOf(parts);
    if (field?.name !== 'data') {
      this.#longLine = 'skip';
      return;
    }
    this.#longLine = 'data';
    const edges = this.#overflowData();
    if (this.#dataLines++ > 0) edges.add(NEWLINE);
    edges.add(...dropBytes(parts, field.skip));
  }

  /** The event's edges, made from the data kept so far when the event has just gone over the limit. */
  #overflowData(): MessageEdges {
    if (!this.#edges) {
      this.#edges = new MessageEdges();
      this.#edges.add(...this.#data);
      this.#data = [];
    }
    return this.#edges;
  }

  #endLine(): void {
    const parts = this.#line;
    this.#line = [];
    this.#lineBytes = 0;
    if (this.#longLine !== undefined) {
      this.#longLine = undefined;
      return;
    }
    if (parts.length === 0) return this.#dispatch();
    const field = fieldOf(parts);
    if (field === undefined) return;
    const {name, skip} = field;
    if (name === 'data') {
      const data = dropBytes(parts, skip);
      if (this.#edges) {
        this.#edges.add(...(this.#dataLines++ > 0 ? [NEWLINE, ...data] : data));
        return;
      }
      if (this.#dataLines++ > 0) this.#data.push(NEWLINE);
      this.#data.push(...data);
      this.#dataBytes += lengthOf(parts) - skip + (this.#dataLines > 1 ? 1 : 0);
      if (this.#dataBytes > this.#maxDataBytes) this.#overflowData();
      return;
    }
    if (name !== 'id' && name !== 'event' && name !== 'retry') return;
    const value = Buffer.concat(parts).toString('utf8', skip);
    if (name === 'event') this.#event = value || undefined;
    else if (name === 'id') {
      if (!value.includes('\0')) this.#id = value;
    } else if (/^\d+$/.test(value)) this.#handlers.onRetry?.(Number.parseInt(value, 10));
  }

  #dispatch(): void {
    const edges = this.#edges;
    const data = this.#dataLines === 0 ? undefined : this.#data;
    const fields = {
      ...(this.#id !== undefined && {id: this.#id}),
      ...(this.#event !== undefined && {event: this.#event}),
    };
    // The event's bytes are let go before the handler runs: it parses the text, and a large event would be held
    // three times (bytes, text, parsed) instead of twice.
    this.#id = undefined;
    this.#event = undefined;
    this.#data = [];
    this.#dataBytes = 0;
    this.#dataLines = 0;
    this.#edges = undefined;
    if (edges) this.#handlers.onOversized?.({...edges.edges(), ...fields});
    else if (data) {
      const bytes = data.length === 1 ? data[0]! : Buffer.concat(data);
      data.length = 0;
      this.#handlers.onEvent({...fields, data: bytes.length >= this.#bytesFrom ? bytes : bytes.toString('utf8')});
    }
  }
}

/**
 * The field of a line (its name, and how many bytes precede its value), or undefined for a comment or a field name
 * longer than any the parser knows.
 */
function fieldOf(parts: Buffer[]): {name: string; skip: number} | undefined {
  const head = headOf(parts);
  if (head[0] === COLON) return undefined; // a comment
  let colon = head.indexOf(COLON);
  if (colon === -1 && head.length < HEAD_BYTES) colon = head.length; // a field name alone: an empty value
  if (colon === -1) return undefined;
  const skip = colon + (head[colon + 1] === SPACE ? 2 : 1);
  return {name: head.toString('latin1', 0, colon), skip: Math.min(skip, lengthOf(parts))};
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
