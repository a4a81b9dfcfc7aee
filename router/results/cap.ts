import type {OutputLimits, RouterOutputOptions} from '../config/schema.js';
import type {JsonObject} from '../upstream/connection.js';

/**
 * Output caps of `tools/call` results (pure): what of a result's `content` (MCP 2025-11-25 server/tools, tool result)
 * the client gets, and what the router takes out and keeps for `resources/read`. `structuredContent` and every other
 * field of the result pass unchanged.
 */

/** What the caps need of a tokenizer (see `tokens.ts`). */
export interface TokenCounter {
  /** Tokens of `text` when at most `max`, else undefined. */
  within(text: string, max: number): number | undefined;
  /** UTF-16 code units of the longest prefix of `text` that takes at most `max` tokens. */
  prefix(text: string, max: number): number;
}

/**
 * Content the router took out of a result, kept for `resources/read`: text (`text/plain` unless an embedded
 * resource's `mimeType` says otherwise), or base64 `data` of an image, audio or embedded blob resource.
 */
export type KeptContent =
  {kind: 'text'; text: string; mimeType?: string} | {kind: 'blob'; mimeType: string; data: string};

/** What the caps did to one result, for metrics and the audit line. Bytes are UTF-8 text plus base64 media data. */
export interface Compaction {
  /** Text items cut, or left out after an earlier cut. */
  cut: number;
  /** Images and audio left out (`maxMediaBytes`). */
  media: number;
  /** JSON text items minified (`minifyJson`). */
  minified: number;
  /** Bytes of text and media in the upstream's content. */
  bytes: number;
  /** Bytes of text and media in the content the client got, the router's notes included. */
  sentBytes: number;
}

export interface CapDeps {
  /** Needed when `maxResultTokens` is set. */
  tokens?: TokenCounter;
  /** Keeps content for the session; its `router://results/{id}` URI, or undefined when it cannot be kept. */
  keep(content: KeptContent): string | undefined;
  /** How long kept content stays readable, in seconds (for the note). */
  keepSeconds: number;
}

/** The caps of one upstream: its own `output` fields, else those of `router.output`; undefined when there are none. */
export function limitsFor(router: RouterOutputOptions, upstream: OutputLimits | undefined): OutputLimits | undefined {
  const limits: OutputLimits = {
    maxResultTokens: upstream?.maxResultTokens ?? router.maxResultTokens,
    maxResultBytes: upstream?.maxResultBytes ?? router.maxResultBytes,
    maxMediaBytes: upstream?.maxMediaBytes ?? router.maxMediaBytes,
    minifyJson: upstream?.minifyJson ?? router.minifyJson,
  };
  const any =
    limits.maxResultTokens !== undefined ||
    limits.maxResultBytes !== undefined ||
    limits.maxMediaBytes !== undefined ||
    limits.minifyJson === true;
  return any ? limits : undefined;
}

/** Room kept in the budget for the note and the resource link that follow a cut. */
const NOTE_BYTES = 640;
const NOTE_TOKENS = 160;

const utf8 = new TextEncoder();
const number = (n: number) => n.toLocaleString('en-US');

/** UTF-8 bytes of a string. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** UTF-16 code units of the longest prefix of `text` that takes at most `bytes` bytes in UTF-8, no character split. */
export function prefixWithinBytes(text: string, bytes: number): number {
  if (text.length * 3 <= bytes) return text.length;
  return utf8.encodeInto(text, new Uint8Array(Math.max(0, bytes))).read;
}

/** Everything between JSON tokens that is whitespace (RFC 8259 section 2), strings left as they are. */
const BETWEEN_TOKENS = /("(?:[^"\\]|\\.)*")|[ \t\n\r]+/g;

/**
 * `text` minified, when it is a JSON object or array and minifying loses nothing: the minified text must be the
 * original with only its whitespace between tokens taken out, so that no large number is rounded, no duplicate key
 * dropped and no escape rewritten. Undefined when it is not JSON, not lossless, or not shorter.
 */
