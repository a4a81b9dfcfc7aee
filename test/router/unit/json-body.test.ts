import {createServer, request, type IncomingHttpHeaders, type Server} from 'node:http';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {BodyError, jsonBodyKind, readJsonBody} from '../../../router/http/body.js';

// The MCP routes' own JSON body reading, on a real node:http server on loopback: what body-parser's strict JSON
// parser would have given, or the `type` of the error it would have raised.

const MAX_BYTES = 1000;
const MAX_DEPTH = 8;
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    readJsonBody(req, MAX_BYTES, MAX_DEPTH).then(
      (body) => res.end(JSON.stringify({body})),
      (error: unknown) => res.end(JSON.stringify({error: error instanceof BodyError ? error.type : String(error)})),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as {port: number}).port;
});
afterAll(() => server.close());

/** POSTs `chunks` (chunked when more than one) and returns what the server read. */
function post(chunks: (string | Buffer)[]): Promise<{body?: unknown; error?: string}> {
  return new Promise((resolve, reject) => {
    const single = chunks.length === 1 ? Buffer.from(chunks[0] as string) : undefined;
    const req = request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        headers: {'content-type': 'application/json', ...(single && {'content-length': single.length})},
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(JSON.parse(text)));
      },
    );
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('jsonBodyKind', () => {
  it.each<[string, IncomingHttpHeaders, string]>([
    ['no body', {'content-type': 'application/json'}, 'none'],
    ['another media type', {'content-type': 'text/plain', 'content-length': '2'}, 'none'],
    ['JSON', {'content-type': 'application/json', 'content-length': '2'}, 'plain'],
    ['JSON, chunked', {'content-type': 'application/json', 'transfer-encoding': 'chunked'}, 'plain'],
    ['JSON in UTF-8, any case', {'content-type': 'Application/JSON; Charset="UTF-8"', 'content-length': '2'}, 'plain'],
    ['JSON in another charset', {'content-type': 'application/json; charset=latin1', 'content-length': '2'}, 'other'],
    [
      'compressed JSON',
      {'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': '2'},
      'other',
    ],
  ])('%s: %s', (_what, headers, kind) => {
    expect(jsonBodyKind(headers)).toBe(kind);
  });
});

describe('readJsonBody', () => {
  it.each<[string, (string | Buffer)[], {body?: unknown; error?: string}]>([
    ['an object', ['{"a":[1,2]}'], {body: {a: [1, 2]}}],
    ['an object over chunks', ['{"a"', ':[1,', '2]}'], {body: {a: [1, 2]}}],
    ['an empty body, as {}', [''], {body: {}}],
    ['an array after whitespace', ['\r\n [1]'], {body: [1]}],
    ['an object after a UTF-8 BOM', [Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])], {body: {}}],
    ['a bare value (strict JSON)', ['42'], {error: 'entity.parse.failed'}],
    ['broken JSON', ['{"a":'], {error: 'entity.parse.failed'}],
    ['a declared length over the limit', [`{"a":"${'x'.repeat(MAX_BYTES)}"}`], {error: 'entity.too.large'}],
    ['chunks over the limit', ['{"a":"', 'x'.repeat(MAX_BYTES), '"}'], {error: 'entity.too.large'}],
    ['nesting over the depth', ['['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1)], {error: 'entity.too.deep'}],
  ])('%s', async (_what, chunks, expected) => {
    expect(await post(chunks)).toEqual(expected);
  });
});
