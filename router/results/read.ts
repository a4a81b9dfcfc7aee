import type {NamedEntry} from '../catalog/aggregate.js';
import {JsonRpcCode, JsonRpcFailure} from '../errors.js';
import type {JsonObject} from '../upstream/connection.js';
import {byteLength, prefixWithinBytes, type TokenCounter} from './cap.js';
import type {ResourceContents} from './store.js';

/**
 * `read_result`: the router's own tool that reads content the output caps cut (`router://results/{id}`) for clients
 * that cannot read resources. Pure: what a call asks for, and the part of the kept content it gets.
 */

export const READ_RESULT_TOOL = 'read_result';

/** Bytes, or tokens, a read returns when it gives no `length`. */
export const DEFAULT_READ_LENGTH = {bytes: 32_768, tokens: 8_000} as const;

/** The `tools/list` entry of `read_result` (MCP 2025-11-25 server/tools). */
export const READ_RESULT_DEFINITION: NamedEntry = {
  name: READ_RESULT_TOOL,
  title: 'Read a cut result',
  description:
    'Reads the rest of a tool result that the router cut (the router://results/... link in its note), from an ' +
    'offset, in bytes or tokens. Only the session that got the result can read it, for a few minutes.',
  inputSchema: {
    type: 'object',
    properties: {
      uri: {type: 'string', description: 'The router://results/... link of the note.'},
      offset: {type: 'integer', minimum: 0, description: 'Where to start, in `unit`s from the start (0).'},
      length: {
        type: 'integer',
        minimum: 1,
        description: `How much to read, in \`unit\`s (${DEFAULT_READ_LENGTH.bytes} bytes, ${DEFAULT_READ_LENGTH.tokens} tokens).`,
      },
      unit: {type: 'string', enum: ['bytes', 'tokens'], description: 'Unit of offset and length (bytes).'},
    },
    required: ['uri'],
  },
  outputSchema: {
    type: 'object',
    properties: {
      uri: {type: 'string'},
      unit: {type: 'string', enum: ['bytes', 'tokens']},
      offset: {type: 'integer'},
      nextOffset: {type: 'integer', description: 'Where the next read starts; absent at the end.'},
      totalBytes: {type: 'integer'},
    },
    required: ['uri', 'unit', 'offset', 'totalBytes'],
  },
  annotations: {readOnlyHint: true, openWorldHint: false},
};

export interface ReadRange {
  uri: string;
  unit: 'bytes' | 'tokens';
  /** In `unit`s from the start. */
  offset: number;
  /** In `unit`s. */
  length: number;
}

const isCount = (value: unknown, min: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min;

/**
 * The range a `read_result` call asks for, defaults filled in.
 * @throws JsonRpcFailure -32602 naming the argument: no `uri` string, `offset` not an integer >= 0, `length` not an
 *   integer >= 1, `unit` neither `bytes` nor `tokens`
 */
export function readRangeOf(args: unknown): ReadRange {
  const {uri, offset = 0, length, unit = 'bytes'} = (args ?? {}) as Record<string, unknown>;
  const invalid = (message: string) => new JsonRpcFailure(JsonRpcCode.InvalidParams, `read_result: ${message}`);
  if (typeof uri !== 'string') throw invalid('uri must be the router://results/... link of a note');
  if (unit !== 'bytes' && unit !== 'tokens') throw invalid('unit must be "bytes" or "tokens"');
  if (!isCount(offset, 0)) throw invalid('offset must be an integer from 0');
  if (length !== undefined && !isCount(length, 1)) throw invalid('length must be an integer from 1');
  return {uri, unit, offset, length: length ?? DEFAULT_READ_LENGTH[unit]};
}

/** UTF-16 code units of the longest prefix of `text` within `count` units. */
function prefixOf(text: string, count: number, unit: ReadRange['unit'], tokens: TokenCounter | undefined): number {
  return unit === 'bytes' ? prefixWithinBytes(text, count) : (tokens as TokenCounter).prefix(text, count);
}

/** Like `prefixOf`, but at least one character of a text that is not empty, so that reads always move on. */
function partOf(text: string, count: number, unit: ReadRange['unit'], tokens: TokenCounter | undefined): string {
  const units = prefixOf(text, count, unit, tokens) || ((text.codePointAt(0) ?? 0) > 0xffff ? 2 : 1);
  return text.slice(0, units);
}

/** How many `unit`s a text takes. */
function sizeOf(text: string, unit: ReadRange['unit'], tokens: TokenCounter | undefined): number {
  if (unit === 'bytes') return byteLength(text);
  const counter = tokens as TokenCounter;
  for (let max = Math.max(16, text.length); ; max *= 2) {
    const count = counter.within(text, max);
    if (count !== undefined) return count;
  }
}

/**
 * The `tools/call` result of a read: the text from `offset` for `length` units, never splitting a character (an
 * offset inside a character starts at that character, and `offset` in the result says where it started), and `structuredContent` `{uri, unit, offset, nextOffset?, totalBytes}`
 * with `nextOffset` absent at the end. Kept images and audio come whole, as the content item they were (a range of
 * an image is no image). `tokens` is needed for `unit: "tokens"` (the caps' tokenizer).
 */
export function readResult(contents: ResourceContents, range: ReadRange, tokens?: TokenCounter): JsonObject {
  const {uri, unit, offset} = range;
  if (!('text' in contents)) {
    const type = contents.mimeType.startsWith('audio/') ? 'audio' : 'image';
    const totalBytes = Buffer.byteLength(contents.blob, 'base64');
    return {
      content: [{type, data: contents.blob, mimeType: contents.mimeType}],
      structuredContent: {uri, unit, offset: 0, totalBytes},
    };
  }
  const {text} = contents;
  const start = offset === 0 ? 0 : Math.min(text.length, prefixOf(text, offset, unit, tokens));
  const part = partOf(text.slice(start), range.length, unit, tokens);
  const next = start + part.length;
  const at = offset === 0 ? 0 : sizeOf(text.slice(0, start), unit, tokens);
  return {
    content: [{type: 'text', text: part}],
    structuredContent: {
      uri,
      unit,
      offset: at,
      ...(next < text.length && {nextOffset: at + sizeOf(part, unit, tokens)}),
      totalBytes: byteLength(text),
    },
  };
}
