import {mkdtemp} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import type {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
  type CallToolResult,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {AGGREGATED_NAME_PATTERN} from '../../router/catalog/naming.js';
import {serverEntry, startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

// Real upstreams: server-everything over stdio, Streamable HTTP and SSE; server-filesystem; server-memory; one
// upstream whose program does not exist; one HTTP upstream that the tests kill.
const node = process.execPath;
const examples = resolve('examples/files');
let http: HttpMcpServer;
let sse: HttpMcpServer;
let victim: HttpMcpServer;
let router: Awaited<ReturnType<typeof startTestRouter>>;

beforeAll(async () => {
  [http, sse, victim] = await Promise.all([
    startEverythingHttp('streamableHttp'),
    startEverythingHttp('sse'),
    startEverythingHttp('streamableHttp'),
  ]);
  const memoryFile = join(await mkdtemp(join(tmpdir(), 'memory-')), 'memory.jsonl');
  router = await startTestRouter({
    mcpServers: {
      everything: {command: node, args: [serverEntry('server-everything'), 'stdio']},
      'everything-http': {type: 'http', url: http.url, prefix: 'http'},
      'everything-sse': {type: 'sse', url: sse.url, prefix: 'sse'},
      filesystem: {command: node, args: [serverEntry('server-filesystem'), examples]},
      memory: {command: node, args: [serverEntry('server-memory')], env: {MEMORY_FILE_PATH: memoryFile}},
      broken: {command: node, args: ['no-such-server.js'], timeouts: {connectSeconds: 5}},
      victim: {type: 'streamable-http', url: victim.url},
    },
    router: {healthCheckSeconds: 1},
  });
});

afterAll(async () => {
  await router?.stop();
  await Promise.all([http, sse, victim].map((s) => s?.stop()));
});

const text = (result: unknown) =>
  ((result as CallToolResult).content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe.each([
  ['Streamable HTTP', '/mcp'],
  ['SSE', '/sse'],
])('the aggregate over %s', (_name, path) => {
  let client: Client;
  let received: JSONRPCMessage[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({client, received, close} = await connectClient(`${router.url}${path}`));
  });
  afterAll(() => close());

  it('lists the tools of every working upstream, prefixed, with names model APIs accept', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'everything__echo',
        'http__echo',
        'sse__echo',
        'filesystem__list_directory',
        'memory__read_graph',
        'victim__get-sum',
      ]),
    );
    expect(names.filter((n) => n.startsWith('broken'))).toEqual([]);
    for (const name of names) expect(name).toMatch(AGGREGATED_NAME_PATTERN);
  });

  it.each([
    ['everything__echo', {message: 'hello'}, 'Echo: hello'],
    ['http__get-sum', {a: 2, b: 3}, 'The sum of 2 and 3 is 5.'],
    ['sse__echo', {message: 'over sse'}, 'Echo: over sse'],
  ])('calls %s', async (name, args, expected) => {
    expect(text(await client.callTool({name, arguments: args}))).toBe(expected);
  });

  it('passes structuredContent through', async () => {
    const result = await client.callTool({
      name: 'everything__get-structured-content',
      arguments: {location: 'New York'},
    });
    expect(result.structuredContent).toMatchObject({temperature: expect.any(Number), conditions: expect.any(String)});
  });

  it('reads a file and keeps a graph through real filesystem and memory servers', async () => {
    const listing = await client.callTool({name: 'filesystem__list_directory', arguments: {path: examples}});
    expect(text(listing)).toContain('README.md');
    await client.callTool({
      name: 'memory__create_entities',
      arguments: {entities: [{name: `paris${path.slice(1)}`, entityType: 'city', observations: ['capital']}]},
    });
    expect(text(await client.callTool({name: 'memory__read_graph', arguments: {}}))).toContain(`paris${path.slice(1)}`);
  });

  it('reads a resource, a templated resource, and one whose URI collided (prefix+)', async () => {
    const listed = (await client.listResources()).resources.map((r) => r.uri);
    expect(listed).toContain('demo://resource/static/document/architecture.md');
    expect(listed).toContain('http+demo://resource/static/document/architecture.md');
    const doc = await client.readResource({uri: 'demo://resource/static/document/architecture.md'});
    expect(doc.contents[0]).toMatchObject({mimeType: 'text/markdown', text: expect.stringContaining('Architecture')});
    const templated = await client.readResource({uri: 'demo://resource/dynamic/text/7'});
    expect(templated.contents[0]).toMatchObject({
      uri: 'demo://resource/dynamic/text/7',
      text: expect.stringContaining('7'),
    });
    const viaSse = await client.readResource({uri: 'sse+demo://resource/dynamic/text/8'});
    expect(viaSse.contents[0]).toMatchObject({text: expect.stringContaining('8')});
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toContain('sse+demo://resource/dynamic/text/{resourceId}');
  });

  it('gets a prompt with arguments', async () => {
    const prompt = await client.getPrompt({name: 'everything__args-prompt', arguments: {city: 'Lyon', state: 'Rhone'}});
    expect(JSON.stringify(prompt.messages)).toContain('Lyon');
  });

  it('forwards every progress notification with the caller token, the last one included, before the result', async () => {
    await client.callTool(
      {name: 'everything__trigger-long-running-operation', arguments: {duration: 1, steps: 4}},
      undefined,
      {onprogress: () => undefined},
    );
    const response = received.findLast((m) => 'result' in m && JSON.stringify(m.result).includes('Long running'));
    expect(response).toBeDefined();
    const token = (response as {id: number}).id;
    const progress = received.filter(
      (m) => 'method' in m && m.method === 'notifications/progress' && m.params?.progressToken === token,
    );
    expect(progress.map((m) => (m as unknown as {params: {progress: number}}).params.progress)).toEqual([1, 2, 3, 4]);
    expect(received.indexOf(progress.at(-1) as JSONRPCMessage)).toBeLessThan(
      received.indexOf(response as JSONRPCMessage),
    );
  });

  it('cancels a long call and keeps the session working', async () => {
    const controller = new AbortController();
    const call = client.callTool(
      {name: 'http__trigger-long-running-operation', arguments: {duration: 30, steps: 30}},
      undefined,
      {signal: controller.signal},
    );
    setTimeout(() => controller.abort('user pressed stop'), 300);
    await expect(call).rejects.toThrow(/user pressed stop/);
    expect(text(await client.callTool({name: 'http__echo', arguments: {message: 'still here'}}))).toBe(
      'Echo: still here',
    );
    const metrics = await (await fetch(`${router.url}/metrics`)).text();
    expect(metrics).toMatch(
      /mcp_router_calls_total\{upstream="everything-http",method="tools\/call",tool="trigger-long-running-operation",outcome="cancelled"\} [1-9]/,
    );
  });

  it('passes resource_link content and annotations through unchanged', async () => {
    const links = await client.callTool({name: 'everything__get-resource-links', arguments: {count: 2}});
    expect(links.content).toContainEqual(
      expect.objectContaining({type: 'resource_link', uri: expect.stringMatching(/^demo:\/\//)}),
    );
    const annotated = await client.callTool({
      name: 'everything__get-annotated-message',
      arguments: {messageType: 'error', includeImage: false},
    });
    expect(annotated.content).toContainEqual(
      expect.objectContaining({annotations: expect.objectContaining({priority: 1})}),
    );
  });

  it('routes completion/complete, ping and logging/setLevel', async () => {
    const completion = await client.complete({
      ref: {type: 'ref/prompt', name: 'http__completable-prompt'},
      argument: {name: 'department', value: 'Eng'},
    });
    expect(completion.completion.values).toEqual(['Engineering']);
    await expect(client.ping()).resolves.toEqual({});
    await client.setLoggingLevel('debug');
    await client.callTool({name: 'http__toggle-simulated-logging', arguments: {}});
    // Every upstream's log messages at that level reach the session (the shared stdio one says when it got its
    // roots); those of the HTTP upstream name it.
    const fromHttp = () =>
      received.find(
        (m) =>
          'method' in m &&
          m.method === 'notifications/message' &&
          String((m.params as {logger?: unknown}).logger).startsWith('everything-http'),
      );
    await expect.poll(fromHttp).toBeDefined();
  });

  it('delivers resources/updated for a subscribed URI under the URI the client knows', async () => {
    const uri = 'http+demo://resource/static/document/features.md';
    await client.subscribeResource({uri});
    await client.callTool({name: 'http__toggle-subscriber-updates', arguments: {}});
    await expect
      .poll(() => received.some((m) => 'method' in m && m.method === 'notifications/resources/updated'))
      .toBe(true);
    const update = received.find((m) => 'method' in m && m.method === 'notifications/resources/updated');
    expect(update).toMatchObject({params: {uri}});
    await client.unsubscribeResource({uri});
  });

  it('answers an unknown tool with an error that names it', async () => {
    await expect(client.callTool({name: 'nobody__nothing', arguments: {}})).rejects.toThrow(
      /Unknown tool "nobody__nothing"/,
    );
  });
});

describe.each([
  ['/mcp/everything', 'Streamable HTTP'],
  ['/sse/everything-sse', 'SSE'],
])('the per-upstream path %s (%s)', (path) => {
  it('passes names through unchanged', async () => {
    const {client, close} = await connectClient(`${router.url}${path}`);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('echo');
      expect(names.some((n) => n.includes('__'))).toBe(false);
      expect(text(await client.callTool({name: 'get-sum', arguments: {a: 40, b: 2}}))).toBe(
        'The sum of 40 and 2 is 42.',
      );
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      expect(prompts).toContain('simple-prompt');
      expect(client.getServerVersion()?.name).toBe('mcp-servers/everything');
    } finally {
      await close();
    }
  });
});

