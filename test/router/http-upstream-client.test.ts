import {createServer, connect, type Server, type Socket} from 'node:net';
import {Client} from '@modelcontextprotocol/client';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {StreamableHttpUpstreamTransport} from '../../router/upstream/http.js';
import {startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {MCP_HEADERS} from '../support/router.js';

// The router's own Streamable HTTP client transport, under the SDK 2.x Client in `auto` mode as the router uses it,
// against server-everything over Streamable HTTP (a real 2025-11-25 server with an event store). A TCP relay between
// them counts the connections and can cut them, as a network would.

/** A TCP relay on 127.0.0.1 to `port`: counts the connections it accepted and cuts them all on `cut()`. */
async function relay(port: number): Promise<{url: string; connections(): number; cut(): void; close(): void}> {
  const open = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    const upstream = connect(port, '127.0.0.1');
    for (const [a, b] of [
      [socket, upstream],
      [upstream, socket],
    ] as const) {
      open.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        open.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as {port: number}).port}/mcp`,
    connections: () => accepted,
    cut: () => open.forEach((socket) => socket.destroy()),
    close: () => {
      open.forEach((socket) => socket.destroy());
      server.close();
    },
  };
}

let everything: HttpMcpServer;
let net: Awaited<ReturnType<typeof relay>>;
const clients: Client[] = [];

beforeAll(async () => {
  everything = await startEverythingHttp('streamableHttp');
  net = await relay(Number(new URL(everything.url).port));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  net?.close();
  await everything?.stop();
});

async function connected(): Promise<{client: Client; transport: StreamableHttpUpstreamTransport}> {
  const client = new Client({name: 'test', version: '1.0.0'}, {capabilities: {}, versionNegotiation: {mode: 'auto'}});
  const transport = new StreamableHttpUpstreamTransport(new URL(net.url));
  await client.connect(transport);
  clients.push(client);
  return {client, transport};
}

const text = (result: unknown) => (result as {content: {text: string}[]}).content[0]!.text;

describe('StreamableHttpUpstreamTransport against server-everything', () => {
  it('negotiates 2025-11-25 in auto mode, lists tools and calls echo', async () => {
    const {client, transport} = await connected();
    expect(client.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    expect(transport.sessionId).toMatch(/.+/);
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toEqual(expect.arrayContaining(['echo', 'trigger-long-running-operation']));
    expect(text(await client.callTool({name: 'echo', arguments: {message: 'hi'}}))).toBe('Echo: hi');
  });

  it('keeps its connections alive: 30 calls in a row open no new connection', async () => {
    const {client} = await connected();
    await client.callTool({name: 'echo', arguments: {message: 'warm'}});
    const before = net.connections();
    for (let i = 0; i < 30; i++) {
      expect(text(await client.callTool({name: 'echo', arguments: {message: `m${i}`}}))).toBe(`Echo: m${i}`);
    }
    expect(net.connections()).toBe(before);
  });

  it('takes 32 calls at once without a MaxListenersExceededWarning on its signal', async () => {
    const {client} = await connected();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const results = await Promise.all(
        Array.from({length: 32}, (_, i) => client.callTool({name: 'echo', arguments: {message: `c${i}`}})),
      );
      expect(results.map(text)).toEqual(Array.from({length: 32}, (_, i) => `Echo: c${i}`));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('gets progress of a long call on its SSE reply, before the result', async () => {
    const {client} = await connected();
    const progress: number[] = [];
    const result = await client.callTool(
      {name: 'trigger-long-running-operation', arguments: {duration: 1, steps: 3}},
      {onprogress: ({progress: value}) => void progress.push(value)},
    );
    expect(text(result)).toContain('Long running operation completed');
    // The 2.x Client hands notifications to their handler a microtask late, so a last progress read together with
    // the result can come after it; the router takes progress off the transport first (`TappedTransport`).
    expect(progress.slice(0, 2)).toEqual([1, 2]);
  });

  it('resumes a reply stream cut mid-call with Last-Event-ID on a new connection: the progress after the cut arrives', async () => {
    const {client} = await connected();
    const progress: number[] = [];
    const before = net.connections();
    // server-everything (SDK 1.x, with an event store) replays the events after Last-Event-ID on the resumed stream
    // but sends the call's result to the stream that was cut, for the SDK's transport as for this one (checked side
    // by side): so the call itself is left to time out, and what is asserted is the resumption.
    await client
      .callTool(
        {name: 'trigger-long-running-operation', arguments: {duration: 3, steps: 3}},
        {
          onprogress: ({progress: value}) => {
            if (progress.push(value) === 1) net.cut();
          },
          timeout: 4500,
        },
      )
      .catch(() => undefined);
    expect(progress.slice(0, 2)).toEqual([1, 2]);
    expect(net.connections()).toBeGreaterThan(before);
  });

  it('ends its session with DELETE: the server no longer takes the session id', async () => {
    const {transport} = await connected();
    const id = transport.sessionId!;
    const list = () =>
      fetch(everything.url, {
        method: 'POST',
        headers: {...MCP_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25'},
        body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/list', params: {}}),
      }).then((answer) => answer.status);
    expect(await list()).toBe(200);
    await transport.terminateSession();
    expect(transport.sessionId).toBeUndefined();
    expect(await list()).toBe(400);
  });

  it('fails a request the server refuses with the status and body in the error', async () => {
    const transport = new StreamableHttpUpstreamTransport(new URL(net.url), {headers: {'mcp-session-id': 'nope'}});
    await transport.start();
    const refused = transport.send({jsonrpc: '2.0', id: 1, method: 'tools/list', params: {}});
    await expect(refused).rejects.toMatchObject({data: {status: expect.any(Number)}});
    await expect(refused).rejects.toThrow(/Error POSTing to endpoint/);
    await transport.close();
  });
});
