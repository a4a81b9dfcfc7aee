import {mkdtemp, readFile, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Client as ModernClient, StreamableHTTPClientTransport} from '@modelcontextprotocol/client';
import type {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry, startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {connectClient, startTestRouterOn} from '../support/router.js';

// The built-in management upstream "router" through the real router, with real upstreams: server-everything over stdio
// and over HTTP (the one that is killed), server-memory registered at run time.
const HEALTH_CHECK_SECONDS = 2;
const everything = {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']};

let folder: string;
let victim: HttpMcpServer;
let router: Awaited<ReturnType<typeof startTestRouterOn>>;
let client: Client;
let closeClient: () => Promise<void>;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'management-'));
  victim = await startEverythingHttp('streamableHttp');
  await writeFile(
    join(folder, 'router.json'),
    JSON.stringify({
      mcpServers: {everything, victim: {type: 'http', url: victim.url}},
      router: {healthCheckSeconds: HEALTH_CHECK_SECONDS, management: {enabled: true, register: true}},
    }),
  );
  router = await startTestRouterOn(join(folder, 'router.json'));
  ({client, close: closeClient} = await connectClient(`${router.url}/mcp`));
});
afterAll(async () => {
  await closeClient?.();
  await router?.stop();
  await victim?.stop();
});

interface Report {
  name: string;
  transport: string;
  era: string;
  state: string;
  circuit: string;
  tools: number;
  inFlight: number;
  p50Ms: number | null;
  lastError: string | null;
}

const listUpstreams = async () => {
  const result = await client.callTool({name: 'router__list_upstreams', arguments: {}});
  const structured = result.structuredContent as {upstreams: Report[]};
  expect(JSON.parse((result.content as {text: string}[])[0]?.text ?? '')).toEqual(structured);
  return structured.upstreams;
};
const reportOf = async (name: string) => (await listUpstreams()).find((u) => u.name === name);
const toolNames = async () => (await client.listTools()).tools.map((t) => t.name);

