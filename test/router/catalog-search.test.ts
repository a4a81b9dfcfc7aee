import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

// router.catalog.mode "search": the aggregate lists only search_tools, call_tool and the pinned tools, and the model
// finds the rest by searching (real server-everything and server-memory behind the router).
const TOKENS = {ops: 'ops-token-0123456789abcdef', notes: 'notes-token-0123456789abcdef'};
let router: Awaited<ReturnType<typeof startTestRouter>>;

beforeAll(async () => {
  router = await startTestRouter({
    mcpServers: {
      everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']},
      memory: {command: process.execPath, args: [serverEntry('server-memory')], env: {MEMORY_FILE_PATH: '/dev/null'}},
    },
    router: {
      catalog: {mode: 'search', pinned: ['memory__read_graph']},
      auth: {bearerTokens: Object.entries(TOKENS).map(([principal, token]) => ({principal, token}))},
      access: [
        {principals: ['ops'], upstreams: ['*']},
        {principals: ['notes'], upstreams: ['memory']},
      ],
    },
  });
});
afterAll(() => router?.stop());

const connectAs = (principal: keyof typeof TOKENS, path = '/mcp') =>
  connectClient(`${router.url}${path}`, {headers: {authorization: `Bearer ${TOKENS[principal]}`}});
type Found = {structuredContent?: {tools: {name: string; inputSchema: object}[]}; content: {text: string}[]};

describe('search mode on the aggregate', () => {
  it('lists only search_tools, call_tool and the pinned tools', async () => {
    const {client, close} = await connectAs('ops');
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
        'search_tools',
        'call_tool',
        'memory__read_graph',
      ]);
    } finally {
      await close();
    }
  });

  it('finds a tool by what it does, with its full definition, and calls it through call_tool', async () => {
    const {client, close} = await connectAs('ops');
    try {
      const found = (await client.callTool({
        name: 'search_tools',
        arguments: {query: 'sum of two numbers', limit: 3},
      })) as Found;
      const tools = found.structuredContent?.tools ?? [];
      expect(tools.length).toBeLessThanOrEqual(3);
      expect(tools[0]).toMatchObject({name: 'everything__get-sum', inputSchema: {type: 'object'}});
      expect(JSON.parse(found.content[0]?.text ?? '{}')).toEqual(found.structuredContent);
      const result = (await client.callTool({
        name: 'call_tool',
        arguments: {name: 'everything__get-sum', arguments: {a: 2, b: 3}},
      })) as Found;
      expect(result.content[0]?.text).toMatch(/5/);
    } finally {
      await close();
    }
  });

  it('never finds a tool the principal may not use', async () => {
    const {client, close} = await connectAs('notes');
    try {
      const found = (await client.callTool({name: 'search_tools', arguments: {query: 'sum of two numbers'}})) as Found;
      expect(found.structuredContent?.tools.every((tool) => tool.name.startsWith('memory__'))).toBe(true);
      const denied = (await client
        .callTool({
          name: 'call_tool',
          arguments: {name: 'everything__get-sum', arguments: {a: 1, b: 1}},
        })
        .catch((error: Error) => error)) as Error;
      expect(denied.message).toMatch(/Access denied: tool "everything__get-sum"/);
    } finally {
      await close();
    }
  });

  it('answers bad arguments with an error that says what is wrong', async () => {
    const {client, close} = await connectAs('ops');
    try {
      await expect(client.callTool({name: 'search_tools', arguments: {limit: 3}})).rejects.toThrow(/needs a query/);
      await expect(client.callTool({name: 'call_tool', arguments: {}})).rejects.toThrow(/needs a tool name/);
    } finally {
      await close();
    }
  });

  it('leaves per-upstream paths listing every tool', async () => {
    const {client, close} = await connectAs('ops', '/mcp/everything');
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('get-sum');
    } finally {
      await close();
    }
  });
});

describe('dynamic mode on the aggregate', () => {
  let dynamic: Awaited<ReturnType<typeof startTestRouter>>;
  beforeAll(async () => {
    dynamic = await startTestRouter({
      mcpServers: {everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']}},
      router: {catalog: {mode: 'dynamic', dynamicTools: 2}},
    });
  });
  afterAll(() => dynamic?.stop());

  it('adds the tools a search finds to the session’s list, says so, and keeps at most dynamicTools of them', async () => {
    const {client, received, close} = await connectClient(`${dynamic.url}/mcp`);
    const changes = () => received.filter((m) => 'method' in m && m.method === 'notifications/tools/list_changed');
    const names = async () => (await client.listTools()).tools.map((tool) => tool.name);
    try {
      expect(await names()).toEqual(['search_tools', 'call_tool']);
      // The upstream's own list changes may come too (server-everything announces tools when it starts): count on.
      const before = changes().length;
      await client.callTool({name: 'search_tools', arguments: {query: 'sum of two numbers', limit: 1}});
      await expect.poll(() => changes().length).toBeGreaterThan(before);
      expect(await names()).toEqual(['search_tools', 'call_tool', 'everything__get-sum']);
      expect((await client.callTool({name: 'everything__get-sum', arguments: {a: 2, b: 3}})).isError).toBeFalsy();
      await client.callTool({name: 'search_tools', arguments: {query: 'echo a message', limit: 1}});
      await client.callTool({name: 'everything__get-sum', arguments: {a: 1, b: 1}});
      await client.callTool({name: 'search_tools', arguments: {query: 'tiny image', limit: 1}});
      const listed = await names();
      expect(listed).toHaveLength(4);
      expect(listed).toEqual(expect.arrayContaining(['everything__get-sum', 'everything__get-tiny-image']));
      expect(listed).not.toContain('everything__echo');
    } finally {
      await close();
    }
  });
});
