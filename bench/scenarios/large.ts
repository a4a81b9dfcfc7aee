/**
 * Large results: one tools/call of the fixture server's `blob` of 10 MB and 50 MB, from the fixture directly (stdio,
 * and Streamable HTTP, answering with JSON and, as the router answers, in an SSE stream; and that SSE through a plain
 * proxy, the floor of a hop) and through the router (which reaches the same fixture over stdio, or over HTTP), with the
 * router's peak RSS growth during the call. Each call gets fresh clients, a fresh router and, for stdio, a fresh
 * fixture process, so that no heap grown by an earlier call hides the next one's peak. A failed call is noted and
 * shows as `n/a`. With `--baseline`, another build of the router serves the same call after this one, each fresh.
 */
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js';
import {connect} from '../load.js';
import {
  fixtureStdio,
  peakRssBytes,
  resetPeakRss,
  rssBytes,
  startFixtureHttp,
  startRawProxy,
  startRouter,
} from '../processes.js';
import {largeResultTable, type LargeResultRun} from '../report.js';
import type {Scenario} from './scenario.js';

const TIMEOUT_MS = 120_000;
const SIZES = [10_000_000, 50_000_000];

/** Milliseconds one `blob` call of `bytes` takes on `client`; NaN, with a note, when it fails. */
async function timedBlob(client: Client, tool: string, bytes: number, notes: string[]): Promise<number> {
  const started = performance.now();
  try {
    await client.callTool({name: tool, arguments: {bytes}}, undefined, {timeout: TIMEOUT_MS});
    return performance.now() - started;
  } catch (error) {
    notes.push(`${tool} of ${bytes / 1e6} MB failed: ${error instanceof Error ? error.message.slice(0, 200) : error}`);
    return NaN;
  }
}

/** The SDK client on a new fixture process over stdio; its read buffer may hold the largest result. */
async function connectStdio(): Promise<Client> {
  const client = new Client({name: 'bench', version: '1'});
  const transport = new StdioClientTransport({
    ...fixtureStdio(0),
    stderr: 'ignore',
    maxBufferSize: 2 * Math.max(...SIZES),
  });
  await client.connect(transport);
  return client;
}

/**
 * One `blob` call of `bytes` through a fresh router (`cli`, default this build) in front of `upstream`: its time, and
 * the router's peak RSS growth during the call.
 */
async function throughRouter(
  upstream: Record<string, unknown>,
  bytes: number,
  notes: string[],
  cli?: string,
): Promise<{ms: number; peakGrowthBytes: number}> {
  const [transport] = Object.keys(upstream) as [string];
  const router = await startRouter(upstream, {}, [], cli);
  const client = await connect(`${router.url}/mcp`);
  try {
    const pid = router.process.pid as number;
    const before = await rssBytes(pid);
    await resetPeakRss(pid);
    const ms = await timedBlob(client, `${transport}__blob`, bytes, notes);
    return {ms, peakGrowthBytes: (await peakRssBytes(pid)) - before};
  } finally {
    await client.close();
    await router.stop();
  }
}

export const largeScenario: Scenario = {
  name: 'large',
  async run({rounds, log, baseline}) {
    const notes: string[] = [];
    const fixtureHttp = await startFixtureHttp(0);
    const fixtureSse = await startFixtureHttp(0, {sse: true});
    const plainProxy = await startRawProxy(fixtureSse.url);
    /** Milliseconds of one call on a fresh client of `url`. */
    const timedAt = (url: string, bytes: number) =>
      connect(url).then((client) => timedBlob(client, 'blob', bytes, notes).finally(() => client.close()));
    const upstreams: Record<string, object> = {stdio: fixtureStdio(0), http: {type: 'http', url: fixtureHttp.url}};
    const connectDirect: Record<string, () => Promise<Client>> = {
      stdio: connectStdio,
      http: () => connect(fixtureHttp.url),
    };
    try {
      const runs: LargeResultRun[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const bytes of SIZES) {
          for (const transport of Object.keys(upstreams)) {
            log(`large: round ${round + 1}/${rounds}, ${bytes / 1e6} MB, ${transport}`);
            const direct = await (connectDirect[transport] as () => Promise<Client>)();
            const directMs = await timedBlob(direct, 'blob', bytes, notes).finally(() => direct.close());
            const sse =
              transport === 'http'
                ? {
                    directSseMs: await timedAt(fixtureSse.url, bytes),
                    plainProxySseMs: await timedAt(plainProxy.url, bytes),
                  }
                : {};
            const upstream = {[transport]: upstreams[transport]};
            const {ms: routerMs, peakGrowthBytes: routerPeakGrowthBytes} = await throughRouter(upstream, bytes, notes);
            const run: LargeResultRun = {
              bytes,
              transport,
              round,
              directMs,
              routerMs,
              routerPeakGrowthBytes,
              ...sse,
            };
            if (baseline) {
              const other = await throughRouter(upstream, bytes, notes, baseline);
              run.baselineMs = other.ms;
              run.baselinePeakGrowthBytes = other.peakGrowthBytes;
            }
            runs.push(run);
          }
        }
      }
      return {tables: [largeResultTable(runs)], notes};
    } finally {
      await Promise.all([fixtureHttp.stop(), fixtureSse.stop(), plainProxy.stop()]);
    }
  },
};
