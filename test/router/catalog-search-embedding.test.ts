import {existsSync} from 'node:fs';
import {copyFile, mkdtemp, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startRouter} from '../../router/cli.js';
import {writeConfigMapVolume} from '../../scripts/configmap-volume.js';
import {serverEntry} from '../support/mcp-servers.js';
import {capturedLogger, connectClient, startLoggedRouter, startTestRouter} from '../support/router.js';

// router.catalog.embeddingModel: search_tools ranks by meaning as well as by words, with the real all-MiniLM-L6-v2
// that `npm run model:fetch` puts in models/ (.ci/run fetches it before the tests), behind real server-everything and
// server-memory.
const MODEL = 'models/all-minilm-l6-v2-q';
const TOKENS = {ops: 'ops-token-0123456789abcdef', notes: 'notes-token-0123456789abcdef'};
const SERVERS = {
  everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']},
  memory: {command: process.execPath, args: [serverEntry('server-memory')], env: {MEMORY_FILE_PATH: '/dev/null'}},
};

type Tool = {name: string; title?: string; description?: string; inputSchema: {properties?: Record<string, object>}};
type Found = {structuredContent?: {tools: Tool[]}};

/** The words of at least 3 letters of a text, lower case. */
const words = (text: string) => new Set(text.toLowerCase().match(/[a-z]{3,}/g) ?? []);

async function search(url: string, query: string, principal?: keyof typeof TOKENS): Promise<Tool[]> {
  const headers = principal ? {authorization: `Bearer ${TOKENS[principal]}`} : undefined;
  const {client, close} = await connectClient(`${url}/mcp`, headers ? {headers} : {});
  try {
    const found = (await client.callTool({name: 'search_tools', arguments: {query, limit: 5}})) as Found;
    return found.structuredContent?.tools ?? [];
  } finally {
    await close();
  }
}

let hybrid: Awaited<ReturnType<typeof startTestRouter>>;
let lexical: Awaited<ReturnType<typeof startLoggedRouter>>;
const logs = capturedLogger('info');
let missing: string;

beforeAll(async () => {
  if (!existsSync(join(MODEL, 'model.onnx')))
    throw new Error(`No embedding model in ${MODEL}: run npm run model:fetch`);
  missing = join(await mkdtemp(join(tmpdir(), 'kube-mcp-router-model-')), 'no-such-model');
  [hybrid, lexical] = await Promise.all([
    startTestRouter({
      mcpServers: SERVERS,
      router: {
        catalog: {mode: 'search', embeddingModel: MODEL},
        auth: {bearerTokens: Object.entries(TOKENS).map(([principal, token]) => ({principal, token}))},
        access: [
          {principals: ['ops'], upstreams: ['*']},
          {principals: ['notes'], upstreams: ['memory']},
        ],
      },
    }),
    startLoggedRouter({mcpServers: SERVERS, router: {catalog: {mode: 'search', embeddingModel: missing}}}, logs.log),
  ]);
}, 60_000);
afterAll(() => Promise.all([hybrid?.stop(), lexical?.stop()]));

describe('search_tools with an embedding model', () => {
  it.each([
    ['a very small picture', 'everything__get-tiny-image', 1],
    ['shrink this document', 'everything__gzip-file-as-resource', 3],
  ])('finds a tool by meaning when the request shares no word with it: "%s"', async (query, tool, within) => {
    const found = await search(hybrid.url, query, 'ops');
    const hit = found.slice(0, within).find((t) => t.name === tool);
    expect(hit, `${tool} among the first ${within} of ${found.map((t) => t.name).join(', ')}`).toBeDefined();
    const text = [hit?.name, hit?.title, hit?.description, ...Object.keys(hit?.inputSchema.properties ?? {})];
    const toolWords = words(text.join(' '));
    expect([...words(query)].filter((word) => toolWords.has(word))).toEqual([]);
    // Words alone (the router whose model is missing) do not find it.
    expect((await search(lexical.url, query)).map((t) => t.name)).not.toContain(tool);
  });

  it('never returns a tool the principal may not use, however close its meaning', async () => {
    const found = await search(hybrid.url, 'a very small picture', 'notes');
    expect(found.length).toBeGreaterThan(0);
    expect(found.map((t) => t.name).filter((name) => !name.startsWith('memory__'))).toEqual([]);
  });
});

describe('search_tools when the embedding model cannot be loaded', () => {
  it('logs a warning naming the missing path, and ranks by words (BM25)', async () => {
    await expect
      .poll(() => logs.lines().find((line) => line.path === missing))
      .toMatchObject({
        level: 40,
        msg: 'Failed to load the embedding model; search_tools ranks tools by their words only (BM25)',
        err: expect.stringContaining(`Embedding model ${missing}: cannot read tokenizer.json`),
      });
    expect((await search(lexical.url, 'sum of two numbers'))[0]?.name).toBe('everything__get-sum');
  });

  it('logs a broken model.onnx by its path, and still answers', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'kube-mcp-router-model-'));
    await copyFile(join(MODEL, 'tokenizer.json'), join(broken, 'tokenizer.json'));
    await writeFile(join(broken, 'model.onnx'), 'not an ONNX model');
    const log = capturedLogger('info');
    const router = await startLoggedRouter(
      {mcpServers: SERVERS, router: {catalog: {mode: 'search', embeddingModel: broken}}},
      log.log,
    );
    try {
      await expect
        .poll(() => log.lines().find((line) => line.path === broken))
        .toMatchObject({level: 40, err: expect.stringContaining(`Embedding model ${broken}: cannot load model.onnx`)});
      expect((await search(router.url, 'sum of two numbers'))[0]?.name).toBe('everything__get-sum');
    } finally {
      await router.stop();
    }
  });
});

describe('tool vectors across catalog versions', () => {
  it('embeds only the tools a reload adds, keeping the vectors of the others', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'configmap-'));
    const write = (mcpServers: object) =>
      writeConfigMapVolume(folder, {
        'router.json': JSON.stringify({mcpServers, router: {catalog: {mode: 'search', embeddingModel: MODEL}}}),
      });
    await write({everything: SERVERS.everything});
    const log = capturedLogger('info');
    const running = await startRouter(
      {config: join(folder, 'router.json'), transport: 'http', host: '127.0.0.1', port: 0},
      log.log,
    );
    await running.router.start();
    const url = running.url as string;
    const embedded = () => log.lines().filter((line) => line.msg === 'Embedded tool texts');
    try {
      expect((await search(url, 'a very small picture'))[0]?.name).toBe('everything__get-tiny-image');
      const {client, close} = await connectClient(`${url}/mcp/everything`);
      const everythingTools = (await client.listTools()).tools.length;
      await close();
      expect(embedded().map((line) => line.tools)).toEqual([everythingTools]);

      await write(SERVERS);
      await expect
        .poll(async () => (await search(url, 'remember a new person')).some((t) => t.name.startsWith('memory__')), {
          timeout: 15_000,
        })
        .toBe(true);
      const {client: memory, close: closeMemory} = await connectClient(`${url}/mcp/memory`);
      const memoryTools = (await memory.listTools()).tools.length;
      await closeMemory();
      expect(embedded().map((line) => line.tools)).toEqual([everythingTools, memoryTools]);
    } finally {
      await running.stop();
    }
  });
});
