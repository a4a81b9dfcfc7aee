/**
 * Three router processes' worth of routers on 127.0.0.1, sharing a session key, with a fake peer list standing in for
 * the EndpointSlices of their Service (no Kubernetes here): a client whose requests go round-robin over them, as
 * through a Service without session affinity, keeps its session, its progress and its sampling; a 2026-07-28 client
 * whose retry of an input_required round, or read of a cut result, lands on another router than the one holding it
 * gets its answer from that router.
 */
import {Agent, createServer, request as httpRequest, type IncomingMessage, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {SSEClientTransport} from '@modelcontextprotocol/sdk/client/sse.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {Client as ModernClient, StreamableHTTPClientTransport as ModernTransport} from '@modelcontextprotocol/client';
import type {FetchLike} from '@modelcontextprotocol/sdk/shared/transport.js';
import {CreateMessageRequestSchema, type CallToolResult, type JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {pino} from 'pino';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startRouter, type RunningRouter} from '../../router/cli.js';
import {ReadyWaiters, type Peers} from '../../router/replicas/peers.js';
import {signSessionId} from '../../router/replicas/session-id.js';
import {freePort, startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {INITIALIZE, MCP_HEADERS, recording, writeConfig} from '../support/router.js';

const KEY = Buffer.from('a session key shared by the three routers, 32+ bytes');

/** A fake of the EndpointSlice peers: the ready and starting endpoints are what the test says they are. */
class FakePeers implements Peers {
  readonly ready = new Set<string>();
  readonly starting = new Set<string>();
  readonly synced = true;
  readonly #waiters = new ReadyWaiters();
  #closed = false;
  isReadyEndpoint(address: string): boolean {
    return this.ready.has(address);
  }
  isStarting(address: string): boolean {
    return this.starting.has(address);
  }
  whenReady(address: string, timeoutMs: number): Promise<boolean> {
    return this.ready.has(address) ? Promise.resolve(true) : this.#waiters.wait(address, timeoutMs);
  }
  /** `address` becomes ready in this view, as an EndpointSlice update would say; a closed view no longer changes. */
  becomeReady(address: string): void {
    if (this.#closed) return;
    this.starting.delete(address);
    this.ready.add(address);
    this.#waiters.update((a) => this.ready.has(a));
  }
  readyPeer(self: string): string | undefined {
    return [...this.ready].find((address) => address !== self);
  }
  /** Stops watching, as `Peers.close` does: waiters get false, and the view stays as it was. */
  close(): void {
    this.#closed = true;
    this.#waiters.close();
  }
}

let upstream: HttpMcpServer;
const peers = new FakePeers();
let routers: (RunningRouter & {url: string})[] = [];

beforeAll(async () => {
  upstream = await startEverythingHttp('streamableHttp');
  // Output caps on, so that a long echo is cut and kept on the router that answered it.
  const config = await writeConfig({
    mcpServers: {everything: {type: 'http', url: upstream.url, output: {maxResultBytes: 1024}}},
  });
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

/** A new Streamable HTTP session on `url`; its id. */
async function initialize(url: string): Promise<string> {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: MCP_HEADERS,
    body: JSON.stringify(INITIALIZE),
  });
  await response.body?.cancel();
  return response.headers.get('mcp-session-id') as string;
}

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

/** The head of a `GET /sse` to the router at `url` with the `Host` header `host`; the stream is then closed. */
function openSse(url: string, host: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/sse`, {headers: {host, accept: 'text/event-stream'}}, (response) => {
      resolve(response);
      response.destroy();
    });
    request.on('error', reject).end();
  });
}

/** An HTTP server on loopback that is no router and no peer; it counts the requests that reach it. */
async function startStranger(): Promise<{server: Server; address: string; reached: number}> {
  const stranger = {server: createServer(), address: '', reached: 0};
  stranger.server.on('request', (_req, res) => {
    stranger.reached++;
    res.end();
  });
  await new Promise<void>((resolve) => stranger.server.listen(0, '127.0.0.1', resolve));
  stranger.address = `127.0.0.1:${(stranger.server.address() as AddressInfo).port}`;
  return stranger;
}

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
    const stranger = await startStranger();
    try {
      const {address} = stranger;
      // Signed with the pods' key (a pod that was once a peer), but not in the peer list now.
      const id = signSessionId(address, KEY);
      for (const router of routers) expect((await ping(router.url, id)).status).toBe(404);
      expect(stranger.reached).toBe(0);
      expect(await counterSum('mcp_router_forward_failures_total', 'reason="not_ready_endpoint"')).toBeGreaterThan(0);
    } finally {
      stranger.server.close();
    }
  });

  it('regression: a session on a router that had just become ready got 404 from a peer whose view still had it starting; the peer now waits for its view', async () => {
    const owner = routers[1]!;
    const address = new URL(owner.url).host;
    const id = await initialize(owner.url);
    // The other routers' view lags: the owner is still starting there (its endpoint listed, not ready yet).
    peers.ready.delete(address);
    peers.starting.add(address);
    try {
      const answered = ping(routers[2]!.url, id);
      setTimeout(() => peers.becomeReady(address), 300);
      expect((await answered).status).toBe(200);
      // An owner that stays starting is waited for once, then the session is unknown (404).
      peers.ready.delete(address);
      peers.starting.add(address);
      expect((await ping(routers[2]!.url, id)).status).toBe(404);
    } finally {
      peers.becomeReady(address);
    }
  });

  it('a router that is no ready endpoint any more (terminating) hands new sessions to a peer (SSE streams by redirect) and closes connections', async () => {
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
      // A 2026-07-28 request (stateless) is answered by a peer too: nothing is refused while this router leaves.
      const forwarded = await counterSum('mcp_router_forwarded_requests_total');
      const sum = await modernPost(leaving.url, {
        jsonrpc: '2.0',
        id: 4,
        method: 'tools/call',
        params: {name: 'everything__get-sum', arguments: {a: 2, b: 3}, _meta: MODERN_META},
      });
      expect(sum).toMatchObject({id: 4, result: {content: [{type: 'text', text: 'The sum of 2 and 3 is 5.'}]}});
      expect(await counterSum('mcp_router_forwarded_requests_total')).toBe(forwarded + 1);
      // Its own sessions are still served until it drains.
      expect((await ping(leaving.url, own)).status).toBe(200);
      // A legacy SSE stream is not forwarded (it would end with this router): a client that came through the
      // Service (another Host) opens it again elsewhere.
      const sse = await openSse(leaving.url, 'mcp-router.example:8080');
      expect(sse.statusCode).toBe(307);
      expect(sse.headers.location).toBe('/sse');
      expect(sse.headers.connection).toBe('close');
      // One that named this router's own address would be sent back here: it is served.
      expect((await openSse(leaving.url, address)).statusCode).toBe(200);
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

describe('what a router holds for a 2026-07-28 client, asked for on another router', () => {
  /** The owner (`host:port`) an owned id names (the id is opaque to clients; the test decodes it). */
  const ownerOf = (id: string) => Buffer.from(id.split('.')[0] as string, 'base64url').toString();

  /**
   * A 2.x client in auto mode (it negotiates 2026-07-28) on the first router, whose retries (requests carrying a
   * requestState) go to a router that is not the state's owner, rewritten by `tamper` on the way; `steered` counts
   * them.
   */
  async function steeredClient(tamper: (state: string) => string = (state) => state) {
    const steered: {from: string; to: string}[] = [];
    const fetchSteered = async (input: string | URL, init?: RequestInit) => {
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as {params?: {requestState?: string}}) : {};
      const state = body.params?.requestState;
      if (state === undefined) return fetch(input, init);
      const owner = ownerOf(state);
      const other = routers.find((r) => new URL(r.url).host !== owner) as RunningRouter & {url: string};
      const url = new URL(input);
      url.host = new URL(other.url).host;
      steered.push({from: owner, to: url.host});
      (body.params as {requestState: string}).requestState = tamper(state);
      return fetch(url, {...init, body: JSON.stringify(body)});
    };
    const client = new ModernClient(
      {name: 'steered-modern', version: '2.0.0'},
      {versionNegotiation: {mode: 'auto'}, capabilities: {sampling: {}}},
    );
    client.setRequestHandler('sampling/createMessage', async () => ({
      model: 'test-model',
      role: 'assistant',
      content: {type: 'text', text: 'sampled on another pod'},
    }));
    await client.connect(new ModernTransport(new URL(`${routers[0]!.url}/mcp`), {fetch: fetchSteered}));
    return {client, steered};
  }

  it('completes an input_required round whose retry lands on a router that does not hold it (sampling from a 2025 upstream)', async () => {
    const before = await counterSum('mcp_router_forwarded_requests_total');
    const {client, steered} = await steeredClient();
    try {
      const sampled = await client.callTool({
        name: 'everything__trigger-sampling-request',
        arguments: {prompt: 'say something', maxTokens: 20},
      });
      expect(text(sampled)).toContain('sampled on another pod');
    } finally {
      await client.close();
    }
    expect(steered.length).toBeGreaterThan(0);
    for (const {from, to} of steered) expect(to).not.toBe(from);
    expect(await counterSum('mcp_router_forwarded_requests_total')).toBeGreaterThanOrEqual(before + steered.length);
  });

  it('refuses a tampered requestState (-32602) on a router that does not hold it', async () => {
    const {client, steered} = await steeredClient((state) => {
      const [owner, nonce, mac] = state.split('.') as [string, string, string];
      return `${owner}.${nonce}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    });
    try {
      await expect(
        client.callTool({name: 'everything__trigger-sampling-request', arguments: {prompt: 'x', maxTokens: 5}}),
      ).rejects.toThrow(/Unknown or expired requestState/);
      expect(steered).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it("passes back the owner's refusal of a signed requestState it does not hold", async () => {
    const owner = routers[0]!;
    const state = signSessionId(new URL(owner.url).host, KEY, undefined, 'requestState');
    const before = await counterSum('mcp_router_forwarded_requests_total');
    const answer = await modernPost(routers[1]!.url, {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: {name: 'everything__get-sum', arguments: {a: 1, b: 2}, requestState: state, _meta: MODERN_META},
    });
    expect(answer).toMatchObject({id: 3, error: {code: -32602, message: 'Unknown or expired requestState'}});
    expect(await counterSum('mcp_router_forwarded_requests_total')).toBe(before + 1);
  });

  it('refuses a requestState whose owner is not a ready endpoint, without reaching that address', async () => {
    const stranger = await startStranger();
    try {
      const {address} = stranger;
      // Signed with the pods' key (a pod that was once a peer), but not in the peer list now.
      const state = signSessionId(address, KEY, undefined, 'requestState');
      const before = await counterSum('mcp_router_forward_failures_total', 'reason="not_ready_endpoint"');
      for (const router of routers) {
        const answer = await modernPost(router.url, {
          jsonrpc: '2.0',
          id: 5,
          method: 'tools/call',
          params: {name: 'everything__get-sum', arguments: {a: 1, b: 2}, requestState: state, _meta: MODERN_META},
        });
        expect(answer).toEqual({
          jsonrpc: '2.0',
          id: 5,
          error: {code: -32602, message: 'Unknown or expired requestState'},
        });
      }
      expect(stranger.reached).toBe(0);
      expect(await counterSum('mcp_router_forward_failures_total', 'reason="not_ready_endpoint"')).toBe(
        before + routers.length,
      );
    } finally {
      stranger.server.close();
    }
  });

  it('reads a cut result on a router that did not cut it, with resources/read and read_result', async () => {
    const cutOn = routers[1]!;
    const connect = async (url: string) => {
      const client = new ModernClient({name: 'reader', version: '2.0.0'}, {versionNegotiation: {mode: 'auto'}});
      await client.connect(new ModernTransport(new URL(`${url}/mcp`)));
      return client;
    };
    const cutter = await connect(cutOn.url);
    const reader = await connect(routers.find((r) => r !== cutOn)!.url);
    try {
      const message = 'x'.repeat(5000);
      const cut = await cutter.callTool({name: 'everything__echo', arguments: {message}});
      const uri = /router:\/\/results\/[A-Za-z0-9_.-]+/.exec(text(cut))?.[0] as string;
      expect(uri).toBeDefined();
      expect(ownerOf(uri.slice('router://results/'.length))).toBe(new URL(cutOn.url).host);
      const read = await reader.readResource({uri});
      expect((read.contents[0] as {text: string}).text).toBe(`Echo: ${message}`);
      const range = await reader.callTool({name: 'read_result', arguments: {uri, offset: 6, length: 100}});
      expect(text(range)).toBe('x'.repeat(100));
    } finally {
      await cutter.close();
      await reader.close();
    }
  });
});

describe('a router that drains while clients still hold kept-alive connections to it', () => {
  it("regression: a new client's next request, on a kept-alive connection to a draining pod, got 404 for a session of a pod that had turned ready since; the pod's view now stays current until its connections close", async () => {
    const owner = routers[1]!;
    const ownerAddress = new URL(owner.url).host;
    const config = await writeConfig({mcpServers: {everything: {type: 'http', url: upstream.url}}});
    const port = await freePort();
    // The draining pod's own view: the session's owner is still starting there.
    const view = new FakePeers();
    view.ready.add(`127.0.0.1:${port}`);
    view.starting.add(ownerAddress);
    const leaving = (await startRouter(
      {config, transport: 'http', host: '127.0.0.1', port},
      pino({level: process.env.TEST_LOG_LEVEL ?? 'error'}),
      {advertiseAddress: '127.0.0.1', keys: [KEY], peers: view},
    )) as RunningRouter & {url: string};
    await leaving.router.start();
    const agent = new Agent({keepAlive: true, maxSockets: 1});
    const post = (path: string, body: object, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const sent = httpRequest(`${leaving.url}${path}`, {
          method: 'POST',
          agent,
          headers: {...MCP_HEADERS, ...headers},
        });
        sent.on('response', (response) => response.resume().on('end', () => resolve(response.statusCode ?? 0)));
        sent.on('error', reject);
        sent.end(JSON.stringify(body));
      });
    try {
      // A client's kept-alive connection to the pod, opened before SIGTERM (its session is on the owner).
      const session = {'mcp-session-id': await initialize(owner.url)};
      const healthy = await new Promise<number>((resolve, reject) =>
        httpRequest(`${leaving.url}/healthz`, {agent}, (response) =>
          response.resume().on('end', () => resolve(response.statusCode ?? 0)),
        )
          .on('error', reject)
          .end(),
      );
      expect(healthy).toBe(200);
      const stopped = leaving.stop();
      await new Promise((resolve) => setTimeout(resolve, 300));
      // SIGTERM is past, its sessions are closed; the owner turns ready, and the client's next request comes.
      view.becomeReady(ownerAddress);
      expect(await post('/mcp', {jsonrpc: '2.0', id: 2, method: 'ping'}, session)).toBe(200);
      await stopped;
    } finally {
      agent.destroy();
    }
  });
});

