/**
 * Finds the result of a JSON-RPC success response in its bytes without parsing it (JSON, RFC 8259; JSON-RPC 2.0,
 * section 5), so that a large `tools/call` result can go on to the client as the bytes the upstream sent.
 *
 * The scan checks the message's structure exactly (every string, object, array, number and literal closed where
 * JSON closes it), so the result's bytes are one JSON value that cannot reach outside its place in another message.
 * It does not check what JSON.parse would also refuse inside a string (a control character, an unknown escape) or
 * that the bytes are UTF-8: a client parses those as it would from the upstream directly. A message holding a CR or
 * LF byte anywhere is not taken, since either would end a line of the client's SSE stream.
 */

/** What `scanResponse` found: the response's id and its result, still as bytes. */
export interface ScannedResponse {
  id: string | number;
  /** The result's value: a JSON object, a slice of the scanned bytes. */
  result: Buffer;
  /** The names of the result's members, as JSON.parse reads them (escapes decoded). */
  names: ReadonlySet<string>;
  /** The result's `isError` member (the last one, as JSON.parse keeps), or undefined when it has none. */
  isError?: boolean;
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
/** Deeper than this is left to JSON.parse, which has no recursion to run out of. */
const MAX_DEPTH = 256;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

/** A member of an object: where its name and its value start and end (end exclusive). */
interface Member {
  nameStart: number;
  nameEnd: number;
  valueStart: number;
  valueEnd: number;
}

/**
 * The id and result of `bytes` when they are one JSON-RPC success response (`jsonrpc` "2.0", an `id` string or
 * number, a `result` object, each once; no `error` or `method`) whose result has no `resultType` (a 2026-07-28
 * member the SDK's client takes off) and no `isError` other than `true` or `false`, and which holds no CR or LF byte.
 * @returns undefined for anything else, invalid JSON included: the caller parses those as before
 */
export function scanResponse(bytes: Buffer): ScannedResponse | undefined {
  if (bytes.includes(LF) || bytes.includes(CR)) return undefined;
  const members: Member[] = [];
  const resultMembers: Member[] = [];
  const start = skipSpace(bytes, 0);
  if (bytes[start] !== OPEN_BRACE) return undefined;
  const end = objectEnd(bytes, start, 1, members, {name: 'result', members: resultMembers});
  if (end < 0 || skipSpace(bytes, end) !== bytes.length) return undefined;
  const top = new Map<string, Member>();
  for (const member of members) {
    const name = nameOf(bytes, member.nameStart, member.nameEnd);
    if (top.has(name) || name === 'error' || name === 'method') return undefined;
    top.set(name, member);
  }
  const [jsonrpc, id, result] = [top.get('jsonrpc'), top.get('id'), top.get('result')];
  if (!jsonrpc || !id || !result || bytes[result.valueStart] !== OPEN_BRACE) return undefined;
  if (valueOf(bytes, jsonrpc) !== '2.0') return undefined;
  const idValue = valueOf(bytes, id);
  if (typeof idValue !== 'string' && typeof idValue !== 'number') return undefined;
  let isError: boolean | undefined;
  const names = new Set<string>();
  for (const member of resultMembers) {
    const name = nameOf(bytes, member.nameStart, member.nameEnd);
    names.add(name);
    if (name === 'resultType') return undefined;
    if (name !== 'isError') continue;
    const value = member.valueEnd - member.valueStart <= 5 ? valueOf(bytes, member) : undefined;
    if (typeof value !== 'boolean') return undefined;
    isError = value;
  }
  return {
    id: idValue,
    result: bytes.subarray(result.valueStart, result.valueEnd),
    names,
    ...(isError !== undefined && {isError}),
  };
}

function skipSpace(bytes: Buffer, from: number): number {
  let i = from;
  while (i < bytes.length) {
    const byte = bytes[i];
    if (byte !== SPACE && byte !== TAB && byte !== LF && byte !== CR) break;
    i++;
  }
  return i;
}

/** The end of the JSON value at `from` (after any space), or -1 when there is none or it is too deep. */
function valueEnd(bytes: Buffer, from: number, depth: number): number {
  const i = skipSpace(bytes, from);
  const byte = bytes[i];
  if (byte === QUOTE) return stringEnd(bytes, i);
  if (byte === OPEN_BRACE) return objectEnd(bytes, i, depth + 1);
  if (byte === OPEN_BRACKET) return arrayEnd(bytes, i, depth + 1);
  for (const literal of LITERALS) {
    if (byte === literal[0]) return bytes.subarray(i, i + literal.length).equals(literal) ? i + literal.length : -1;
  }
  let end = i;
  while (end < bytes.length && isNumberByte(bytes[end] as number)) end++;
  return end > i && NUMBER.test(bytes.toString('latin1', i, end)) ? end : -1;
}

function isNumberByte(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x2b || byte === 0x2e || byte === 0x65 || byte === 0x45
  );
}

