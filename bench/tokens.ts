/**
 * `npm run bench:tokens`: what a model's context pays for the aggregate's tool list in each catalog mode
 * (`router.catalog.mode`), and how often `search_tools` finds the tool a request needs.
 *
 * - Tokens of the session-start `tools/list` (its tools as JSON, counted with `gpt-tokenizer`, the o200k encoding of
 *   current OpenAI models) in `full`, `search` and `dynamic` mode, for the example config (examples/mcp-config.json)
 *   and for a catalog of 50 upstreams of 20 distinct tools (bench/catalog-50x20.json: services like GitHub, Jira,
 *   Postgres, Kubernetes, Stripe, written like their MCP servers' tools; one fixture server over HTTP serves each
 *   service at its own path).
 * - recall@5: the share of labelled requests (bench/labelled-queries.json, phrased as a user would ask, each with the
 *   aggregated tools that answer it) where one of those tools is among the first 5 that `search_tools` returns, on
 *   the example servers' real tools (`example`) and on the 50 x 20 catalog (`catalog`), ranked by words (BM25) and,
 *   when the embedding model is there (`npm run model:fetch`, or `EMBEDDING_MODEL=<folder>`), hybrid (BM25 fused with
 *   the model, `router.catalog.embeddingModel`), with the round-trip time of the first and the median search and the
 *   router's RSS after them. Then the model's own costs: load, embedding the catalog's 1,000 tools, one request, RSS.
 *
 * - Output caps (`router.output`): bytes and tokens of the text content of server-filesystem's large outputs
 *   (`directory_tree` of the SDK's ESM build, `read_text_file` of TypeScript's lib.dom.d.ts, both from node_modules),
 *   without caps and under each of CAPS, with what each saves against no caps.
 *
 * The last line is `tokens full=N search=N dynamic=N recall@5=F`: tokens for the 50 x 20 catalog, recall over all
 * labelled requests of both sets (hybrid with the model, BM25 without).
 */
