/**
 * Three router processes' worth of routers on 127.0.0.1, sharing a session key, with a fake peer list standing in for
 * the EndpointSlices of their Service (no Kubernetes here): a client whose requests go round-robin over them, as
 * through a Service without session affinity, keeps its session, its progress and its sampling.
 */
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {SSEClientTransport} from '@modelcontextprotocol/sdk/client/sse.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import type {FetchLike} from '@modelcontextprotocol/sdk/shared/transport.js';
import {CreateMessageRequestSchema, type CallToolResult, type JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {pino} from 'pino';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startRouter, type RunningRouter} from '../../router/cli.js';
import type {Peers} from '../../router/replicas/peers.js';
import {signSessionId} from '../../router/replicas/session-id.js';
import {freePort, startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {INITIALIZE, MCP_HEADERS, recording, writeConfig} from '../support/router.js';

const KEY = Buffer.from('a session key shared by the three routers, 32+ bytes');

/** A fake of the EndpointSlice peers: the ready endpoints are what the test says they are. */
class FakePeers implements Peers {
  readonly ready = new Set<string>();
  readonly synced = true;
  isReadyEndpoint(address: string): boolean {
    return this.ready.has(address);
  }
  readyPeer(self: string): string | undefined {
    return [...this.ready].find((address) => address !== self);
  }
  close(): void {}
}

let upstream: HttpMcpServer;
const peers = new FakePeers();
let routers: (RunningRouter & {url: string})[] = [];

beforeAll(async () => {
  upstream = await startEverythingHttp('streamableHttp');
  const config = await writeConfig({mcpServers: {everything: {type: 'http', url: upstream.url}}});
  routers = await Promise.all(
    [0, 1, 2].map(async () => {
      const port = await freePort();
      const running = await startRouter(
        {config, transport: 'http', host: '127.0.0.1', port},
        pino({level: process.env.TEST_LOG_LEVEL ?? 'error'}),
        {advertiseAddress: '127.0.0.1', keys: [KEY], peers},
      );
      await running.router.start();
      peers.ready.add(`127.0.0.1:${port}`);
      return running as RunningRouter & {url: string};
    }),
  );
});

afterAll(async () => {
  await Promise.all(routers.map((r) => r.stop()));
  await upstream?.stop();
});

/** A fetch that sends each request to the next router in turn, as a Service without session affinity may. */
function roundRobin(urls: string[]): FetchLike {
  let next = 0;
  return (input, init) => {
    const url = new URL(input);
    url.host = new URL(urls[next++ % urls.length] as string).host;
    return fetch(url, init);
  };
}

/** The SDK client on `path`, its requests round-robin over `urls`, with the raw messages it received. */
async function connectRoundRobin(
  path: '/mcp' | '/sse',
  urls: string[],
): Promise<{client: Client; received: JSONRPCMessage[]}> {
  const target = new URL(`${urls[0]}${path}`);
  const fetchLike = roundRobin(urls);
  const transport =
    path === '/sse'
      ? new SSEClientTransport(target, {fetch: fetchLike, eventSourceInit: {fetch: fetchLike}})
      : new StreamableHTTPClientTransport(target, {fetch: fetchLike});
  const client = new Client({name: 'round-robin', version: '1.0.0'}, {capabilities: {sampling: {}}});
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    model: 'test-model',
    role: 'assistant',
    content: {type: 'text', text: 'sampled across pods'},
  }));
  const recorded = recording(transport);
  await client.connect(recorded.transport);
  return {client, received: recorded.received};
}

