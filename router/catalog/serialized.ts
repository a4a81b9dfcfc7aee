/**
 * Results that carry their own JSON, so that a transport writes it instead of serializing the result:
 * - list results, their JSON made once per catalog version and shared by every session that lists it. A catalog's
 *   entry arrays never change (a change makes a new catalog, `shared.ts`), so the JSON of `{[kind]: entries}` is kept
 *   beside the array as UTF-8 bytes: a `tools/list` costs a lookup and a write of those bytes, never copied or encoded
 *   again (a 1,000-tool list is about 300 KB);
 * - `tools/call` results passed through as the bytes the upstream sent (`bytesResult`), never parsed on the way
 *   unless something reads them.
 */

/** The JSON bytes a list result carries; a symbol and not enumerable, so neither JSON nor a spread copies them. */
const JSON_BYTES = Symbol('json bytes');

/** The JSON of `{[kind]: entries}` for each entries array seen, by kind (one array always has the same kind). */
const listBytes = new WeakMap<readonly unknown[], Buffer>();

/**
 * `{[kind]: entries}` (a `tools/list`, `prompts/list`, `resources/list` or `resources/templates/list` result, MCP
 * 2025-11-25 server/*), carrying its JSON as UTF-8 bytes, made on the first list of this entries array.
 */
export function listResult(kind: string, entries: readonly unknown[]): Record<string, unknown> {
  let bytes = listBytes.get(entries);
  if (bytes === undefined) listBytes.set(entries, (bytes = Buffer.from(JSON.stringify({[kind]: entries}))));
  return Object.defineProperty({[kind]: entries}, JSON_BYTES, {value: bytes});
}

/** The bytes of each result of `bytesResult` that has not been changed since. */
const bytesOf = new WeakMap<object, Buffer>();

/**
 * A result whose JSON is `json`, one JSON object as an upstream sent it (checked by `scanResponse`, which gives the
 * `names` of its members and its `isError`). It behaves as the parsed object to anything that reads it (a transport
 * that serializes, a test), parsing `json` on the first read of one of its members; `isError`, and any name that is not
 * a member, are read without parsing. So a promise resolved with it (an async function that returns it), which reads
 * its `then`, leaves it unparsed. A transport that writes it with `messageJson` writes `json` itself, unless the
 * result was changed since (then it is serialized as any object).
 */
export function bytesResult(
  json: Buffer,
  {names, isError}: {names: ReadonlySet<string>; isError?: boolean},
): Record<string, unknown> {
  const target: Record<string, unknown> = {};
  let parsed = false;
  const read = () => {
    if (parsed) return target;
    parsed = true;
    const value = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
    for (const key of Object.keys(value)) {
      Object.defineProperty(target, key, {value: value[key], writable: true, enumerable: true, configurable: true});
    }
    return target;
  };
  // Before the parse, `target` is an empty object: what it answers for a name that is not a member is the answer.
  const member = (key: string | symbol) => !parsed && typeof key === 'string' && names.has(key);
  const change = <T>(act: () => T): T => {
    read();
    bytesOf.delete(result);
    return act();
  };
  const result = new Proxy(target, {
    get: (_, key) => (key === 'isError' && !parsed ? isError : Reflect.get(member(key) ? read() : target, key)),
    has: (_, key) => member(key) || Reflect.has(target, key),
    ownKeys: () => Reflect.ownKeys(read()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(read(), key),
    set: (_, key, value) => change(() => Reflect.set(target, key, value)),
    defineProperty: (_, key, descriptor) => change(() => Reflect.defineProperty(target, key, descriptor)),
    deleteProperty: (_, key) => change(() => Reflect.deleteProperty(target, key)),
  });
  bytesOf.set(result, json);
  return result;
}

/** The size in bytes of a result of `bytesResult` that will be written as its bytes; undefined for any other. */
export function resultBytesOf(result: object): number | undefined {
  return bytesOf.get(result)?.length;
}

/**
 * A message's JSON: its text, or for a response whose result came from `listResult` or `bytesResult`, pieces to be
 * written one after another (text, the result's bytes, text), so that those bytes are never copied.
 */
export type MessageJson = string | readonly (string | Buffer)[];

/**
 * `JSON.stringify(message)` for a JSON-RPC message: for a response whose result came from `listResult` or
 * `bytesResult`, that result's JSON with the response's other members (`jsonrpc`, `id`) after it, in the order the
 * SDK writes them.
 */
export function messageJson(message: object): MessageJson {
  const result = (message as {result?: unknown}).result;
  // Bytes first: reading a symbol of a bytes result would parse it.
  const kept =
    typeof result === 'object' && result !== null
      ? (bytesOf.get(result) ?? (result as {[JSON_BYTES]?: Buffer})[JSON_BYTES])
      : undefined;
  if (kept === undefined) return JSON.stringify(message);
  const {result: _result, ...rest} = message as {result: unknown};
  const others = JSON.stringify(rest);
  return ['{"result":', kept, `${others === '{}' ? '' : `,${others.slice(1, -1)}`}}`];
}

/** The length of a message's JSON in bytes (UTF-8). */
export function jsonBytes(json: MessageJson): number {
  if (typeof json === 'string') return Buffer.byteLength(json);
  return json.reduce((sum, piece) => sum + Buffer.byteLength(piece), 0);
}
