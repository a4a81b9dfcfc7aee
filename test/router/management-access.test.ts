import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

// The management upstream under access rules (static bearer tokens): it exists only for principals granted the
// upstream "router"; what they see and call through it is what their rules grant; only admins register.
const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  operator: 'operator-token-0123456789abcdef',
  reader: 'reader-token-0123456789abcdef',
  health: 'health-token-0123456789abcdef',
};
const stdio = (name: 'server-everything' | 'server-memory') => ({
  command: process.execPath,
  args: [serverEntry(name), ...(name === 'server-everything' ? ['stdio'] : [])],
});

let router: Awaited<ReturnType<typeof startTestRouter>>;
beforeAll(async () => {
  router = await startTestRouter({
    mcpServers: {everything: stdio('server-everything'), memory: stdio('server-memory')},
    router: {
      auth: {
        bearerTokens: Object.entries(TOKENS).map(([principal, token]) => ({principal, token})),
      },
      access: [
        {principals: ['admin'], upstreams: ['*']},
        {principals: ['operator'], upstreams: ['everything', 'router'], tools: {exclude: ['get-env']}},
        {principals: ['reader'], upstreams: ['everything']},
        {principals: ['health'], upstreams: ['router'], tools: {include: ['get_upstream_health']}},
      ],
      management: {enabled: true, register: true, admins: ['admin']},
    },
  });
});
afterAll(() => router?.stop());

const as = (principal: keyof typeof TOKENS) => ({authorization: `Bearer ${TOKENS[principal]}`});
const connectAs = (principal: keyof typeof TOKENS) => connectClient(`${router.url}/mcp`, {headers: as(principal)});

describe('the management upstream under access rules', () => {
  it('is hidden from a principal without a grant for it: no tools, GET /upstreams 404, /mcp/router 403', async () => {
    const {client, close} = await connectAs('reader');
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('everything__echo');
      expect(names.filter((n) => n.startsWith('router__'))).toEqual([]);
      const call = await client
        .callTool({name: 'router__list_upstreams', arguments: {}})
        .catch((error: Error) => error.message);
      expect(call).toContain('Access denied');
    } finally {
      await close();
    }
    expect((await fetch(`${router.url}/upstreams`, {headers: as('reader')})).status).toBe(404);
    // GET /upstreams is list_upstreams: a grant of the router upstream without that tool does not open it.
    expect((await fetch(`${router.url}/upstreams`, {headers: as('health')})).status).toBe(404);
    expect((await fetch(`${router.url}/upstreams`)).status).toBe(401);
    const single = await fetch(`${router.url}/mcp/router`, {method: 'POST', headers: as('reader')});
    expect(single.status).toBe(403);
  });

  it('shows a granted principal only the upstreams it may use, and no register tools unless it is an admin', async () => {
    const {client, close} = await connectAs('operator');
    try {
      const names = (await client.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith('router__'));
      expect(names.sort()).toEqual([
        'router__call_upstream_tool',
        'router__get_upstream_health',
        'router__list_upstreams',
      ]);
      const listed = await client.callTool({name: 'router__list_upstreams', arguments: {}});
      const upstreams = (listed.structuredContent as {upstreams: {name: string}[]}).upstreams.map((u) => u.name);
      expect(upstreams).toEqual(['everything', 'router']);
      const body = (await (await fetch(`${router.url}/upstreams`, {headers: as('operator')})).json()) as {
        upstreams: {name: string}[];
      };
      expect(body.upstreams.map((u) => u.name)).toEqual(['everything', 'router']);
    } finally {
      await close();
    }
    const admin = await connectAs('admin');
    try {
      const names = (await admin.client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('router__register_upstream');
      expect(names).toContain('router__remove_upstream');
    } finally {
      await admin.close();
    }
  });

  it('call_upstream_tool does not reach an upstream or a tool that the rules deny the principal (regression)', async () => {
    const {client, close} = await connectAs('operator');
    const call = (upstream: string, tool: string) =>
      client.callTool({name: 'router__call_upstream_tool', arguments: {upstream, tool, arguments: {}}});
    try {
      expect(await call('memory', 'read_graph')).toMatchObject({
        isError: true,
        content: [{type: 'text', text: 'Unknown upstream "memory"'}],
      });
      const denied = await call('everything', 'get-env');
      expect(denied.isError).toBe(true);
      expect(JSON.stringify(denied.content)).toContain('Access denied: tool \\"get-env\\"');
      expect(JSON.stringify(denied.content)).not.toContain('PATH');
      const sum = await client.callTool({
        name: 'router__call_upstream_tool',
        arguments: {upstream: 'everything', tool: 'get-sum', arguments: {a: 2, b: 3}},
      });
      expect(JSON.stringify(sum.content)).toContain('5');
    } finally {
      await close();
    }
  });
});
