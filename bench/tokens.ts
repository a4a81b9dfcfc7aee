/**
 * `npm run bench:tokens`: what a model's context pays for the aggregate's tool list in each catalog mode
 * (`router.catalog.mode`), and how often `search_tools` finds the tool a request needs.
 *
 * - Tokens of the session-start `tools/list` (its tools as JSON, counted with `gpt-tokenizer`, the o200k encoding of
 *   current OpenAI models) in `full`, `search` and `dynamic` mode, for the example config (examples/mcp-config.json)
 *   and for a generated catalog of 50 upstreams of 20 tools (one fixture server over HTTP, reached as 50 upstreams).
 * - recall@5: the share of labelled requests (LABELLED below, written for the example servers' real tools) whose
 *   tool is among the first 5 that `search_tools` returns.
 *
 * - Output caps (`router.output`): bytes and tokens of the text content of server-filesystem's large outputs
 *   (`directory_tree` of the SDK's ESM build, `read_text_file` of TypeScript's lib.dom.d.ts, both from node_modules),
 *   without caps and under each of CAPS, with what each saves against no caps.
 *
 * The last line is `tokens full=N search=N dynamic=N recall@5=F`, for the generated catalog.
 */
import {readFile} from 'node:fs/promises';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {encode} from 'gpt-tokenizer';
import {startFixtureHttp, startRouter} from './processes.js';

const MODES = ['full', 'search', 'dynamic'] as const;

/** Requests a user would make of the example servers, and the aggregated tool that answers each. */
const LABELLED: [query: string, tool: string][] = [
  ['add two numbers', 'everything__get-sum'],
  ['repeat back what I say', 'everything__echo'],
  ['show the environment variables of the server', 'everything__get-env'],
  ['give me a small picture', 'everything__get-tiny-image'],
  ['compress a file with gzip', 'everything__gzip-file-as-resource'],
  ['run a long operation that reports progress', 'everything__trigger-long-running-operation'],
  ['return structured weather content for a location', 'everything__get-structured-content'],
  ['read the contents of a text file', 'filesystem__read_text_file'],
  ['list the files in a folder', 'filesystem__list_directory'],
  ['find files matching a pattern', 'filesystem__search_files'],
  ['show size and modification time of a file', 'filesystem__get_file_info'],
  ['show the folder tree', 'filesystem__directory_tree'],
  ['remember facts about a person', 'memory__create_entities'],
  ['link two people with a relation', 'memory__create_relations'],
  ['search the knowledge graph for a name', 'memory__search_nodes'],
  ['read the whole knowledge graph', 'memory__read_graph'],
  ['forget an entity', 'memory__delete_entities'],
  ['add an observation to an existing entity', 'memory__add_observations'],
];

