import {describe, expect, it} from 'vitest';
import {scanResponse} from '../../../router/upstream/response-scan.js';

// A large tools/call result goes to the client as the upstream's bytes only when the scan finds exactly one success
// response whose result is one JSON object: anything else is parsed as before, so nothing an upstream sends can
// reach outside its result's place in the client's message.

const scan = (text: string) => scanResponse(Buffer.from(text));
const resultOf = (text: string) => scan(text)?.result.toString();

describe('scanResponse', () => {
  it.each([
    ['a plain result', '{"jsonrpc":"2.0","id":1,"result":{"content":[]}}', 1, '{"content":[]}'],
    ['members in any order', '{"result":{"a":1},"id":"x-1","jsonrpc":"2.0"}', 'x-1', '{"a":1}'],
    ['space and tabs between tokens', ' { "jsonrpc" : "2.0",\t"id" : 7 , "result" : { } } ', 7, '{ }'],
    [
      'strings with escaped quotes and backslashes',
      String.raw`{"jsonrpc":"2.0","id":2,"result":{"text":"a \"quoted\" } { \\","b":"\\\\"}}`,
      2,
      String.raw`{"text":"a \"quoted\" } { \\","b":"\\\\"}`,
    ],
    [
      'nested arrays, numbers and literals',
      '{"jsonrpc":"2.0","id":3,"result":{"a":[1,-2.5e3,0,true,false,null,[],{}],"b":{"c":[{"d":"}"}]}}}',
      3,
      '{"a":[1,-2.5e3,0,true,false,null,[],{}],"b":{"c":[{"d":"}"}]}}',
    ],
    ['UTF-8 text', '{"jsonrpc":"2.0","id":4,"result":{"text":"é \u2028 ✓"}}', 4, '{"text":"é \u2028 ✓"}'],
    ['an escaped member name', String.raw`{"jsonrpc":"2.0","\u0069d":5,"result":{}}`, 5, '{}'],
  ])('finds %s', (_, text, id, result) => {
    expect(scan(text)?.id).toBe(id);
    expect(resultOf(text)).toBe(result);
  });

  it.each([
    ['an error response', '{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x"}}'],
    ['a request', '{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}'],
    ['a notification', '{"jsonrpc":"2.0","method":"notifications/progress","params":{}}'],
    ['a result that is not an object', '{"jsonrpc":"2.0","id":1,"result":[1]}'],
    ['a second result', '{"jsonrpc":"2.0","id":1,"result":{"a":1},"result":{"b":2}}'],
    ['a second id', '{"jsonrpc":"2.0","id":1,"result":{},"id":2}'],
    ['another JSON-RPC version', '{"jsonrpc":"1.0","id":1,"result":{}}'],
    ['an id that is an object', '{"jsonrpc":"2.0","id":{},"result":{}}'],
    ['no id', '{"jsonrpc":"2.0","result":{}}'],
    ['a batch', '[{"jsonrpc":"2.0","id":1,"result":{}}]'],
    ['a 2026-07-28 result (resultType)', '{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}}'],
    ['an isError that is not a boolean', '{"jsonrpc":"2.0","id":1,"result":{"isError":"yes"}}'],
    ['a line feed between tokens', '{"jsonrpc":"2.0","id":1,\n"result":{}}'],
    ['a carriage return in a string', '{"jsonrpc":"2.0","id":1,"result":{"text":"a\rb"}}'],
    ['a string left open', '{"jsonrpc":"2.0","id":1,"result":{"text":"a}}'],
    ['an escaped closing quote left open', String.raw`{"jsonrpc":"2.0","id":1,"result":{"text":"a\"}}`],
    ['a brace too many', '{"jsonrpc":"2.0","id":1,"result":{"a":1}}}'],
    ['members after the message', '{"jsonrpc":"2.0","id":1,"result":{}},"id":2'],
    ['a result that closes early', '{"jsonrpc":"2.0","id":1,"result":{"a":1},"x":{}'],
    ['a missing comma', '{"jsonrpc":"2.0","id":1,"result":{"a":1 "b":2}}'],
    ['a trailing comma', '{"jsonrpc":"2.0","id":1,"result":{"a":[1,]}}'],
    ['a bad number', '{"jsonrpc":"2.0","id":1,"result":{"a":01}}'],
    ['a bad literal', '{"jsonrpc":"2.0","id":1,"result":{"a":tru}}'],
    ['a depth past the scan', `{"jsonrpc":"2.0","id":1,"result":{"a":${'['.repeat(300)}${']'.repeat(300)}}}`],
  ])('leaves %s to the parser', (_, text) => {
    expect(scan(text)).toBeUndefined();
  });

  it('reads isError without parsing the result, the last one as JSON.parse keeps', () => {
    expect(scan('{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}')?.isError).toBe(true);
    expect(scan('{"jsonrpc":"2.0","id":1,"result":{"isError":true,"isError":false}}')?.isError).toBe(false);
    expect(scan('{"jsonrpc":"2.0","id":1,"result":{"content":[{"isError":true}]}}')?.isError).toBeUndefined();
  });

  it("names the result's own members, escapes decoded, and no nested ones", () => {
    const scanned = scan('{"jsonrpc":"2.0","id":1,"result":{"content":[{"then":1}],"th\\u0065n":2,"isError":false}}');
    expect([...scanned!.names]).toEqual(['content', 'then', 'isError']);
  });

  it('scans a 10 MB text result and gives its bytes without a copy', () => {
    const bytes = Buffer.from(
      JSON.stringify({jsonrpc: '2.0', id: 9, result: {content: [{type: 'text', text: 'a"\\'.repeat(3_500_000)}]}}),
    );
    const scanned = scanResponse(bytes);
    expect(scanned?.id).toBe(9);
    expect(JSON.parse(scanned!.result.toString())).toEqual(JSON.parse(bytes.toString()).result);
    expect(scanned!.result.buffer).toBe(bytes.buffer);
  });
});
