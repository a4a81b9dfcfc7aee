import {describe, expect, it} from 'vitest';
import {
  EDGE_BYTES,
  edgeMembers,
  LineFramer,
  oversizedDecision,
  type FramedLine,
} from '../../../router/upstream/framing.js';

/** Frames `chunks` (strings, as UTF-8) with a limit of `maxBytes` and returns every line, in order. */
function frame(chunks: (string | Buffer)[], maxBytes = 64): FramedLine[] {
  const framer = new LineFramer(maxBytes);
  return chunks.flatMap((chunk) => framer.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
}

const line = (text: string): FramedLine => ({kind: 'line', bytes: Buffer.from(text)});

describe('LineFramer', () => {
  it.each<[string, (string | Buffer)[], FramedLine[]]>([
    ['one line in one chunk', ['{"a":1}\n'], [line('{"a":1}')]],
    ['two lines in one chunk', ['{"a":1}\n{"b":2}\n'], [line('{"a":1}'), line('{"b":2}')]],
    ['a line over three chunks', ['{"a"', ':', '1}\n'], [line('{"a":1}')]],
    ['a line ending where the next begins', ['{"a":1}\n{"b"', ':2}\n'], [line('{"a":1}'), line('{"b":2}')]],
    ['no newline yet', ['{"a":1}'], []],
    ['CRLF', ['{"a":1}\r\n'], [line('{"a":1}')]],
    ['CR and LF in separate chunks', ['{"a":1}\r', '\n'], [line('{"a":1}')]],
    ['empty lines skipped', ['\n\r\n{"a":1}\n\n'], [line('{"a":1}')]],
    ['a newline alone in its chunk', ['{"a":1}', '\n', '\n'], [line('{"a":1}')]],
    [
      'a UTF-8 character split across chunks',
      [Buffer.from('"é"\n').subarray(0, 2), Buffer.from('"é"\n').subarray(2)],
      [line('"é"')],
    ],
    ['a line of exactly the limit', ['x'.repeat(64) + '\n'], [line('x'.repeat(64))]],
    [
      'a line one byte over the limit',
      ['x'.repeat(65) + '\n'],
      [{kind: 'oversized', bytes: 65, head: 'x'.repeat(65), tail: 'x'.repeat(65)}],
    ],
    [
      'an oversized line, then a normal one in the same chunk',
      ['{"r":"' + 'y'.repeat(100), '","id":7}\n{"id":8}\n'],
      [
        {
          kind: 'oversized',
          bytes: 115,
          head: '{"r":"' + 'y'.repeat(100) + '","id":7}',
          tail: '{"r":"' + 'y'.repeat(100) + '","id":7}',
        },
        line('{"id":8}'),
      ],
    ],
  ])('%s', (_name, chunks, expected) => {
    expect(frame(chunks)).toEqual(expected);
  });

  it('keeps only the first and last EDGE_BYTES of a line over the limit, and counts all of it', () => {
    const framer = new LineFramer(1024);
    const chunk = Buffer.alloc(64 * 1024, 'z');
    const head = '{"result":"' + 'a'.repeat(EDGE_BYTES);
    const tail = 'b'.repeat(EDGE_BYTES) + '","jsonrpc":"2.0","id":41}';
    const lines = [Buffer.from(head), ...Array.from({length: 160}, () => chunk), Buffer.from(tail + '\n')].flatMap(
      (part) => framer.push(part),
    );
    expect(lines).toHaveLength(1);
    const [oversized] = lines as [Extract<FramedLine, {kind: 'oversized'}>];
    expect(oversized.bytes).toBe(head.length + 160 * chunk.length + tail.length);
    expect(oversized.head).toBe(head.slice(0, EDGE_BYTES));
    expect(oversized.tail).toBe(tail.slice(-EDGE_BYTES));
    expect(framer.pendingBytes).toBe(0);
  });

  it('is ready for the next line after an oversized one', () => {
    const framer = new LineFramer(16);
    expect(framer.push(Buffer.from('x'.repeat(40)))).toEqual([]);
    expect(framer.push(Buffer.from('\n{"id":1}\n'))[1]).toEqual(line('{"id":1}'));
  });
});

describe('edgeMembers', () => {
  it.each<[string, string, string, Record<string, string>]>([
    [
      'the SDK order: result first, id last',
      '{"result":{"content":[',
      ']},"jsonrpc":"2.0","id":12}',
      {jsonrpc: '"2.0"', id: '12'},
    ],
    [
      'the Python SDK order: id first',
      '{"jsonrpc":"2.0","id":"req-3","result":{"x',
      'x"}}',
      {jsonrpc: '"2.0"', id: '"req-3"'},
    ],
    [
      'a request of the upstream',
      '{"method":"sampling/createMessage","params":{',
      '},"jsonrpc":"2.0","id":0}',
      {method: '"sampling/createMessage"', jsonrpc: '"2.0"', id: '0'},
    ],
    ['an id inside the result only', '{"result":{"id":5,"text":"', '"}}', {}],
    ['an id quoted inside a string', '{"result":{"text":"', ',\\"id\\":9"}}', {}],
    ['a tail cut before the closing brace', '{"result":"', '"x","id":3', {}],
    ['spaces between tokens', '{ "id" : 4 , "result" : {', '} }', {id: '4'}],
  ])('%s', (_name, head, tail, expected) => {
    expect(Object.fromEntries(edgeMembers(head, tail))).toEqual(expected);
  });
});

describe('oversizedDecision', () => {
  const message = 'sent a message of 2000000 bytes, over maxUpstreamMessageBytes (1048576)';
  it.each([
    [
      'a response with its id at the end fails that call',
      {head: '{"result":{"content":[{"type":"text","text":"', tail: '"}]},"jsonrpc":"2.0","id":3}'},
      {action: 'fail-call', id: 3, response: {jsonrpc: '2.0', id: 3, error: {code: -32603, message}}},
    ],
    [
      'a response with a string id at the start fails that call',
      {head: '{"jsonrpc":"2.0","id":"a-1","result":{"text":"', tail: '"}}'},
      {action: 'fail-call', id: 'a-1', response: {jsonrpc: '2.0', id: 'a-1', error: {code: -32603, message}}},
    ],
    [
      'a request of the upstream is dropped',
      {head: '{"method":"sampling/createMessage","params":{"x":"', tail: '"},"jsonrpc":"2.0","id":0}'},
      {
        action: 'drop',
        reason:
          "a message of 2000000 bytes, over maxUpstreamMessageBytes (1048576), a request or notification of the upstream's",
      },
    ],
    [
      'a notification is dropped',
      {head: '{"method":"notifications/message","params":{"data":"', tail: '"},"jsonrpc":"2.0"}'},
      {
        action: 'drop',
        reason:
          "a message of 2000000 bytes, over maxUpstreamMessageBytes (1048576), a request or notification of the upstream's",
      },
    ],
    [
      'a line without an id is dropped',
      {head: '["not', tail: 'json-rpc"]'},
      {
        action: 'drop',
        reason: 'a message of 2000000 bytes, over maxUpstreamMessageBytes (1048576), without a JSON-RPC id',
      },
    ],
    [
      'an id that is null is dropped',
      {head: '{"error":{"message":"', tail: '"},"jsonrpc":"2.0","id":null}'},
      {
        action: 'drop',
        reason: 'a message of 2000000 bytes, over maxUpstreamMessageBytes (1048576), without a JSON-RPC id',
      },
    ],
  ])('%s', (_name, edges, expected) => {
    expect(oversizedDecision({bytes: 2_000_000, ...edges}, 1_048_576)).toEqual(expected);
  });
});
