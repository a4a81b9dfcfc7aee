import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {
  capturedLogger,
  connectClient,
  INITIALIZE,
  MCP_HEADERS,
  postInitialize,
  startLoggedRouter,
} from '../support/router.js';

// Access rules through the real router: each principal (static bearer tokens here; JWTs in auth-jwt.test.ts) sees and
// calls exactly what its rules grant, on /mcp, /mcp/{upstream} and /sse; a session belongs to whoever opened it; every
// routed request leaves one audit line.
const TOKENS = {
  'ci-bot': 'ci-bot-token-0123456789abcdef',
  reader: 'reader-token-0123456789abcdef',
  stranger: 'stranger-token-0123456789abcdef',
};
const everything = () => ({command: process.execPath, args: [serverEntry('server-everything'), 'stdio']});
const memory = () => ({command: process.execPath, args: [serverEntry('server-memory')]});

const captured = capturedLogger('info');
let router: Awaited<ReturnType<typeof startLoggedRouter>>;

beforeAll(async () => {
  process.env.TEST_CI_BOT_TOKEN = TOKENS['ci-bot'];
  router = await startLoggedRouter(
    {
      mcpServers: {everything: everything(), memory: memory()},
      router: {
        auth: {
          bearerTokens: [
            {principal: 'ci-bot', token: '${TEST_CI_BOT_TOKEN}'},
            {principal: 'reader', token: TOKENS.reader},
            {principal: 'stranger', token: TOKENS.stranger},
          ],
        },
        access: [
          {principals: ['ci-bot'], upstreams: ['everything'], tools: {include: ['*'], exclude: ['get-env']}},
          {
            principals: ['reader'],
            upstreams: ['everything', 'memory'],
            tools: {annotations: {readOnlyHint: true}, exclude: ['get-env']},
            prompts: {include: []},
            resources: {include: ['demo://resource/static/document/*']},
          },
        ],
      },
    },
    captured.log,
  );
});
afterAll(() => router?.stop());

const as = (principal: keyof typeof TOKENS) => ({authorization: `Bearer ${TOKENS[principal]}`});
const connectAs = (principal: keyof typeof TOKENS, path: string) =>
  connectClient(`${router.url}${path}`, {headers: as(principal)});

async function toolNames(principal: keyof typeof TOKENS, path: string): Promise<string[]> {
  const {client, close} = await connectAs(principal, path);
  try {
    return (await client.listTools()).tools.map((t) => t.name).sort();
  } finally {
    await close();
  }
}

describe('what each principal sees', () => {
  it.each(['/mcp', '/sse'])('ci-bot sees the tools of everything but get-env, prefixed, on %s', async (path) => {
    const names = await toolNames('ci-bot', path);
    expect(names).toContain('everything__echo');
    expect(names).toContain('everything__trigger-long-running-operation');
    expect(names).not.toContain('everything__get-env');
    expect(names.filter((n) => !n.startsWith('everything__'))).toEqual([]);
  });

  it.each(['/mcp/everything', '/sse/everything'])('the same rules hold on %s, with names unchanged', async (path) => {
    const names = await toolNames('ci-bot', path);
    expect(names).toContain('echo');
    expect(names).not.toContain('get-env');
  });

  it('reader sees only tools annotated readOnlyHint: true, no prompts, only the resources its globs match', async () => {
    const {client, close} = await connectAs('reader', '/mcp');
    try {
      const tools = (await client.listTools()).tools;
      expect(tools.length).toBeGreaterThan(0);
      expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
      expect(tools.map((t) => t.name)).toContain('everything__echo');
      expect(tools.map((t) => t.name)).not.toContain('everything__toggle-subscriber-updates');
      expect((await client.listPrompts()).prompts).toEqual([]);
      const uris = (await client.listResources()).resources.map((r) => r.uri);
      expect(uris.length).toBeGreaterThan(0);
      expect(uris.every((uri) => uri.startsWith('demo://resource/static/document/'))).toBe(true);
    } finally {
      await close();
    }
  });
});