describe('a router that drains while it holds a round for a 2026-07-28 client', () => {
  it('serves the retry, so the call finishes within the grace period like any call in flight', async () => {
    const config = await writeConfig({mcpServers: {everything: {type: 'http', url: upstream.url}}});
    const port = await freePort();
    const running = (await startRouter(
      {config, transport: 'http', host: '127.0.0.1', port},
      pino({level: process.env.TEST_LOG_LEVEL ?? 'error'}),
      {advertiseAddress: '127.0.0.1', keys: [KEY], peers: new FakePeers()},
    )) as RunningRouter & {url: string};
    await running.router.start();
    let stopped: Promise<void> | undefined;
    const client = new ModernClient(
      {name: 'drained-modern', version: '2.0.0'},
      {versionNegotiation: {mode: 'auto'}, capabilities: {sampling: {}}},
    );
    client.setRequestHandler('sampling/createMessage', async () => {
      // SIGTERM comes while the client answers the round.
      stopped = running.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return {model: 'test-model', role: 'assistant', content: {type: 'text', text: 'answered during the drain'}};
    });
    try {
      await client.connect(new ModernTransport(new URL(`${running.url}/mcp`)));
      const sampled = await client.callTool({
        name: 'everything__trigger-sampling-request',
        arguments: {prompt: 'x', maxTokens: 5},
      });
      expect(text(sampled)).toContain('answered during the drain');
    } finally {
      await client.close();
      await (stopped ?? running.stop());
    }
  });
});