describe('subscriptions to a shared upstream', () => {
  it('delivers resources/updated only to the sessions that subscribed', async () => {
    const [subscriber, bystander] = await Promise.all([
      connectClient(`${router.url}/mcp`),
      connectClient(`${router.url}/sse`),
    ]);
    const uri = 'demo://resource/static/document/features.md';
    const updates = (received: JSONRPCMessage[]) =>
      received.filter((m) => 'method' in m && m.method === 'notifications/resources/updated');
    try {
      await subscriber.client.subscribeResource({uri});
      await bystander.client.listTools();
      await subscriber.client.callTool({name: 'everything__toggle-subscriber-updates', arguments: {}});
      await expect.poll(() => updates(subscriber.received).length).toBeGreaterThan(0);
      expect(updates(subscriber.received)[0]).toMatchObject({params: {uri}});
      expect(updates(bystander.received)).toEqual([]);
      await subscriber.client.callTool({name: 'everything__toggle-subscriber-updates', arguments: {}});
      await subscriber.client.unsubscribeResource({uri});
    } finally {
      await Promise.all([subscriber.close(), bystander.close()]);
    }
  });
});

describe('server-to-client requests on a perSession upstream', () => {
  it('routes sampling and roots to the session that made the call', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`, {capabilities: {sampling: {}, roots: {}}});
    try {
      client.setRequestHandler(CreateMessageRequestSchema, async () => ({
        model: 'test-model',
        role: 'assistant',
        content: {type: 'text', text: 'sampled by the test client'},
      }));
      client.setRequestHandler(ListRootsRequestSchema, async () => ({
        roots: [{uri: 'file:///srv/data', name: 'data'}],
      }));
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('http__trigger-sampling-request');
      const sampled = await client.callTool({
        name: 'http__trigger-sampling-request',
        arguments: {prompt: 'say something', maxTokens: 20},
      });
      expect(text(sampled)).toContain('sampled by the test client');
      expect(text(await client.callTool({name: 'http__get-roots-list', arguments: {}}))).toContain('file:///srv/data');
    } finally {
      await close();
    }
  });
});

describe('server-to-client requests on a shared upstream', () => {
  it('the upstream offers its sampling tools, and sampling reaches the session that made the call', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`, {capabilities: {sampling: {}}});
    try {
      client.setRequestHandler(CreateMessageRequestSchema, async () => ({
        model: 'test-model',
        role: 'assistant',
        content: {type: 'text', text: 'sampled through a shared upstream'},
      }));
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('everything__trigger-sampling-request');
      const sampled = await client.callTool({
        name: 'everything__trigger-sampling-request',
        arguments: {prompt: 'say something', maxTokens: 20},
      });
      expect(text(sampled)).toContain('sampled through a shared upstream');
    } finally {
      await close();
    }
  });

  it('a session whose client cannot sample gets an error saying so', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      const outcome = await client
        .callTool({name: 'everything__trigger-sampling-request', arguments: {prompt: 'x', maxTokens: 5}})
        .then(
          (result) => text(result),
          (error: Error) => error.message,
        );
      expect(outcome).toMatch(/sampling/i);
    } finally {
      await close();
    }
  });
});

describe('failing upstreams', () => {
  it('reports a broken upstream in /readyz without failing the router', async () => {
    const response = await fetch(`${router.url}/readyz`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as {upstreams: {name: string; state: string; error?: string}[]};
    const broken = report.upstreams.find((u) => u.name === 'broken');
    expect(broken).toMatchObject({state: 'down', error: expect.stringMatching(/^failed to connect: /)});
    expect(report.upstreams.find((u) => u.name === 'everything')?.state).toBe('ready');
  });

  it('fails calls to an upstream killed mid-session with an error naming it, and serves the others', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      expect(text(await client.callTool({name: 'victim__echo', arguments: {message: 'before'}}))).toBe('Echo: before');
      await victim.stop();
      await expect(client.callTool({name: 'victim__echo', arguments: {message: 'after'}})).rejects.toThrow(/"victim"/);
      expect(text(await client.callTool({name: 'everything__echo', arguments: {message: 'alive'}}))).toBe(
        'Echo: alive',
      );
    } finally {
      await close();
    }
  });
});
