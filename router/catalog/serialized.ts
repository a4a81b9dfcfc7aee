/**
 * List results that carry their own JSON, made once per catalog version and shared by every session that lists it.
 * A catalog's entry arrays never change (a change makes a new catalog, `shared.ts`), so the JSON text of
 * `{[kind]: entries}` is kept beside the array, and a transport that writes the result writes that text instead of
 * serializing a thousand tools again: a `tools/list` costs a lookup and a write.
 */

/** The JSON text a result carries; a symbol and not enumerable, so neither JSON nor a spread copies it. */
const JSON_TEXT = Symbol('json text');

/** The JSON of `{[kind]: entries}` for each entries array seen, by kind (one array always has the same kind). */
const texts = new WeakMap<readonly unknown[], string>();

/**
 * `{[kind]: entries}` (a `tools/list`, `prompts/list`, `resources/list` or `resources/templates/list` result, MCP
 * 2025-11-25 server/*), carrying its JSON text, made on the first list of this entries array.
 */
export function listResult(kind: string, entries: readonly unknown[]): Record<string, unknown> {
  let text = texts.get(entries);
  if (text === undefined) texts.set(entries, (text = JSON.stringify({[kind]: entries})));
  return Object.defineProperty({[kind]: entries}, JSON_TEXT, {value: text});
}

/**
 * `JSON.stringify(message)` for a JSON-RPC message: for a response whose result came from `listResult`, its kept text
 * with the response's other members (`jsonrpc`, `id`) after it, in the order the SDK writes them.
 */
export function messageJson(message: object): string {
  const result = (message as {result?: unknown}).result;
  const text =
    typeof result === 'object' && result !== null ? (result as {[JSON_TEXT]?: string})[JSON_TEXT] : undefined;
  if (text === undefined) return JSON.stringify(message);
  const {result: _result, ...rest} = message as {result: unknown};
  const others = JSON.stringify(rest);
  return `{"result":${text}${others === '{}' ? '' : `,${others.slice(1, -1)}`}}`;
}
