import {Client, StreamableHTTPClientTransport} from '@modelcontextprotocol/client';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {parseRouterConfig} from '../../router/config/load.js';
import {serverEntry} from '../support/mcp-servers.js';
import {capturedLogger, connectClient, startLoggedRouter} from '../support/router.js';

// Both eras of MCP on one endpoint: a client of the SDK's 2.x line in `auto` mode negotiates 2026-07-28 (stateless:
// `server/discover`, then requests that carry their version in `_meta`) with the router, whatever era its upstreams
// speak; a client of the 1.x line still gets the 2025-11-25 session it asks for. The upstreams are the real
// server-everything (a 2025-era server, over stdio), shared by all clients as `everything`, and one process per
// principal as `notes` (perSession), whose session resources show whose upstream session a request reached.
const TOKENS = {alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdef'};
const captured = capturedLogger('info');
let router: Awaited<ReturnType<typeof startLoggedRouter>>;

const CONFIG = {
  mcpServers: {
    everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']},
    notes: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio'], session: 'perSession'},
  },
  router: {
    auth: {bearerTokens: Object.entries(TOKENS).map(([principal, token]) => ({principal, token}))},
    access: [
      {principals: ['alice'], upstreams: ['everything', 'notes']},
      {principals: ['bob'], upstreams: ['notes']},
    ],
  },
};

beforeAll(async () => {
  router = await startLoggedRouter(CONFIG, captured.log);
});
afterAll(() => router?.stop());

/** A 2.x client in `auto` mode (it probes with `server/discover` and falls back to `initialize`). */
async function modernClient(
  path: string,
  principal: keyof typeof TOKENS = 'alice',
  capabilities = {},
  base = router.url,
) {
  const client = new Client(
    {name: 'modern-test-client', version: '2.0.0'},
    {versionNegotiation: {mode: 'auto'}, capabilities},
  );
  const headers = {authorization: `Bearer ${TOKENS[principal]}`};
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}${path}`), {requestInit: {headers}}));
  return client;
}

const FEATURES = 'demo://resource/static/document/features.md';

/**
 * Listens for updates of server-everything's features document on `client`'s stream, waits `quietMs` without a
 * request, then has the upstream send updates: resolves once one reached the stream (and closes the client).
 */
async function expectResourceUpdates(client: Client, quietMs = 0): Promise<void> {
  const updated: unknown[] = [];
  client.setNotificationHandler('notifications/resources/updated', (notification) => {
    updated.push(notification.params.uri);
  });
  const subscription = await client.listen({resourceSubscriptions: [FEATURES]});
  try {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    await client.callTool({name: 'everything__toggle-subscriber-updates', arguments: {}});
    await expect.poll(() => updated, {timeout: 15_000}).toContain(FEATURES);
  } finally {
    await client.callTool({name: 'everything__toggle-subscriber-updates', arguments: {}});
    await subscription.close();
    await client.close();
  }
}

const text = (result: {content?: unknown}) => (result.content as {text: string}[])[0]?.text;

describe.each([
  {path: '/mcp', echo: 'everything__echo', long: 'everything__trigger-long-running-operation'},
  {path: '/mcp/everything', echo: 'echo', long: 'trigger-long-running-operation'},
])('a 2026-07-28 client on $path', ({path, echo, long}) => {
  let client: Client;
  beforeAll(async () => {
    client = await modernClient(path);
  });
  afterAll(() => client?.close());

  it('negotiates 2026-07-28, lists tools and calls one', async () => {
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toContain(echo);
    expect(text(await client.callTool({name: echo, arguments: {message: 'hello'}}))).toBe('Echo: hello');
  });

  it('gets progress of a long call on the call’s own response, before its result', async () => {
    const progress: number[] = [];
    const result = await client.callTool(
      {name: long, arguments: {duration: 1, steps: 3}},
      {onprogress: ({progress: value}) => void progress.push(value)},
    );
    expect(text(result)).toMatch(/Long running operation completed/);
    expect(progress).toEqual([1, 2, 3]);
  });

  it('an unknown tool is an error naming it', async () => {
    await expect(client.callTool({name: 'no-such-tool', arguments: {}})).rejects.toThrow(/no-such-tool/);
  });
});

describe('list changes for 2026-07-28 clients', () => {
  it('reach a client listening with subscriptions/listen when an upstream is added', async () => {
    const client = await modernClient('/mcp');
    const changed = new Promise<void>((resolve) =>
      client.setNotificationHandler('notifications/tools/list_changed', () => resolve()),
    );
    const subscription = await client.listen({toolsListChanged: true});
    try {
      const config = {
        mcpServers: {
          ...CONFIG.mcpServers,
          extra: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']},
        },
        router: {
          ...CONFIG.router,
          access: [{principals: ['alice'], upstreams: ['everything', 'notes', 'extra']}, CONFIG.router.access[1]],
        },
      };
      await router.router.reconfigure(parseRouterConfig(JSON.stringify(config), {}, 'eras-test.json'));
      await changed;
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('extra__echo');
    } finally {
      await subscription.close();
      await client.close();
    }
  });
});

describe.each([
  {path: '/mcp', tool: 'everything__trigger-sampling-request'},
  {path: '/mcp/everything', tool: 'trigger-sampling-request'},
  {path: '/mcp/notes', tool: 'trigger-sampling-request'},
])('an upstream’s sampling request to a 2026-07-28 client on $path', ({path, tool}) => {
  it('becomes an input_required round; the answer goes back to the upstream and the call completes', async () => {
    const client = await modernClient(path, 'alice', {sampling: {}});
    const asked: unknown[] = [];
    client.setRequestHandler('sampling/createMessage', async (request) => {
      asked.push(request.params.messages);
      return {model: 'test-model', role: 'assistant', content: {type: 'text', text: 'sampled by the test'}};
    });
    try {
      const result = await client.callTool({name: tool, arguments: {prompt: 'Say hi', maxTokens: 10}});
      expect(result.isError).toBeFalsy();
      expect(text(result)).toMatch(/sampled by the test/);
      expect(JSON.stringify(asked)).toContain('Say hi');
    } finally {
      await client.close();
    }
  });
});

describe('the requestState of an input_required round', () => {
  /**
   * Alice's client, whose retries (the requests that carry a requestState) are rewritten on the way out. Each test
   * uses a scope of its own: a call whose retry was refused stays held for its real client until it expires, and a
   * second call in flight to the same upstream in the same scope could not be told apart from it.
   */
  type Retry = {params: {requestState?: string}};
  async function tamperedClient(path: string, tamper: (body: Retry, headers: Headers) => void) {
    const client = new Client(
      {name: 'tampered-client', version: '2.0.0'},
      {versionNegotiation: {mode: 'auto'}, capabilities: {sampling: {}}},
    );
    client.setRequestHandler('sampling/createMessage', async () => ({
      model: 'test-model',
      role: 'assistant',
      content: {type: 'text', text: 'sampled'},
    }));
    const fetchTampered = async (url: string | URL, init?: RequestInit) => {
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Retry) : undefined;
      if (body?.params?.requestState === undefined) return fetch(url, init);
      const headers = new Headers(init?.headers);
      tamper(body, headers);
      return fetch(url, {...init, headers, body: JSON.stringify(body)});
    };
    const headers = {authorization: `Bearer ${TOKENS.alice}`};
    const url = new URL(`${router.url}${path}`);
    await client.connect(new StreamableHTTPClientTransport(url, {requestInit: {headers}, fetch: fetchTampered}));
    return client;
  }

  it('is refused when forged', async () => {
    const client = await tamperedClient('/mcp/notes', (body) => (body.params.requestState = 'forged-state'));
    try {
      await expect(
        client.callTool({name: 'trigger-sampling-request', arguments: {prompt: 'x', maxTokens: 5}}),
      ).rejects.toThrow(/Unknown or expired requestState/);
    } finally {
      await client.close();
    }
  });

  it('leads nowhere for another principal (requestState replayed with another token)', async () => {
    const client = await tamperedClient('/mcp', (_body, headers) =>
      headers.set('authorization', `Bearer ${TOKENS.bob}`),
    );
    try {
      await expect(
        client.callTool({name: 'notes__trigger-sampling-request', arguments: {prompt: 'x', maxTokens: 5}}),
      ).rejects.toThrow(/Unknown or expired requestState/);
    } finally {
      await client.close();
    }
  });
});

describe('an upstream’s elicitation to a 2026-07-28 client', () => {
  it('becomes an input_required round, and the accepted content reaches the upstream', async () => {
    const client = await modernClient('/mcp', 'alice', {elicitation: {form: {}}});
    client.setRequestHandler('elicitation/create', async () => ({
      action: 'accept',
      content: {name: 'Ada', check: true, email: 'ada@example.com', integer: 3},
    }));
    try {
      const result = await client.callTool({name: 'everything__trigger-elicitation-request', arguments: {}});
      expect(JSON.stringify(result.content)).toContain('Ada');
    } finally {
      await client.close();
    }
  });
});

describe('resource updates for 2026-07-28 clients', () => {
  it('reach a stream that listens for a resource: the router subscribes to it upstream while the stream is open', async () => {
    await expectResourceUpdates(await modernClient('/mcp'));
  });

  it('are refused for a resource the principal may not read (or that nothing serves), naming it', async () => {
    const bob = await modernClient('/mcp', 'bob');
    try {
      await expect(bob.listen({resourceSubscriptions: ['unknown://nowhere']})).rejects.toThrow(
        /Access denied: resource "unknown:\/\/nowhere"/,
      );
    } finally {
      await bob.close();
    }
  });
});

describe('a 2026-07-28 session with a stream open', () => {
  it('regression: a principal session closed after sessionIdleSeconds while its listen stream was open, ending its resource subscriptions; it now lasts while the stream does', async () => {
    const idle = await startLoggedRouter(
      {
        mcpServers: {everything: CONFIG.mcpServers.everything},
        router: {
          auth: CONFIG.router.auth,
          access: [{principals: ['alice'], upstreams: ['everything']}],
          sessionIdleSeconds: 1,
        },
      },
      captured.log,
    );
    try {
      // Over twice sessionIdleSeconds without a request, while the stream is open.
      await expectResourceUpdates(await modernClient('/mcp', 'alice', {}, idle.url), 2500);
    } finally {
      await idle.stop();
    }
  });
});

describe('a 2025-11-25 client on the same endpoint', () => {
  it('still gets a session of 2025-11-25 (initialize, Mcp-Session-Id)', async () => {
    const {client, received, close} = await connectClient(`${router.url}/mcp`, {
      headers: {authorization: `Bearer ${TOKENS.alice}`},
    });
    try {
      const results = received.map((message) => ('result' in message ? message.result : {}));
      expect(results.find((result) => 'protocolVersion' in result)).toMatchObject({protocolVersion: '2025-11-25'});
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('everything__echo');
    } finally {
      await close();
    }
  });
});

describe('the router’s sessions of 2026-07-28 clients', () => {
  const NOTE = 'demo://resource/session/eras.gz';
  const readNote = (client: Client) => client.readResource({uri: NOTE});

  it('keep a principal’s perSession upstream across its requests and clients, and apart from other principals', async () => {
    const first = await modernClient('/mcp/notes', 'alice');
    await first.callTool({
      name: 'gzip-file-as-resource',
      arguments: {name: 'eras.gz', data: 'data:text/plain;base64,a2VwdA==', outputType: 'resourceLink'},
    });
    await first.close();
    const again = await modernClient('/mcp/notes', 'alice');
    const bob = await modernClient('/mcp/notes', 'bob');
    try {
      expect((await readNote(again)).contents).toMatchObject([{uri: NOTE, mimeType: 'application/gzip'}]);
      await expect(readNote(bob)).rejects.toThrow(/eras\.gz/);
    } finally {
      await again.close();
      await bob.close();
    }
  });

  it('apply the access rules: a principal sees and calls only what it is granted', async () => {
    const bob = await modernClient('/mcp', 'bob');
    try {
      const tools = (await bob.listTools()).tools.map((tool) => tool.name);
      expect(tools.length).toBeGreaterThan(0);
      expect(tools.every((name) => name.startsWith('notes__'))).toBe(true);
      await expect(bob.callTool({name: 'everything__echo', arguments: {message: 'x'}})).rejects.toThrow(
        /Access denied|Unknown tool/,
      );
    } finally {
      await bob.close();
    }
  });

  it('refuse an upstream’s sampling request when the client did not declare sampling, saying why', async () => {
    const client = await modernClient('/mcp');
    try {
      const result = await client.callTool({name: 'everything__trigger-sampling-request', arguments: {prompt: 'hi'}});
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/does not support sampling/);
    } finally {
      await client.close();
    }
  });

  it('leave one audit line per request, with the principal', () => {
    const lines = captured.lines().filter((line) => line.component === 'audit' && line.principal === 'bob');
    expect(lines.length).toBeGreaterThan(0);
  });
});