const text = (result: unknown) =>
  ((result as CallToolResult).content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/** The sum of a counter's samples over every router, from what each serves on /metrics. */
async function counterSum(name: string, labels = ''): Promise<number> {
  let sum = 0;
  for (const router of routers) {
    const metrics = await (await fetch(`${router.url}/metrics`)).text();
    for (const line of metrics.split('\n'))
      if (line.startsWith(`${name}{`) && line.includes(labels)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

const urls = () => routers.map((r) => r.url);

describe.each([
  ['Streamable HTTP', '/mcp' as const],
  ['SSE', '/sse' as const],
])('a %s session whose requests go round-robin over three routers', (_name, path) => {
  it('answers every call, with its progress and sampling, and the routers forwarded requests to the owner', async () => {
    const before = await counterSum('mcp_router_forwarded_requests_total');
    const {client, received} = await connectRoundRobin(path, urls());
    try {
      for (let i = 0; i < 6; i++) {
        const sum = await client.callTool({name: 'everything__get-sum', arguments: {a: i, b: 1}});
        expect(text(sum)).toBe(`The sum of ${i} and 1 is ${i + 1}.`);
      }
      const long = await client.callTool(
        {name: 'everything__trigger-long-running-operation', arguments: {duration: 1, steps: 4}},
        undefined,
        {onprogress: () => undefined},
      );
      expect(text(long)).toContain('Long running operation completed');
      // As the wire carried them (the SDK client's onprogress misses a last one that comes with the result).
      const progress = received.filter((m) => 'method' in m && m.method === 'notifications/progress');
      expect(progress.map((m) => (m as {params?: {progress?: number}}).params?.progress)).toEqual([1, 2, 3, 4]);
      const sampled = await client.callTool({
        name: 'everything__trigger-sampling-request',
        arguments: {prompt: 'say something', maxTokens: 20},
      });
      expect(text(sampled)).toContain('sampled across pods');
    } finally {
      await client.close();
    }
    expect(await counterSum('mcp_router_forwarded_requests_total')).toBeGreaterThan(before + 3);
  });
});

describe('session ids between replicas', () => {
  /** A new Streamable HTTP session on `url`; its id. */
  const initialize = async (url: string) => {
    const response = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: JSON.stringify(INITIALIZE),
    });
    await response.body?.cancel();
    return response.headers.get('mcp-session-id') as string;
  };
  const ping = (url: string, id: string) =>
    fetch(`${url}/mcp`, {
      method: 'POST',
      headers: {...MCP_HEADERS, 'mcp-session-id': id},
      body: JSON.stringify({jsonrpc: '2.0', id: 7, method: 'ping'}),
    });

  it('a forged or tampered session id gets 404 on every router', async () => {
    const id = await initialize(routers[0]!.url);
    expect((await ping(routers[1]!.url, id)).status).toBe(200);
    const [owner, nonce, mac] = id.split('.') as [string, string, string];
    const tampered = `${owner}.${nonce}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    const otherKey = signSessionId(`127.0.0.1:${new URL(routers[0]!.url).port}`, Buffer.alloc(32, 7));
    const steered = `${Buffer.from(`127.0.0.1:${new URL(routers[2]!.url).port}`).toString('base64url')}.${nonce}.${mac}`;
    for (const forged of [tampered, otherKey, steered, 'not-a-session', id.toUpperCase()])
      for (const router of routers) expect((await ping(router.url, forged)).status, forged).toBe(404);
    expect(await counterSum('mcp_router_forward_failures_total', 'reason="invalid_id"')).toBeGreaterThan(0);
  });

  it('refuses to forward to an address that is not a current ready endpoint', async () => {
    let reached = 0;
    const stranger: Server = createServer((_req, res) => {
      reached++;
      res.end();
    });
    await new Promise<void>((resolve) => stranger.listen(0, '127.0.0.1', resolve));
    try {
      const address = `127.0.0.1:${(stranger.address() as AddressInfo).port}`;
      // Signed with the pods' key (a pod that was once a peer), but not in the peer list now.
      const id = signSessionId(address, KEY);
      for (const router of routers) expect((await ping(router.url, id)).status).toBe(404);
      expect(reached).toBe(0);
      expect(await counterSum('mcp_router_forward_failures_total', 'reason="not_ready_endpoint"')).toBeGreaterThan(0);
    } finally {
      stranger.close();
    }
  });

  it('a router that is no ready endpoint any more (terminating) hands new sessions to a peer and closes connections', async () => {
    const leaving = routers[0]!;
    const address = new URL(leaving.url).host;
    const own = await initialize(leaving.url);
    peers.ready.delete(address);
    try {
      const response = await fetch(`${leaving.url}/mcp`, {
        method: 'POST',
        headers: MCP_HEADERS,
        body: JSON.stringify(INITIALIZE),
      });
      await response.body?.cancel();
      expect(response.status).toBe(200);
      expect(response.headers.get('connection')).toBe('close');
      const owner = Buffer.from(String(response.headers.get('mcp-session-id')).split('.')[0]!, 'base64url').toString();
      expect(owner).not.toBe(address);
      expect(peers.ready.has(owner)).toBe(true);
      // Its own sessions are still served until it drains.
      expect((await ping(leaving.url, own)).status).toBe(200);
    } finally {
      peers.ready.add(address);
    }
  });

  it('a session whose router is gone gets 404 from the others, and a new session works', async () => {
    const gone = routers.pop() as RunningRouter & {url: string};
    const id = await initialize(gone.url);
    expect((await ping(routers[0]!.url, id)).status).toBe(200);
    await gone.stop();
    // Not yet out of the peer list (an EndpointSlice a moment behind): the owner does not answer, 404 all the same.
    expect((await ping(routers[0]!.url, id)).status).toBe(404);
    peers.ready.delete(new URL(gone.url).host);
    expect((await ping(routers[1]!.url, id)).status).toBe(404);
    const again = await initialize(routers[1]!.url);
    expect((await ping(routers[0]!.url, again)).status).toBe(200);
  });
});
