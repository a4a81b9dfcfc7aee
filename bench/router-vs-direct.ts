/**
 * Benchmark: the router against a direct connection to the same upstream, in the same run.
 *
 * 1. `tools/call echo` to server-everything over Streamable HTTP, directly and through the router (which reaches the
 *    same server over Streamable HTTP), with 1, 16 and 64 concurrent client sessions: p50 and p99 latency (ms), calls
 *    per second, and the ratios router/direct.
 * 2. The cost of trust: the same echo call through a router with `auth` (an ES256 JWT verified against a JWKS this
 *    benchmark serves) and 50 access rules, against a router without auth, at 1 and 16 clients.
 * 3. Memory of 1,000 idle SSE sessions (connected and initialized): RSS growth per session of the router, and of
 *    server-everything's own SSE mode for comparison.
 *
 * Everything listens on 127.0.0.1; every loop is bounded by a call count. Run: `npm run bench`, or
 * `npm run bench -- trust` for some sections only (`http`, `trust`, `memory`).
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {readFile, mkdtemp, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {SSEClientTransport} from '@modelcontextprotocol/sdk/client/sse.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {exportJWK, generateKeyPair, SignJWT} from 'jose';
import {freePort, startEverythingHttp} from '../test/support/mcp-servers.js';

const CONCURRENCY = [1, 16, 64];
const CALLS_PER_LEVEL = {1: 600, 16: 3200, 64: 6400} as Record<number, number>;
const WARMUP_CALLS = 200;
const IDLE_SESSIONS = 1000;

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({name: 'bench', version: '1'});
  const target = new URL(url);
  const requestInit = {headers};
  await client.connect(
    target.pathname.endsWith('/sse')
      ? new SSEClientTransport(target, {requestInit})
      : new StreamableHTTPClientTransport(target, {requestInit}),
  );
  return client;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface LoadResult {
  p50: number;
  p99: number;
  callsPerSecond: number;
}

/** `calls` echo calls spread over `clients` sessions, each session calling in a loop. */
async function load(
  url: string,
  tool: string,
  clients: number,
  calls: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const sessions = await Promise.all(Array.from({length: clients}, () => connect(url, headers)));
  const perClient = Math.ceil(calls / clients);
  const warm = Math.ceil(WARMUP_CALLS / clients);
  await Promise.all(
    sessions.map(async (c) => {
      for (let i = 0; i < warm; i++) await c.callTool({name: tool, arguments: {message: 'warm'}});
    }),
  );
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    sessions.map(async (client) => {
      for (let i = 0; i < perClient; i++) {
        const t = performance.now();
        await client.callTool({name: tool, arguments: {message: 'hello'}});
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(sessions.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  return {p50: percentile(latencies, 50), p99: percentile(latencies, 99), callsPerSecond: latencies.length / seconds};
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

/** RSS growth of process `pid` per idle SSE session, opening `count` sessions to `url` in batches. */
async function idleSessionBytes(pid: number, url: string, count: number): Promise<number> {
  const settle = () => new Promise((r) => setTimeout(r, 1500));
  await connect(url).then((c) => c.close());
  await settle();
  const before = await rssBytes(pid);
  const clients: Client[] = [];
  for (let i = 0; i < count; i += 50) {
    clients.push(...(await Promise.all(Array.from({length: Math.min(50, count - i)}, () => connect(url)))));
  }
  await settle();
  const after = await rssBytes(pid);
  await Promise.all(clients.map((c) => c.close()));
  return (after - before) / count;
}

async function startRouter(upstreamUrl: string, router: object = {}): Promise<{url: string; process: ChildProcess}> {
  const port = await freePort();
  const folder = await mkdtemp(join(tmpdir(), 'bench-'));
  const config = join(folder, 'router.json');
  await writeFile(config, JSON.stringify({mcpServers: {everything: {type: 'http', url: upstreamUrl}}, router}));
  const child = spawn(process.execPath, ['dist/cli.js', 'router', '--config', config, '--port', String(port)], {
    stdio: 'ignore',
    env: {...process.env, LOG_LEVEL: 'warn'},
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return {url, process: child};
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the router did not become ready');
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

/** A JWKS on loopback, a token it verifies, and router options with that issuer and 50 access rules. */
async function trustSetup(): Promise<{router: object; token: string; close(): void}> {
  const {publicKey, privateKey} = await generateKeyPair('ES256');
  const jwk = {...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256'};
  const server = createServer((_req, res) => res.end(JSON.stringify({keys: [jwk]})));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = await new SignJWT({groups: ['bench']})
    .setProtectedHeader({alg: 'ES256', kid: 'bench'})
    .setIssuer(issuer)
    .setAudience('kube-mcp-router')
    .setSubject('agent-49')
    .setExpirationTime('1h')
    .sign(privateKey);
  const access = Array.from({length: 50}, (_, i) => ({
    principals: [`agent-${i}`],
    upstreams: ['everything'],
    tools: {include: ['*'], exclude: ['get-env']},
  }));
  const router = {auth: {jwt: [{issuer, audiences: ['kube-mcp-router'], jwksUri: `${issuer}/jwks`}]}, access};
  return {router, token, close: () => server.close()};
}

type Upstream = Awaited<ReturnType<typeof startEverythingHttp>>;
type RouterProcess = Awaited<ReturnType<typeof startRouter>>;

/** Section `http`: router against direct, at 1, 16 and 64 clients. */
async function measureHttp(upstream: Upstream, router: RouterProcess): Promise<void> {
  const rows: string[][] = [];
  for (const clients of CONCURRENCY) {
    const calls = CALLS_PER_LEVEL[clients] as number;
    process.stderr.write(`Measuring ${calls} calls with ${clients} client(s)...\n`);
    const direct = await load(upstream.url, 'echo', clients, calls);
    const routed = await load(`${router.url}/mcp`, 'everything__echo', clients, calls);
    rows.push([
      String(clients),
      `${fmt(direct.p50)} / ${fmt(direct.p99)}`,
      `${fmt(routed.p50)} / ${fmt(routed.p99)}`,
      fmt(direct.callsPerSecond, 0),
      fmt(routed.callsPerSecond, 0),
      `${fmt(routed.p50 / direct.p50)} / ${fmt(routed.p99 / direct.p99)}`,
      fmt(routed.callsPerSecond / direct.callsPerSecond),
    ]);
  }
  const header = [
    'clients',
    'direct p50/p99 ms',
    'router p50/p99 ms',
    'direct calls/s',
    'router calls/s',
    'ratio p50/p99',
    'ratio calls/s',
  ];
  printTable('tools/call echo, Streamable HTTP, router vs direct (ratio = router / direct)', header, rows);
}

/** Section `trust`: JWT and 50 rules against no auth. */
async function measureTrust(upstream: Upstream, router: RouterProcess): Promise<void> {
  const trust = await trustSetup();
  const guarded = await startRouter(upstream.url, trust.router);
  try {
    const trustRows: string[][] = [];
    for (const clients of [1, 16]) {
      const calls = CALLS_PER_LEVEL[clients] as number;
      process.stderr.write(`Measuring ${calls} calls with ${clients} client(s), with and without auth, 3 rounds...\n`);
      // Alternating rounds, medians: a busy machine then shifts both sides alike.
      const open: LoadResult[] = [];
      const authed: LoadResult[] = [];
      for (let round = 0; round < 3; round++) {
        open.push(await load(`${router.url}/mcp`, 'everything__echo', clients, calls));
        authed.push(
          await load(`${guarded.url}/mcp`, 'everything__echo', clients, calls, {
            authorization: `Bearer ${trust.token}`,
          }),
        );
      }
      const median = (results: LoadResult[], key: keyof LoadResult) =>
        results.map((r) => r[key]).sort((x, y) => x - y)[1] as number;
      trustRows.push([
        String(clients),
        fmt(median(open, 'callsPerSecond'), 0),
        fmt(median(authed, 'callsPerSecond'), 0),
        `${fmt(median(open, 'p50'))} / ${fmt(median(authed, 'p50'))}`,
        fmt(median(authed, 'callsPerSecond') / median(open, 'callsPerSecond')),
      ]);
    }
    printTable(
      'tools/call echo through the router: JWT + 50 access rules vs no auth, medians of 3 (ratio = auth / no auth)',
      ['clients', 'no auth calls/s', 'auth calls/s', 'p50 ms no auth / auth', 'ratio calls/s'],
      trustRows,
    );
  } finally {
    guarded.process.kill('SIGTERM');
    trust.close();
  }
}

/** Section `memory`: RSS per idle SSE session, the router against server-everything. */
async function measureIdle(upstream: Upstream, sseUpstream: Upstream): Promise<void> {
  // A router process of its own, so that garbage from the load above does not blur its memory.
  const idle = await startRouter(upstream.url);
  try {
    process.stderr.write(`Opening ${IDLE_SESSIONS} idle SSE sessions on each...\n`);
    const routerPerSession = await idleSessionBytes(idle.process.pid as number, `${idle.url}/sse`, IDLE_SESSIONS);
    const directPerSession = await idleSessionBytes(sseUpstream.process.pid as number, sseUpstream.url, IDLE_SESSIONS);
    printTable(
      `RSS growth per idle SSE session (${IDLE_SESSIONS} sessions)`,
      ['process', 'KiB per session', 'ratio'],
      [
        ['server-everything (direct, sse mode)', fmt(directPerSession / 1024, 1), '1.00'],
        ['router (/sse, aggregate)', fmt(routerPerSession / 1024, 1), fmt(routerPerSession / directPerSession)],
      ],
    );
  } finally {
    idle.process.kill('SIGTERM');
  }
}

/** Runs the sections named on the command line (`http`, `trust`, `memory`), or all of them. */
async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const runs = (section: string) => wanted.length === 0 || wanted.includes(section);
  const upstream = await startEverythingHttp('streamableHttp');
  const sseUpstream = await startEverythingHttp('sse');
  const router = await startRouter(upstream.url);
  try {
    if (runs('http')) await measureHttp(upstream, router);
    if (runs('trust')) await measureTrust(upstream, router);
    if (runs('memory')) await measureIdle(upstream, sseUpstream);
  } finally {
    router.process.kill('SIGTERM');
    await Promise.all([upstream.stop(), sseUpstream.stop()]);
  }
}

function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  process.stdout.write(`\n${title}\n\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  process.stdout.write(`${rows.map(line).join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