export function minifiedJson(text: string): string | undefined {
  if (!/^\s*[[{]/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const minified = JSON.stringify(value);
  if (minified.length >= text.length) return undefined;
  return text.replace(BETWEEN_TOKENS, (_match, string: string | undefined) => string ?? '') === minified
    ? minified
    : undefined;
}

/** Where a word ends, and where an item of minified JSON does (which has no whitespace to cut at). */
const WORD_END = /\s/;
const ITEM_END = /[,\]}]/;

/**
 * Where to cut `text` at or before `end` (UTF-16 code units), keeping at least half of it: after the last line break;
 * else at the last whitespace; else after the last `,`, `]` or `}` (minified JSON); else at `end`, never inside a
 * surrogate pair.
 */
export function cleanCut(text: string, end: number): number {
  if (end >= text.length) return text.length;
  if (end <= 0) return 0;
  const line = text.lastIndexOf('\n', end - 1);
  if (line + 1 >= end / 2) return line + 1;
  for (let i = end - 1; i >= end / 2; i--) if (WORD_END.test(text[i] as string)) return i;
  for (let i = end - 1; i >= end / 2; i--) if (ITEM_END.test(text[i] as string)) return i + 1;
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
}

/** Line breaks in `text`. */
function lineBreaks(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Lines of a text, the last one counted though it has no line break. */
function lineCount(text: string): number {
  return lineBreaks(text) + (text.length > 0 && !text.endsWith('\n') ? 1 : 0);
}

/** What the client is told about content it does not get, and the resource link to it. */
function note(text: string, uri: string | undefined, keepSeconds: number, mimeType: string): JsonObject[] {
  if (uri === undefined) return [{type: 'text', text: `[${text} It was too large for the router to keep.]`}];
  return [
    {
      type: 'text',
      text: `[${text} It is kept for ${keepSeconds} s as ${uri}: read it with resources/read, or the read_result tool.]`,
    },
    {
      type: 'resource_link',
      uri,
      name: uri.slice(uri.lastIndexOf('/') + 1),
      mimeType,
      description: 'Content the router cut from a tool result, readable by this session only.',
    },
  ];
}

/** A text content item, or an embedded resource with `text` (MCP 2025-11-25 server/tools, tool result). */
interface TextPart {
  text: string;
  /** The item with another text. */
  with(text: string): JsonObject;
  /** What the note calls it when it is cut, and when it is left out after an earlier cut. */
  what: string;
  further: string;
  mimeType: string;
}

/** An image, audio, or embedded resource with a `blob`: base64 `data`. */
interface MediaPart {
  data: string;
  mimeType: string;
  /** What the note calls it, its size included. */
  what: string;
}

const resourceOf = (item: JsonObject) =>
  item.type === 'resource' && typeof item.resource === 'object' && item.resource !== null
    ? (item.resource as JsonObject)
    : undefined;

function textPart(item: JsonObject): TextPart | undefined {
  if (item.type === 'text' && typeof item.text === 'string')
    return {
      text: item.text,
      with: (text) => ({...item, text}),
      what: 'this text',
      further: 'A further text',
      mimeType: 'text/plain',
    };
  const resource = resourceOf(item);
  if (typeof resource?.text !== 'string') return undefined;
  return {
    text: resource.text,
    with: (text) => ({...item, resource: {...resource, text}}),
    what: `the text of the embedded resource ${JSON.stringify(String(resource.uri))}`,
    further: `The text of the embedded resource ${JSON.stringify(String(resource.uri))}`,
    mimeType: typeof resource.mimeType === 'string' ? resource.mimeType : 'text/plain',
  };
}

function mediaPart(item: JsonObject): MediaPart | undefined {
  const resource = resourceOf(item);
  const [data, mimeType] =
    (item.type === 'image' || item.type === 'audio') && typeof item.data === 'string'
      ? [item.data, item.mimeType]
      : typeof resource?.blob === 'string'
        ? [resource.blob, resource.mimeType]
        : [];
  if (data === undefined) return undefined;
  const type = typeof mimeType === 'string' ? mimeType : 'application/octet-stream';
  const size = `${type}, ${number(data.length)} bytes`;
  const what =
    item.type === 'image'
      ? `An image (${size})`
      : item.type === 'audio'
        ? `An audio clip (${size})`
        : `The embedded resource ${JSON.stringify(String(resource?.uri))} (${size})`;
  return {data, mimeType: type, what};
}

/** The cap that decided, as the note names it. */
function capName(limits: OutputLimits, byBytes: boolean): string {
  return byBytes
    ? `maxResultBytes ${number(limits.maxResultBytes ?? 0)}`
    : `maxResultTokens ${number(limits.maxResultTokens ?? 0)}`;
}

/**
 * A `tools/call` result within `limits`:
 * - JSON text is minified first, where `minifyJson` asks for it and it loses nothing;
 * - text items are kept in order while their text fits `maxResultBytes` and `maxResultTokens` together; the first that
 *   does not is cut at a line or word boundary and followed by a note and a `resource_link` to its full text, and any
 *   text after it is left out the same way;
 * - an image or audio item over `maxMediaBytes` becomes a note and a `resource_link`.
 * Embedded resources (`type: "resource"`) count as text when they carry `text` (cut the same way, the item kept with
 * the head of its text) and as media when they carry a `blob`. Resource links and every other field of the result,
 * `structuredContent` first, are left as they are. `compaction` is undefined when nothing changed.
 * @throws Error when `maxResultTokens` is set and `deps.tokens` is not
 */
export function capResult(
  result: JsonObject,
  limits: OutputLimits,
  deps: CapDeps,
): {result: JsonObject; compaction?: Compaction} {
  const {content} = result;
  if (!Array.isArray(content)) return {result};
  if (limits.maxResultTokens !== undefined && !deps.tokens) throw new Error('maxResultTokens needs a token counter');
  const stats: Compaction = {cut: 0, media: 0, minified: 0, bytes: 0, sentBytes: 0};
  let bytesLeft = limits.maxResultBytes ?? Infinity;
  let tokensLeft = limits.maxResultTokens ?? Infinity;
  let cutOff = false;
  const out: JsonObject[] = [];
  const send = (...items: JsonObject[]) => {
    for (const item of items) {
      out.push(item);
      const part = textPart(item);
      stats.sentBytes += part ? byteLength(part.text) : (mediaPart(item)?.data.length ?? 0);
    }
  };
  /** Code units of the longest prefix of `text` within both budgets, less `reserve` of each. */
  const fitting = (text: string, reserve: {bytes: number; tokens: number}) => {
    let end = prefixWithinBytes(text, bytesLeft - reserve.bytes);
    if (tokensLeft !== Infinity && deps.tokens)
      end = deps.tokens.prefix(text.slice(0, end), Math.max(0, tokensLeft - reserve.tokens));
    return end;
  };

  for (const item of content as JsonObject[]) {
    const part = textPart(item);
    if (part) {
      const original = part.text;
      stats.bytes += byteLength(original);
      const minified = limits.minifyJson ? minifiedJson(original) : undefined;
      if (minified !== undefined) stats.minified++;
      const text = minified ?? original;
      const bytes = byteLength(text);
      const tokens = tokensLeft === Infinity || cutOff ? 0 : deps.tokens?.within(text, tokensLeft);
      if (!cutOff && bytes <= bytesLeft && tokens !== undefined) {
        bytesLeft -= bytes;
        tokensLeft -= tokens;
        send(minified === undefined ? item : part.with(text));
        continue;
      }
      stats.cut++;
      const uri = deps.keep({
        kind: 'text',
        text: original,
        ...(part.mimeType !== 'text/plain' && {mimeType: part.mimeType}),
      });
      const total = `${number(lineCount(text))} lines, ${number(bytes)} bytes`;
      if (cutOff) {
        send(...note(`${part.further} (${total}) was left out by the router.`, uri, deps.keepSeconds, part.mimeType));
        continue;
      }
      cutOff = true;
      const byBytes = bytes > bytesLeft;
      const head = text.slice(0, cleanCut(text, fitting(text, {bytes: NOTE_BYTES, tokens: NOTE_TOKENS})));
      const shown =
        head.endsWith('\n') || head.length === 0
          ? `the first ${number(lineBreaks(head))} lines`
          : `the first ${number(byteLength(head))} bytes`;
      if (head.length > 0) send(part.with(head));
      send(
        ...note(
          `The router cut ${part.what} at ${capName(limits, byBytes)}: it showed ${shown} of ${total}.`,
          uri,
          deps.keepSeconds,
          part.mimeType,
        ),
      );
      continue;
    }
    const media = mediaPart(item);
    if (media) {
      stats.bytes += media.data.length;
      if (limits.maxMediaBytes === undefined || media.data.length <= limits.maxMediaBytes) {
        send(item);
        continue;
      }
      stats.media++;
      const {mimeType, what} = media;
      const uri = deps.keep({kind: 'blob', mimeType, data: media.data});
      send(
        ...note(
          `${what} was left out by the router, over maxMediaBytes ${number(limits.maxMediaBytes)}.`,
          uri,
          deps.keepSeconds,
          mimeType,
        ),
      );
      continue;
    }
    send(item);
  }
  if (stats.cut + stats.media + stats.minified === 0) return {result};
  return {result: {...result, content: out}, compaction: stats};
}