/**
 * The end of the string whose opening quote is at `from`. The next quote is found natively; after one that is
 * escaped (text that quotes text, often densely), the rest is read byte by byte, which is faster there.
 */
function stringEnd(bytes: Buffer, from: number): number {
  const quote = bytes.indexOf(QUOTE, from + 1);
  if (quote < 0) return -1;
  let backslashes = 0;
  while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++;
  if (backslashes % 2 === 0) return quote + 1;
  for (let i = quote + 1; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === BACKSLASH) i++;
    else if (byte === QUOTE) return i + 1;
  }
  return -1;
}

/**
 * The end of the object whose `{` is at `from`. Its members go to `members` when given, and the members of its
 * member `inner.name` (when that is an object) to `inner.members`, in the same pass.
 */
function objectEnd(
  bytes: Buffer,
  from: number,
  depth: number,
  members?: Member[],
  inner?: {name: string; members: Member[]},
): number {
  if (depth > MAX_DEPTH) return -1;
  let i = skipSpace(bytes, from + 1);
  if (bytes[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (bytes[i] !== QUOTE) return -1;
    const nameEnd = stringEnd(bytes, i);
    if (nameEnd < 0) return -1;
    const colon = skipSpace(bytes, nameEnd);
    if (bytes[colon] !== COLON) return -1;
    const valueStart = skipSpace(bytes, colon + 1);
    const nested = inner && bytes[valueStart] === OPEN_BRACE && nameOf(bytes, i, nameEnd) === inner.name;
    const end = nested ? objectEnd(bytes, valueStart, depth + 1, inner.members) : valueEnd(bytes, valueStart, depth);
    if (end < 0) return -1;
    members?.push({nameStart: i, nameEnd, valueStart, valueEnd: end});
    i = skipSpace(bytes, end);
    if (bytes[i] === CLOSE_BRACE) return i + 1;
    if (bytes[i] !== COMMA) return -1;
    i = skipSpace(bytes, i + 1);
  }
}

function arrayEnd(bytes: Buffer, from: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  let i = skipSpace(bytes, from + 1);
  if (bytes[i] === CLOSE_BRACKET) return i + 1;
  for (;;) {
    const end = valueEnd(bytes, i, depth);
    if (end < 0) return -1;
    i = skipSpace(bytes, end);
    if (bytes[i] === CLOSE_BRACKET) return i + 1;
    if (bytes[i] !== COMMA) return -1;
    i = skipSpace(bytes, i + 1);
  }
}

/** The name of the string from `start` to `end` (quotes included), decoded as JSON.parse would (with escapes). */
function nameOf(bytes: Buffer, start: number, end: number): string {
  const raw = bytes.toString('utf8', start + 1, end - 1);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw; // JSON.parse refuses the whole message too; the client will, as it would from the upstream
  }
}

function valueOf(bytes: Buffer, member: Member): unknown {
  try {
    return JSON.parse(bytes.toString('utf8', member.valueStart, member.valueEnd));
  } catch {
    return undefined;
  }
}