describe('the management upstream', () => {
  it('serves its tools in the aggregate, prefixed, and at /mcp/router, unprefixed', async () => {
    const names = await toolNames();
    for (const tool of ['list_upstreams', 'get_upstream_health', 'call_upstream_tool', 'register_upstream'])
      expect(names).toContain(`router__${tool}`);
    const own = await connectClient(`${router.url}/mcp/router`);
    try {
      expect((await own.client.listTools()).tools.map((t) => t.name).sort()).toEqual([
        'call_upstream_tool',
        'get_upstream_health',
        'list_upstreams',
        'register_upstream',
        'remove_upstream',
      ]);
    } finally {
      await own.close();
    }
  });

  it('list_upstreams reports every upstream, and GET /upstreams the same JSON', async () => {
    const echo = await client.callTool({
      name: 'router__call_upstream_tool',
      arguments: {upstream: 'everything', tool: 'echo', arguments: {message: 'via management'}},
    });
    expect(echo.content).toEqual([{type: 'text', text: 'Echo: via management'}]);

    const upstreams = await listUpstreams();
    expect(upstreams.map((u) => u.name)).toEqual(['everything', 'victim', 'router']);
    const own = upstreams.find((u) => u.name === 'everything') as Report;
    expect(own).toMatchObject({transport: 'stdio', era: 'legacy', state: 'ready', circuit: 'closed', lastError: null});
    expect(own.tools).toBeGreaterThan(5);
    expect(own.p50Ms).toBeGreaterThan(0);
    expect(upstreams.find((u) => u.name === 'victim')).toMatchObject({transport: 'streamableHttp', state: 'ready'});

    const response = await fetch(`${router.url}/upstreams`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {upstreams: Report[]};
    expect(
      body.upstreams.map(({name, transport, state, circuit, tools}) => ({name, transport, state, circuit, tools})),
    ).toEqual(upstreams.map(({name, transport, state, circuit, tools}) => ({name, transport, state, circuit, tools})));
  });

  it('serves a 2026-07-28 client the same tools', async () => {
    const modern = new ModernClient({name: 'modern', version: '2.0.0'}, {versionNegotiation: {mode: 'auto'}});
    await modern.connect(new StreamableHTTPClientTransport(new URL(`${router.url}/mcp`)));
    try {
      expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      const listed = await modern.callTool({name: 'router__list_upstreams', arguments: {}});
      const upstreams = (listed.structuredContent as {upstreams: Report[]}).upstreams;
      expect(upstreams.map((u) => u.name)).toEqual(['everything', 'victim', 'router']);
    } finally {
      await modern.close();
    }
  });

  it('get_upstream_health gives one upstream, and says when there is none by that name', async () => {
    const health = await client.callTool({name: 'router__get_upstream_health', arguments: {name: 'everything'}});
    expect(health.structuredContent).toMatchObject({name: 'everything', session: 'shared', state: 'ready'});
    const unknown = await client.callTool({name: 'router__get_upstream_health', arguments: {name: 'nosuch'}});
    expect(unknown).toMatchObject({isError: true, content: [{type: 'text', text: 'Unknown upstream "nosuch"'}]});
  });

  it('shows a killed upstream as down, with its last error, within one health interval', async () => {
    await victim.stop();
    await expect
      .poll(async () => (await reportOf('victim'))?.state, {timeout: HEALTH_CHECK_SECONDS * 1000, interval: 200})
      .toBe('down');
    expect((await reportOf('victim'))?.lastError).toMatch(/\S/);
  });

  it('register_upstream adds a working upstream without a restart, kept in the overlay file', async () => {
    const registered = await client.callTool({
      name: 'router__register_upstream',
      arguments: {
        name: 'memory',
        server: {
          command: process.execPath,
          args: [serverEntry('server-memory')],
          env: {MEMORY_FILE_PATH: join(folder, 'memory.jsonl')},
        },
      },
    });
    expect(registered.structuredContent).toMatchObject({name: 'memory', state: 'ready'});
    await expect.poll(toolNames, {timeout: 10_000}).toContain('memory__read_graph');
    const graph = await client.callTool({name: 'memory__read_graph', arguments: {}});
    expect(graph.isError).toBeFalsy();
    const overlay = JSON.parse(await readFile(join(folder, 'router.overlay.json'), 'utf8')) as {mcpServers: object};
    expect(Object.keys(overlay.mcpServers)).toEqual(['memory']);
  });

  it('refuses to register a server that is not valid, or under a name in use, saying why', async () => {
    const invalid = await client.callTool({
      name: 'router__register_upstream',
      arguments: {name: 'broken', server: {type: 'http'}},
    });
    expect(invalid.isError).toBe(true);
    expect(JSON.stringify(invalid.content)).toContain('mcpServers.broken.url');
    const odd = await client.callTool({
      name: 'router__register_upstream',
      arguments: {name: '../etc', server: everything},
    });
    expect(odd.isError).toBe(true);
    expect(JSON.stringify(odd.content)).toContain('must match');
    const taken = await client.callTool({
      name: 'router__register_upstream',
      arguments: {name: 'everything', server: everything},
    });
    expect(JSON.stringify(taken.content)).toContain('An upstream named \\"everything\\" exists');
  });

  it('remove_upstream drains an upstream: the call in flight finishes, then its tools are gone', async () => {
    const inFlight = client.callTool({
      name: 'everything__trigger-long-running-operation',
      arguments: {duration: 2, steps: 2},
    });
    await expect.poll(async () => (await reportOf('everything'))?.inFlight, {timeout: 5000}).toBe(1);
    const removed = await client.callTool({name: 'router__remove_upstream', arguments: {name: 'everything'}});
    expect(removed.content).toEqual([{type: 'text', text: 'Removed "everything"'}]);
    expect(JSON.stringify((await inFlight).content)).toContain('Long running operation completed');
    await expect.poll(toolNames, {timeout: 10_000}).not.toContain('everything__echo');
    expect((await listUpstreams()).map((u) => u.name)).toEqual(['victim', 'memory', 'router']);
    const overlay = JSON.parse(await readFile(join(folder, 'router.overlay.json'), 'utf8')) as {removed: string[]};
    expect(overlay.removed).toEqual(['everything']);
  });
});