async function connect(url: string): Promise<{client: Client; close(): Promise<void>}> {
  const client = new Client({name: 'bench-tokens', version: '1.0.0'});
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`));
  await client.connect(transport);
  return {client, close: () => transport.terminateSession().then(() => client.close())};
}

/** Tokens of the tools a fresh session lists. */
async function listTokens(url: string): Promise<number> {
  const {client, close} = await connect(url);
  try {
    return encode(JSON.stringify((await client.listTools()).tools)).length;
  } finally {
    await close();
  }
}

/** The share of LABELLED requests whose tool is among the first `k` found. */
async function recall(url: string, k: number): Promise<number> {
  const {client, close} = await connect(url);
  try {
    let hits = 0;
    for (const [query, tool] of LABELLED) {
      const found = await client.callTool({name: 'search_tools', arguments: {query, limit: k}});
      const names = ((found.structuredContent as {tools: {name: string}[]}).tools ?? []).map((t) => t.name);
      if (names.includes(tool)) hits++;
      else process.stdout.write(`  missed: "${query}" (wanted ${tool}, got ${names.join(', ')})\n`);
    }
    return hits / LABELLED.length;
  } finally {
    await close();
  }
}

/** Tokens per mode for one set of upstreams. */
async function tokensPerMode(mcpServers: object): Promise<Record<(typeof MODES)[number], number>> {
  const tokens = {} as Record<(typeof MODES)[number], number>;
  for (const mode of MODES) {
    const router = await startRouter(mcpServers, {catalog: {mode}});
    try {
      tokens[mode] = await listTokens(router.url);
    } finally {
      await router.stop();
    }
  }
  return tokens;
}

const line = (label: string, t: Record<(typeof MODES)[number], number>) =>
  `${label}: full ${t.full}, search ${t.search} (${((1 - t.search / t.full) * 100).toFixed(1)}% fewer), ` +
  `dynamic ${t.dynamic}\n`;

const example = JSON.parse(await readFile('examples/mcp-config.json', 'utf8')) as {mcpServers: object};
const exampleTokens = await tokensPerMode(example.mcpServers);
process.stdout.write(line('example config, tokens of the session-start tools/list', exampleTokens));

const searching = await startRouter(example.mcpServers, {catalog: {mode: 'search'}});
const recallAt5 = await recall(searching.url, 5).finally(() => searching.stop());
process.stdout.write(`example config, recall@5 over ${LABELLED.length} labelled requests: ${recallAt5.toFixed(2)}\n`);

/** Output caps compared with none (`router.output`), and the large outputs they are measured on. */
const CAPS: [label: string, output: object][] = [
  ['none', {}],
  ['minifyJson', {minifyJson: true}],
  ['maxResultTokens 8000 + minifyJson', {maxResultTokens: 8000, minifyJson: true}],
  ['maxResultTokens 2000 + minifyJson', {maxResultTokens: 2000, minifyJson: true}],
  ['maxResultBytes 32768 + minifyJson', {maxResultBytes: 32768, minifyJson: true}],
];
const LARGE_OUTPUTS: [label: string, tool: string, args: object][] = [
  ['directory_tree (SDK dist/esm)', 'filesystem__directory_tree', {path: '@modelcontextprotocol/sdk/dist/esm'}],
  ['read_text_file (lib.dom.d.ts)', 'filesystem__read_text_file', {path: 'typescript/lib/lib.dom.d.ts'}],
];

/** Bytes and tokens of the text content of each large output, through a router with `output` caps. */
async function outputSizes(output: object): Promise<{bytes: number; tokens: number}[]> {
  const filesystem = {
    command: 'node',
    args: ['node_modules/@modelcontextprotocol/server-filesystem/dist/index.js', 'node_modules'],
  };
  const router = await startRouter({filesystem}, {output});
  const {client, close} = await connect(router.url);
  try {
    const sizes = [];
    for (const [, name, args] of LARGE_OUTPUTS) {
      const result = await client.callTool({name, arguments: args as Record<string, unknown>});
      const text = (result.content as {text?: string}[]).map((item) => item.text ?? '').join('');
      sizes.push({bytes: Buffer.byteLength(text), tokens: encode(text, {disallowedSpecial: new Set()}).length});
    }
    return sizes;
  } finally {
    await close();
    await router.stop();
  }
}

const percent = (part: number, whole: number) => `${((1 - part / whole) * 100).toFixed(1)}%`;
const baseline = await outputSizes({});
process.stdout.write(
  '\nOutput caps on server-filesystem large outputs (text content a client gets; saved: against no caps)\n\n' +
    '| output caps | call | bytes | tokens | bytes saved | tokens saved |\n| --- | --- | --- | --- | --- | --- |\n',
);
for (const [label, output] of CAPS) {
  const sizes = label === 'none' ? baseline : await outputSizes(output);
  sizes.forEach(({bytes, tokens}, i) => {
    const base = baseline[i] as {bytes: number; tokens: number};
    process.stdout.write(
      `| ${label} | ${LARGE_OUTPUTS[i]?.[0]} | ${bytes.toLocaleString('en-US')} | ${tokens.toLocaleString('en-US')} | ` +
        `${percent(bytes, base.bytes)} | ${percent(tokens, base.tokens)} |\n`,
    );
  });
}
process.stdout.write('\n');

const fixture = await startFixtureHttp(20);
try {
  const generated = Object.fromEntries(
    Array.from({length: 50}, (_, i) => [`u${String(i).padStart(2, '0')}`, {type: 'http', url: fixture.url}]),
  );
  const generatedTokens = await tokensPerMode(generated);
  process.stdout.write(line('50 x 20 generated catalog, tokens of the session-start tools/list', generatedTokens));
  const {full, search, dynamic} = generatedTokens;
  process.stdout.write(`tokens full=${full} search=${search} dynamic=${dynamic} recall@5=${recallAt5.toFixed(2)}\n`);
} finally {
  await fixture.stop();
}