import {access, readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {encode} from 'gpt-tokenizer';
import {loadSentenceEmbedder, MODEL_FILE} from '../router/catalog/embedding.js';
import {toolText} from '../router/catalog/search.js';
import type {NamedEntry} from '../router/catalog/aggregate.js';
import {rssBytes, startCatalogFixtureHttp, startRouter} from './processes.js';

const MODES = ['full', 'search', 'dynamic'] as const;

/** Labelled requests: `[query, tool, ...other tools that answer it too]`, per set. */
const LABELLED = JSON.parse(await readFile('bench/labelled-queries.json', 'utf8')) as Record<
  'example' | 'catalog',
  [query: string, ...tools: string[]][]
>;

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

/** What a run of labelled requests through `search_tools` gave: hits, and round-trip times in ms. */
interface Recall {
  hits: number;
  firstMs: number;
  medianMs: number;
}

/** How many of `labelled` have one of their tools among the first `k` found, with the times; prints the misses. */
async function hitsAt(
  url: string,
  k: number,
  labelled: [string, ...string[]][],
  printMisses: boolean,
): Promise<Recall> {
  const {client, close} = await connect(url);
  try {
    let hits = 0;
    const times: number[] = [];
    for (const [query, ...tools] of labelled) {
      const started = performance.now();
      const found = await client.callTool({name: 'search_tools', arguments: {query, limit: k}});
      times.push(performance.now() - started);
      const names = ((found.structuredContent as {tools: {name: string}[]}).tools ?? []).map((t) => t.name);
      if (tools.some((tool) => names.includes(tool))) hits++;
      else if (printMisses)
        process.stdout.write(`  missed: "${query}" (wanted ${tools.join(' or ')}, got ${names.join(', ')})\n`);
    }
    const later = times.slice(1).sort((a, b) => a - b);
    return {hits, firstMs: times[0] ?? 0, medianMs: later[Math.floor(later.length / 2)] ?? 0};
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

/**
 * The embedding model of the hybrid runs (`npm run model:fetch` puts it there; `EMBEDDING_MODEL` names another
 * folder). Without it the benchmark measures BM25 alone and says so.
 */
const MODEL = process.env.EMBEDDING_MODEL ?? 'models/all-minilm-l6-v2-q';
const hasModel = await access(join(MODEL, MODEL_FILE)).then(
  () => true,
  () => false,
);
if (!hasModel) process.stdout.write(`No embedding model in ${MODEL} (npm run model:fetch): BM25 only\n`);

const RANKINGS = hasModel
  ? ([
      ['BM25', {mode: 'search'}],
      ['hybrid', {mode: 'search', embeddingModel: MODEL}],
    ] as const)
  : ([['BM25', {mode: 'search'}]] as const);

const ms = (value: number) => `${value.toFixed(1)} ms`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/**
 * recall@5 of one labelled set on a router in `search` mode over `mcpServers`, for each ranking (BM25, hybrid);
 * prints a table row per ranking and the hybrid misses; returns the hits of the last ranking (hybrid with a model).
 */
async function recallOf(label: string, mcpServers: object, labelled: [string, ...string[]][]): Promise<number> {
  process.stdout.write(
    `\n${label}, recall@5 over ${labelled.length} labelled requests\n\n` +
      '| ranking | recall@5 | first search | median search | router RSS after |\n| --- | --- | --- | --- | --- |\n',
  );
  let hits = 0;
  const rows: string[] = [];
  for (const [ranking, catalog] of RANKINGS) {
    const searching = await startRouter(mcpServers, {catalog});
    try {
      const recall = await hitsAt(searching.url, 5, labelled, ranking === RANKINGS[RANKINGS.length - 1]?.[0]);
      const rss = await rssBytes(searching.process.pid as number);
      hits = recall.hits;
      rows.push(
        `| ${ranking} | ${(hits / labelled.length).toFixed(2)} (${hits}/${labelled.length}) | ` +
          `${ms(recall.firstMs)} | ${ms(recall.medianMs)} | ${mib(rss)} |\n`,
      );
    } finally {
      await searching.stop();
    }
  }
  process.stdout.write(`${rows.join('')}\n`);
  return hits;
}

/**
 * The model's own costs, in this process: loading it, embedding `texts` (a catalog's tool texts, in one call, as the
 * router does for a new catalog), one request at a time, and the RSS all that added.
 */
async function modelCosts(texts: string[], queries: string[]): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  let started = performance.now();
  const embedder = await loadSentenceEmbedder(MODEL);
  const loadMs = performance.now() - started;
  started = performance.now();
  await embedder.embed(texts);
  const catalogMs = performance.now() - started;
  const times: number[] = [];
  for (const query of queries) {
    started = performance.now();
    await embedder.embed([query]);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(
    `embedding model ${MODEL}: load ${ms(loadMs)}, ${texts.length} tool texts ${ms(catalogMs)}, ` +
      `one request median ${ms(times[Math.floor(times.length / 2)] ?? 0)}, RSS added ` +
      `${mib(process.memoryUsage().rss - rssBefore)}\n`,
  );
}

const exampleHits = await recallOf('example config', example.mcpServers, LABELLED.example);

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

const CATALOG = 'bench/catalog-50x20.json';
const fixture = await startCatalogFixtureHttp(CATALOG);
try {
  const services = (JSON.parse(await readFile(CATALOG, 'utf8')) as {service: string}[]).map((s) => s.service);
  const large = Object.fromEntries(services.map((name) => [name, {type: 'http', url: `${fixture.url}/${name}`}]));
  const largeTokens = await tokensPerMode(large);
  process.stdout.write(line('50 x 20 catalog, tokens of the session-start tools/list', largeTokens));
  const catalogHits = await recallOf('50 x 20 catalog', large, LABELLED.catalog);
  if (hasModel) {
    const router = await startRouter(large, {catalog: {mode: 'full'}});
    const {client, close} = await connect(router.url);
    const tools = await client
      .listTools()
      .then((listed) => listed.tools as NamedEntry[])
      .finally(() => close().then(() => router.stop()));
    await modelCosts(
      tools.map(toolText),
      LABELLED.catalog.map(([query]) => query),
    );
  }
  const recallAt5 = (exampleHits + catalogHits) / (LABELLED.example.length + LABELLED.catalog.length);
  const {full, search, dynamic} = largeTokens;
  process.stdout.write(`tokens full=${full} search=${search} dynamic=${dynamic} recall@5=${recallAt5.toFixed(2)}\n`);
} finally {
  await fixture.stop();
}
