import {describe, expect, it, vi} from 'vitest';
import {bytesResult, jsonBytes, listResult, messageJson, type MessageJson} from '../../../router/catalog/serialized.js';
import {scanResponse} from '../../../router/upstream/response-scan.js';

// A list result carries its JSON, made once per catalog version: what a client reads must be what the result says.
const tools = [
  {name: 'u__echo', description: 'Echoes "quoted" text, é and \u2028', inputSchema: {type: 'object'}},
  {name: 'u__sum', inputSchema: {type: 'object', properties: {a: {type: 'number'}}}},
];

const text = (json: MessageJson) =>
  typeof json === 'string' ? json : Buffer.concat(json.map((piece) => Buffer.from(piece))).toString();

describe('list results with their JSON', () => {
  it('writes a response exactly as JSON.stringify writes it', () => {
    const response = {result: listResult('tools', tools), jsonrpc: '2.0', id: 7};
    expect(text(messageJson(response))).toBe(JSON.stringify({result: {tools}, jsonrpc: '2.0', id: 7}));
    const named = {result: listResult('tools', tools), jsonrpc: '2.0', id: 'req-"1"'};
    expect(JSON.parse(text(messageJson(named)))).toEqual({result: {tools}, jsonrpc: '2.0', id: 'req-"1"'});
  });

  it('writes the same UTF-8 bytes for every list of one catalog version, counted without encoding them again', () => {
    const first = messageJson({result: listResult('tools', tools), jsonrpc: '2.0', id: 1});
    const second = messageJson({result: listResult('tools', tools), jsonrpc: '2.0', id: 2});
    const bytes = (first as readonly (string | Buffer)[]).find(Buffer.isBuffer);
    expect(bytes?.toString()).toBe(JSON.stringify({tools}));
    expect(second).toContain(bytes);
    expect(jsonBytes(second)).toBe(Buffer.byteLength(text(second)));
  });

  it('gives a new catalog version its own JSON (copy-on-change)', () => {
    expect(text(messageJson({result: listResult('tools', tools), jsonrpc: '2.0', id: 1}))).toContain('u__sum');
    const changed = [tools[0]];
    const json = messageJson({result: listResult('tools', changed), jsonrpc: '2.0', id: 1});
    expect(JSON.parse(text(json)).result).toEqual({tools: changed});
  });

  it('does not pass its JSON to a copy that changes the result', () => {
    const copy = {...listResult('tools', tools), nextCursor: 'next'};
    expect(JSON.parse(messageJson({result: copy, jsonrpc: '2.0', id: 1}) as string).result).toEqual({
      tools,
      nextCursor: 'next',
    });
  });

  it('leaves every other message to JSON.stringify', () => {
    const error = {jsonrpc: '2.0', id: 1, error: {code: -32601, message: 'Method not found'}};
    expect(messageJson(error)).toBe(JSON.stringify(error));
    const plain = {result: {tools}, jsonrpc: '2.0', id: 1};
    expect(messageJson(plain)).toBe(JSON.stringify(plain));
  });
});

// A large tools/call result passed through as the upstream's bytes: the client reads those bytes, and anything in the
// router that reads the result sees the parsed object.
const upstreamResult = {content: [{type: 'text', text: 'é "quoted" \u2028'}], structuredContent: {n: 1}};
const passed = () =>
  bytesResult(Buffer.from(JSON.stringify(upstreamResult)), {
    names: new Set(Object.keys(upstreamResult)),
    isError: false,
  });
/** A result passed through as `connection.ts` makes one: from the bytes of a whole response, scanned. */
const scanned = (response: string) => {
  const found = scanResponse(Buffer.from(response))!;
  return bytesResult(found.result, found);
};

describe('results passed through as bytes', () => {
  it('writes a response with the upstream bytes in place of the result, without copying them', () => {
    const bytes = Buffer.from(JSON.stringify(upstreamResult));
    const json = messageJson({result: bytesResult(bytes, {names: new Set()}), jsonrpc: '2.0', id: 'req-"2"'});
    expect(JSON.parse(text(json))).toEqual({result: upstreamResult, jsonrpc: '2.0', id: 'req-"2"'});
    expect(json).toContain(bytes);
    expect(jsonBytes(json)).toBe(Buffer.byteLength(text(json)));
  });

  it('reads as the parsed result to anything that reads it', () => {
    const result = passed();
    expect(result.isError).toBe(false);
    expect(result.content).toEqual(upstreamResult.content);
    expect({...result}).toEqual(upstreamResult);
    expect(JSON.parse(JSON.stringify(result))).toEqual(upstreamResult);
    expect('structuredContent' in result).toBe(true);
    expect(Object.keys(result)).toEqual(['content', 'structuredContent']);
  });

  it('regression: a passed result was parsed whole as an async function returned it (its `then` read)', async () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const result = scanned(`{"jsonrpc":"2.0","id":1,"result":${JSON.stringify(upstreamResult)}}`);
      parse.mockClear();
      const returned = await (async () => result)();
      expect(returned).toBe(result);
      expect(['content' in result, 'then' in result, 'toString' in result]).toEqual([true, false, true]);
      expect(result.isError).toBeUndefined();
      expect(parse).not.toHaveBeenCalled();
      expect(result.content).toEqual(upstreamResult.content);
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it('reads a member named then as the parsed result has it, escaped or not', async () => {
    for (const name of ['then', 'th\\u0065n']) {
      const result = scanned(`{"jsonrpc":"2.0","id":1,"result":{"content":[],"${name}":7}}`);
      expect(await (async () => result)()).toBe(result);
      expect(result.then).toBe(7);
    }
  });

  it('is serialized again once it was changed, never written as its stale bytes', () => {
    const result = passed();
    result.structuredContent = {n: 2};
    expect(JSON.parse(text(messageJson({result, jsonrpc: '2.0', id: 1}))).result.structuredContent).toEqual({n: 2});
    const removed = passed();
    delete removed.content;
    expect(JSON.parse(text(messageJson({result: removed, jsonrpc: '2.0', id: 1}))).result).toEqual({
      structuredContent: {n: 1},
    });
  });
});
