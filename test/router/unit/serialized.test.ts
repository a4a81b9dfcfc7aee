import {describe, expect, it} from 'vitest';
import {listResult, messageJson} from '../../../router/catalog/serialized.js';

// A list result carries its JSON, made once per catalog version: what a client reads must be what the result says.
const tools = [
  {name: 'u__echo', description: 'Echoes "quoted" text, é and \u2028', inputSchema: {type: 'object'}},
  {name: 'u__sum', inputSchema: {type: 'object', properties: {a: {type: 'number'}}}},
];

describe('list results with their JSON', () => {
  it('writes a response exactly as JSON.stringify writes it', () => {
    const response = {result: listResult('tools', tools), jsonrpc: '2.0', id: 7};
    expect(messageJson(response)).toBe(JSON.stringify({result: {tools}, jsonrpc: '2.0', id: 7}));
    const named = {result: listResult('tools', tools), jsonrpc: '2.0', id: 'req-"1"'};
    expect(JSON.parse(messageJson(named))).toEqual({result: {tools}, jsonrpc: '2.0', id: 'req-"1"'});
  });

  it('gives a new catalog version its own JSON (copy-on-change)', () => {
    expect(messageJson({result: listResult('tools', tools), jsonrpc: '2.0', id: 1})).toContain('u__sum');
    const changed = [tools[0]];
    const json = messageJson({result: listResult('tools', changed), jsonrpc: '2.0', id: 1});
    expect(JSON.parse(json).result).toEqual({tools: changed});
  });

  it('does not pass its JSON to a copy that changes the result', () => {
    const copy = {...listResult('tools', tools), nextCursor: 'next'};
    expect(JSON.parse(messageJson({result: copy, jsonrpc: '2.0', id: 1})).result).toEqual({tools, nextCursor: 'next'});
  });

  it('leaves every other message to JSON.stringify', () => {
    const error = {jsonrpc: '2.0', id: 1, error: {code: -32601, message: 'Method not found'}};
    expect(messageJson(error)).toBe(JSON.stringify(error));
    const plain = {result: {tools}, jsonrpc: '2.0', id: 1};
    expect(messageJson(plain)).toBe(JSON.stringify(plain));
  });
});
