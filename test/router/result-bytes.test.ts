import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {fixtureStdio, startFixtureHttp} from '../../bench/processes.js';
import {startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {callOnRawSession, connectClient, openRawSession, resumeRawStream, startTestRouter} from '../support/router.js';

// Large tools/call results go from upstream to client as the bytes the upstream sent, never parsed in the router:
// the fixture server over stdio and over HTTP with JSON replies, server-everything over HTTP with SSE replies, behind
// the real router, read by SDK clients over Streamable HTTP and SSE. What the client reads must be what the upstream
// sent; the metric shows which results were passed through.

const KiB = 1024;
let fixture: HttpMcpServer;
let everything: HttpMcpServer;
let handWritten: Server;
let router: Awaited<ReturnType<typeof startTestRouter>>;

/**
 * A hand-written Streamable HTTP upstream (a fake: no published server sends these bytes) whose `pretty` tool answers
 * with pretty-printed JSON, line breaks between its tokens, and whose `failing` tool answers a large tool error.
 */
function startHandWritten(): Promise<Server> {
  const tools = ['pretty', 'failing'].map((name) => ({name, inputSchema: {type: 'object'}}));
  const answer = (id: unknown, name: string) => {
    if (name === 'failing') {
      return JSON.stringify({
        jsonrpc: '2.0',
        id,
        result: {content: [{type: 'text', text: 'e'.repeat(96 * KiB)}], isError: true},
      });
    }
    return JSON.stringify(
      {jsonrpc: '2.0', id, result: {content: [{type: 'text', text: 'p'.repeat(96 * KiB)}]}},
      null,
      2,
    );
  };
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const message = JSON.parse(Buffer.concat(chunks).toString()) as {
      id?: unknown;
      method: string;
      params: {protocolVersion: string; name: string};
    };
    if (message.id === undefined) return void res.writeHead(202).end();
    const body =
      message.method === 'initialize'
        ? JSON.stringify({
            jsonrpc: '2.0',
            id: message.id,
            result: {
              protocolVersion: message.params.protocolVersion,
              capabilities: {tools: {}},
              serverInfo: {name: 'hand-written', version: '1.0.0'},
            },
          })
        : message.method === 'tools/list'
          ? JSON.stringify({jsonrpc: '2.0', id: message.id, result: {tools}})
          : message.method === 'tools/call'
            ? answer(message.id, message.params.name)
            : JSON.stringify({jsonrpc: '2.0', id: message.id, result: {}});
    res.writeHead(200, {'content-type': 'application/json'}).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  [fixture, everything, handWritten] = await Promise.all([
    startFixtureHttp(1),
    startEverythingHttp('streamableHttp'),
    startHandWritten(),
  ]);
  const {port} = handWritten.address() as AddressInfo;
  router = await startTestRouter({
    mcpServers: {
      json: {type: 'http', url: fixture.url},
      sse: {type: 'http', url: everything.url},
      stdio: fixtureStdio(1),
      capped: {...fixtureStdio(1), output: {maxResultBytes: 4 * KiB}},
      hand: {type: 'http', url: `http://127.0.0.1:${port}/mcp`},
    },
  });
}, 60_000);
afterAll(async () => {
  await router?.stop();
  await Promise.all([fixture?.stop(), everything?.stop()]);
  handWritten?.close();
});