/** The `_meta` envelope of a 2026-07-28 request (MCP 2026-07-28 basic/lifecycle). */
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** A raw 2026-07-28 POST to `/mcp` of `url`; its JSON-RPC answer. */
async function modernPost(
  url: string,
  body: {method: string; params?: {name?: string; [key: string]: unknown}; [key: string]: unknown},
): Promise<unknown> {
  const name = body.params?.name;
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      ...MCP_HEADERS,
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': body.method,
      ...(name !== undefined && {'mcp-name': name}),
    },
    body: JSON.stringify(body),
  });
  return response.json();
}

describe('a router that starts draining while a response is on its way', () => {
  it('does not close a kept-alive connection under the next request sent on it (regression: requests cut during a roll)', async () => {
    const config = await writeConfig({mcpServers: {everything: {type: 'http', url: upstream.url}}});
    const running = (await startRouter(
      {config, transport: 'http', host: '127.0.0.1', port: 0},
      pino({level: process.env.TEST_LOG_LEVEL ?? 'error'}),
    )) as RunningRouter & {url: string};
    await running.router.start();
    // One kept-alive connection: the client sends each request on it once the one before has been answered.
    const agent = new Agent({keepAlive: true, maxSockets: 1});
    const post = (body: object, headers: Record<string, string> = {}) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const sent = httpRequest(`${running.url}/mcp`, {method: 'POST', agent, headers: {...MCP_HEADERS, ...headers}});
        sent.on('response', resolve).on('error', reject);
        sent.end(JSON.stringify(body));
      });
    const text = async (response: IncomingMessage) => {
      let all = '';
      for await (const chunk of response) all += chunk;
      return all;
    };
    try {
      const opened = await post(INITIALIZE);
      await text(opened);
      const session = {'mcp-session-id': String(opened.headers['mcp-session-id'])};
      await text(await post({jsonrpc: '2.0', method: 'notifications/initialized'}, session));
      // A call whose response has started (its headers went out with the first progress) when the router drains.
      const call = await post(
        {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: {
            name: 'everything__trigger-long-running-operation',
            arguments: {duration: 1, steps: 4},
            _meta: {progressToken: 'p'},
          },
        },
        session,
      );
      expect(call.headers.connection).not.toBe('close');
      const stopped = running.stop();
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Queued behind the call: it goes out on the same connection as soon as the call's response has ended.
      const next = post({jsonrpc: '2.0', id: 3, method: 'ping'}, session);
      expect(await text(call)).toContain('Long running operation completed');
      const answered = await next;
      await text(answered);
      expect(answered.headers.connection).toBe('close');
      await stopped;
    } finally {
      agent.destroy();
    }
  });
});