describe('what each principal may call', () => {
  it('a granted tool answers as the upstream does', async () => {
    const {client, close} = await connectAs('ci-bot', '/mcp');
    try {
      const result = await client.callTool({name: 'everything__echo', arguments: {message: 'hi'}});
      expect(result.content).toEqual([{type: 'text', text: 'Echo: hi'}]);
    } finally {
      await close();
    }
  });

  it.each([
    ['/mcp', 'everything__get-env'],
    ['/mcp', 'everything__no-such-tool'],
    ['/mcp', 'memory__read_graph'],
    ['/mcp/everything', 'get-env'],
    ['/sse', 'everything__get-env'],
  ])('on %s, %s fails with "Access denied" that names only what the client sent', async (path, name) => {
    const {client, close} = await connectAs('ci-bot', path);
    try {
      await expect(client.callTool({name, arguments: {}})).rejects.toThrow(`Access denied: tool "${name}"`);
    } finally {
      await close();
    }
  });

  it('a resource outside the globs cannot be read, even by its URI', async () => {
    const {client, close} = await connectAs('reader', '/mcp');
    try {
      await expect(client.readResource({uri: 'demo://resource/dynamic/text/1'})).rejects.toThrow('Access denied');
      const read = await client.readResource({uri: 'demo://resource/static/document/architecture.md'});
      expect(read.contents[0]?.uri).toBe('demo://resource/static/document/architecture.md');
    } finally {
      await close();
    }
  });

  it.each([
    ['an upstream path the principal has no rule for', 'ci-bot', '/mcp/memory'],
    ['a principal that no rule is for (deny by default), aggregate', 'stranger', '/mcp'],
    ['a principal that no rule is for, per upstream', 'stranger', '/mcp/everything'],
    ['a principal that no rule is for, SSE', 'stranger', '/sse'],
  ] as const)('%s: 403 with insufficient_scope', async (_what, principal, path) => {
    const response = await fetch(`${router.url}${path}`, {
      method: path.startsWith('/sse') ? 'GET' : 'POST',
      headers: {...MCP_HEADERS, ...as(principal)},
      ...(!path.startsWith('/sse') && {body: JSON.stringify(INITIALIZE)}),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(await response.json()).toMatchObject({error: {message: 'Forbidden: access denied'}});
  });
});

describe('sessions belong to the principal that opened them', () => {
  const initialize = INITIALIZE;
  const headers = MCP_HEADERS;

  it('a Streamable HTTP session used by another principal gets 404, as if it did not exist', async () => {
    const opened = await fetch(`${router.url}/mcp`, {
      method: 'POST',
      headers: {...headers, ...as('ci-bot')},
      body: JSON.stringify(initialize),
    });
    const session = opened.headers.get('mcp-session-id') as string;
    expect(session).toBeTruthy();
    const list = JSON.stringify({jsonrpc: '2.0', id: 2, method: 'tools/list'});
    const takeover = await fetch(`${router.url}/mcp`, {
      method: 'POST',
      headers: {...headers, ...as('reader'), 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25'},
      body: list,
    });
    expect(takeover.status).toBe(404);
    expect(await takeover.json()).toMatchObject({error: {message: 'Session not found'}});
    const owner = await fetch(`${router.url}/mcp`, {
      method: 'DELETE',
      headers: {...as('ci-bot'), 'mcp-session-id': session},
    });
    expect(owner.status).toBe(200);
    expect(captured.text()).not.toContain(session);
  });

  it('an SSE session posted to by another principal gets 404', async () => {
    const stream = new AbortController();
    const opened = await fetch(`${router.url}/sse`, {headers: as('ci-bot'), signal: stream.signal});
    const reader = (opened.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!/sessionId=([^\s]+)/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const session = (/sessionId=([^\s]+)/.exec(text) as RegExpExecArray)[1] as string;
    const post = (principal: keyof typeof TOKENS, body: unknown) =>
      fetch(`${router.url}/message?sessionId=${session}`, {
        method: 'POST',
        headers: {...headers, ...as(principal)},
        body: JSON.stringify(body),
      });
    try {
      expect((await post('reader', initialize)).status).toBe(404);
      expect((await post('ci-bot', initialize)).status).toBe(202);
      expect(captured.text()).not.toContain(session);
    } finally {
      stream.abort();
    }
  });
});

describe('audit log', () => {
  it('writes one line per routed request, with principal, session tag, method, name, upstream, outcome, duration', async () => {
    const {client, close} = await connectAs('ci-bot', '/mcp');
    try {
      await client.callTool({name: 'everything__echo', arguments: {message: 'audited'}});
      await client.callTool({name: 'everything__get-env', arguments: {}}).catch(() => undefined);
    } finally {
      await close();
    }
    const audit = captured.lines().filter((line) => line.component === 'audit');
    const rawAudit = captured
      .text()
      .split('\n')
      .filter((line) => line.includes('"Routed request"'));
    expect(rawAudit.length).toBeGreaterThan(0);
    expect(rawAudit.every((line) => line.split('"component"').length === 2)).toBe(true);
    expect(audit.every((line) => line.msg === 'Routed request')).toBe(true);
    const echo = audit.filter((line) => line.name === 'everything__echo' && line.principal === 'ci-bot').at(-1);
    expect(echo).toMatchObject({
      principal: 'ci-bot',
      method: 'tools/call',
      name: 'everything__echo',
      upstream: 'everything',
      outcome: 'ok',
    });
    expect(echo?.session).toMatch(/^[0-9a-f]{12}$/);
    expect(typeof echo?.durationMs).toBe('number');
    expect(echo).not.toHaveProperty('arguments');
    expect(JSON.stringify(audit)).not.toContain('audited');
    const denied = audit.filter((line) => line.name === 'everything__get-env').at(-1);
    expect(denied).toMatchObject({principal: 'ci-bot', method: 'tools/call', outcome: 'denied'});
    expect(denied).not.toHaveProperty('upstream');
  });

  it('never writes a token', () => {
    for (const token of Object.values(TOKENS)) expect(captured.text()).not.toContain(token);
  });
});

describe('auth without access rules', () => {
  it('starts, warns that every principal is refused, and refuses them with 403', async () => {
    const log = capturedLogger('warn');
    const lonely = await startLoggedRouter(
      {
        mcpServers: {everything: everything()},
        router: {auth: {bearerTokens: [{principal: 'ci-bot', token: TOKENS['ci-bot']}]}},
      },
      log.log,
    );
    try {
      expect(log.lines().map((line) => line.msg)).toContain(
        'Configured auth without access rules: every principal is refused (403) until a rule names it',
      );
      expect((await postInitialize(`${lonely.url}/mcp`, as('ci-bot'))).status).toBe(403);
    } finally {
      await lonely.stop();
    }
  });
});
