import {fileURLToPath} from 'node:url';
import {CallToolResultSchema} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {z} from 'zod';
import {connectClient, startTestRouter} from '../support/router.js';

// What passes between a client and an upstream, seen from a real SDK server that reports what it received (see the
// fixture).
const fixture = fileURLToPath(new URL('../fixtures/probe-server.mjs', import.meta.url));

describe('an upstream without an optional list', () => {
  let router: Awaited<ReturnType<typeof startTestRouter>>;
  beforeAll(async () => {
    router = await startTestRouter({mcpServers: {partial: {command: process.execPath, args: [fixture]}}});
  });
  afterAll(() => router?.stop());

  it('is ready, and lists its tools and resources, and no templates', async () => {
    const readiness = (await (await fetch(`${router.url}/readyz`)).json()) as {upstreams: {state: string}[]};
    expect(readiness.upstreams).toMatchObject([{state: 'ready'}]);
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['partial__request-meta']);
      expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['fixture://only']);
      expect((await client.listResourceTemplates()).resourceTemplates).toEqual([]);
    } finally {
      await close();
    }
  });
});

describe('list results on a per-upstream path', () => {
  let router: Awaited<ReturnType<typeof startTestRouter>>;
  beforeAll(async () => {
    router = await startTestRouter({mcpServers: {probe: {command: process.execPath, args: [fixture]}}});
  });
  afterAll(() => router?.stop());

  it('keep their _meta and unknown fields; the aggregate answers with its own', async () => {
    const listOn = async (path: string) => {
      const {client, close} = await connectClient(`${router.url}${path}`);
      try {
        return await client.request({method: 'resources/list', params: {}}, z.looseObject({}));
      } finally {
        await close();
      }
    };
    expect(await listOn('/mcp/probe')).toEqual({
      resources: [{uri: 'fixture://only', name: 'only'}],
      _meta: {'example.com/listed-by': 'probe'},
      futureField: 'kept',
    });
    expect(await listOn('/mcp')).toEqual({resources: [{uri: 'fixture://only', name: 'only'}]});
  });
});

describe('progress tokens on a per-upstream path', () => {
  let router: Awaited<ReturnType<typeof startTestRouter>>;
  beforeAll(async () => {
    router = await startTestRouter({mcpServers: {probe: {command: process.execPath, args: [fixture]}}});
  });
  afterAll(() => router?.stop());

  const metaOf = async (path: string, meta?: Record<string, unknown>) => {
    const {client, close} = await connectClient(`${router.url}${path}`);
    try {
      const name = path === '/mcp' ? 'probe__request-meta' : 'request-meta';
      const result = await client.request(
        {method: 'tools/call', params: {name, arguments: {}, ...(meta && {_meta: meta})}},
        CallToolResultSchema,
      );
      return JSON.parse((result.content[0] as {text: string}).text) as Record<string, unknown>;
    } finally {
      await close();
    }
  };

  it('a call without a progress token reaches the upstream without one', async () => {
    expect(await metaOf('/mcp/probe')).not.toHaveProperty('progressToken');
  });

  it("a call with a progress token reaches the upstream with one, and the client's other _meta", async () => {
    const meta = await metaOf('/mcp/probe', {progressToken: 'client-token', 'example.com/trace': 'abc'});
    expect(meta.progressToken).toBeDefined();
    expect(meta['example.com/trace']).toBe('abc');
  });

  it('on the aggregate, the router asks for progress itself (its call timeouts restart on progress)', async () => {
    expect((await metaOf('/mcp')).progressToken).toBeDefined();
  });
});
