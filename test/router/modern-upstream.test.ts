import {Client, StreamableHTTPClientTransport} from '@modelcontextprotocol/client';
import {CreateMessageRequestSchema} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry, startModernServer, type HttpMcpServer} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

// An upstream that speaks only MCP 2026-07-28 (a fixture made with the SDK's 2.x line, which refuses 2025 clients),
// beside a 2025-era one (server-everything over stdio). The router finds each one's era on connecting and bridges
// both kinds of client to it: a 2025 client's session gets the upstream's input_required rounds as sampling requests.
let modern: HttpMcpServer;
let router: Awaited<ReturnType<typeof startTestRouter>>;

beforeAll(async () => {
  modern = await startModernServer();
  router = await startTestRouter({
    mcpServers: {
      modern: {type: 'http', url: modern.url},
      everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']},
    },
  });
});
afterAll(async () => {
  await router?.stop();
  await modern?.stop();
});

const text = (result: unknown) => ((result as {content: {text: string}[]}).content[0] as {text: string}).text;

it('/readyz shows the era and protocol version each upstream speaks', async () => {
  const readiness = (await (await fetch(`${router.url}/readyz`)).json()) as {upstreams: object[]};
  expect(readiness.upstreams).toEqual([
    expect.objectContaining({name: 'modern', state: 'ready', era: 'modern', protocolVersion: '2026-07-28'}),
    expect.objectContaining({name: 'everything', state: 'ready', era: 'legacy', protocolVersion: '2025-11-25'}),
  ]);
});

describe('a 2025-11-25 client', () => {
  it('lists, calls with progress, gets prompts and reads resources of the 2026-07-28 upstream', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      const tools = (await client.listTools()).tools.map((tool) => tool.name);
      expect(tools).toEqual(expect.arrayContaining(['modern__echo', 'modern__ask', 'everything__echo']));
      const progress: number[] = [];
      const result = await client.callTool({name: 'modern__echo', arguments: {message: 'hi'}}, undefined, {
        onprogress: ({progress: value}) => void progress.push(value),
      });
      expect(text(result)).toBe('Echo: hi');
      expect(progress).toEqual([1]);
      const prompt = await client.getPrompt({name: 'modern__greet', arguments: {name: 'Ada'}});
      expect(prompt.messages[0]?.content).toEqual({type: 'text', text: 'Hello, Ada'});
      expect((await client.readResource({uri: 'fixture://note'})).contents).toMatchObject([{text: 'a note'}]);
    } finally {
      await close();
    }
  });

  it('gets the upstream’s input_required round as a sampling request on its session, and the call completes', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`, {capabilities: {sampling: {}}});
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
      model: 'test-model',
      role: 'assistant',
      content: {type: 'text', text: `yes to ${(request.params.messages[0]?.content as {text: string}).text}`},
    }));
    try {
      const result = await client.callTool({name: 'modern__ask', arguments: {question: 'ready?'}});
      expect(text(result)).toBe('Sampled: yes to ready?');
    } finally {
      await close();
    }
  });
});

describe('a 2026-07-28 client', () => {
  it('calls the 2026-07-28 upstream on its own path, its input_required rounds passed through both hops', async () => {
    const client = new Client(
      {name: 'modern-test-client', version: '2.0.0'},
      {versionNegotiation: {mode: 'auto'}, capabilities: {sampling: {}}},
    );
    client.setRequestHandler('sampling/createMessage', async () => ({
      model: 'test-model',
      role: 'assistant',
      content: {type: 'text', text: 'through two hops'},
    }));
    await client.connect(new StreamableHTTPClientTransport(new URL(`${router.url}/mcp/modern`)));
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(text(await client.callTool({name: 'echo', arguments: {message: 'x'}}))).toBe('Echo: x');
      expect(text(await client.callTool({name: 'ask', arguments: {question: 'q'}}))).toBe('Sampled: through two hops');
    } finally {
      await client.close();
    }
  });
});

it('a list change of the 2026-07-28 upstream (on its subscriptions/listen stream) reaches a 2025 client', async () => {
  const {client, received, close} = await connectClient(`${router.url}/mcp`);
  try {
    await client.callTool({name: 'modern__add-tool', arguments: {}});
    const deadline = Date.now() + 10_000;
    while (!received.some((m) => 'method' in m && m.method === 'notifications/tools/list_changed')) {
      if (Date.now() > deadline) throw new Error('no tools/list_changed');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('modern__added');
  } finally {
    await close();
  }
});