/** The value of a counter of the router's `/metrics` for `upstream`, 0 when it has none yet. */
async function passed(upstream: string): Promise<{results: number; bytes: number}> {
  const metrics = await (await fetch(`${router.url}/metrics`)).text();
  const value = (name: string) =>
    Number(new RegExp(`^${name}\\{upstream="${upstream}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
  return {results: value('mcp_router_passed_results_total'), bytes: value('mcp_router_passed_result_bytes_total')};
}

type Text = {content: {type: string; text: string}[]; isError?: boolean};

/** Calls `name` as an SDK client on `path` of the router; its result. */
async function callOn(path: string, name: string, args: Record<string, unknown> = {}): Promise<Text> {
  const {client, close} = await connectClient(`${router.url}${path}`);
  try {
    return (await client.callTool({name, arguments: args})) as Text;
  } finally {
    await close();
  }
}

describe.each(['/mcp', '/sse'])('large tools/call results, client on %s', (path) => {
  it.each([
    ['json', 'HTTP with JSON replies'],
    ['stdio', 'stdio'],
  ])('passes a 1 MiB result of the %s upstream (%s) through as its bytes, and a small one parsed', async (upstream) => {
    const before = await passed(upstream);
    const big = await callOn(path, `${upstream}__blob`, {bytes: 1024 * KiB});
    const small = await callOn(path, `${upstream}__blob`, {bytes: 1024});
    expect(big.content).toEqual([{type: 'text', text: 'x'.repeat(1024 * KiB)}]);
    expect(small.content).toEqual([{type: 'text', text: 'x'.repeat(1024)}]);
    const after = await passed(upstream);
    expect(after.results - before.results).toBe(1);
    expect(after.bytes - before.bytes).toBeGreaterThan(1024 * KiB);
  });

  it('passes a result that came on an SSE reply through as its bytes', async () => {
    const before = await passed('sse');
    const message = 'é✓ "quoted" \\ '.repeat(8 * KiB);
    const result = await callOn(path, 'sse__echo', {message});
    expect(result.content).toEqual([{type: 'text', text: `Echo: ${message}`}]);
    expect((await passed('sse')).results - before.results).toBe(1);
  });

  it('regression: a result with line breaks between its tokens is parsed, so that it cannot end an SSE line', async () => {
    const before = await passed('hand');
    const result = await callOn(path, 'hand__pretty');
    expect(result.content).toEqual([{type: 'text', text: 'p'.repeat(96 * KiB)}]);
    expect(await passed('hand')).toEqual(before);
  });

  it('passes a large tool error through, counted as a tool error', async () => {
    const before = await passed('hand');
    const result = await callOn(path, 'hand__failing');
    expect(result).toEqual({content: [{type: 'text', text: 'e'.repeat(96 * KiB)}], isError: true});
    expect((await passed('hand')).results - before.results).toBe(1);
    const metrics = await (await fetch(`${router.url}/metrics`)).text();
    expect(metrics).toMatch(/^mcp_router_calls_total\{[^}]*upstream="hand"[^}]*outcome="tool_error"[^}]*\} [1-9]/m);
  });

  it('reads a result under output caps, and cuts it', async () => {
    const result = await callOn(path, 'capped__blob', {bytes: 256 * KiB});
    expect(result.content[0]?.text.length).toBeLessThanOrEqual(4 * KiB);
    expect(result.content.map((item) => item.type)).toContain('resource_link');
    expect(await passed('capped')).toEqual({results: 0, bytes: 0});
  });
});

describe('a passed result on a resumed stream', () => {
  it('is replayed whole after Last-Event-ID when the stream dropped before it (Resumability and Redelivery)', async () => {
    const headers = await openRawSession(`${router.url}/mcp`);
    const before = await passed('json');

    // The stream drops after its priming event, before the result (sent 500 ms later; 128 KiB is within the
    // router's default replayBytes, 256 KiB a session).
    const call = await callOnRawSession(`${router.url}/mcp`, headers, {
      name: 'json__blob',
      arguments: {bytes: 128 * KiB, delayMs: 500},
    });
    const reader = (call.response.body as ReadableStream<Uint8Array>).getReader();
    const primed = new TextDecoder().decode((await reader.read()).value);
    call.drop();
    const lastEventId = /^id: (.+)$/m.exec(primed)?.[1] as string;
    expect(lastEventId).toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const resumed = await resumeRawStream(`${router.url}/mcp`, headers, lastEventId);
    expect(resumed.status).toBe(200);
    // Read until the replayed result's event has ended; the resumed stream itself stays open.
    const replay = (resumed.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!/^data: \{.*\n\n/m.test(text)) {
      const {value, done} = await replay.read();
      if (done) break;
      text += decoder.decode(value, {stream: true});
    }
    await replay.cancel();
    const data = /^data: (\{.*)$/m.exec(text)?.[1] as string;
    expect(JSON.parse(data)).toEqual({
      jsonrpc: '2.0',
      id: 2,
      result: {content: [{type: 'text', text: 'x'.repeat(128 * KiB)}]},
    });
    expect((await passed('json')).results - before.results).toBe(1);
  });
});
