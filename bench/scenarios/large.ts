/**
 * Large results: one tools/call of the fixture server's `blob` of 10 MB and 50 MB, from the fixture directly (stdio,
 * and Streamable HTTP) and through the router (which reaches the same fixture over stdio, or over HTTP), with the
 * router's peak RSS growth during the call. Each call gets fresh clients, a fresh router and, for stdio, a fresh
 * fixture process, so that no heap grown by an earlier call hides the next one's peak. A failed call is noted and
 * shows as `n/a`.
 */
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js';
import {connect} from '../load.js';
import {fixtureStdio, peakRssBytes, resetPeakRss, rssBytes, startFixtureHttp, startRouter} from '../processes.js';
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

export const largeScenario: Scenario = {
  name: 'large',
  async run({rounds, log}) {
    const notes: string[] = [];
    const fixtureHttp = await startFixtureHttp(0);
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
            const router = await startRouter({[transport]: upstreams[transport]});
            const viaRouter = await connect(`${router.url}/mcp`);
            try {
              const pid = router.process.pid as number;
              const before = await rssBytes(pid);
              await resetPeakRss(pid);
              const routerMs = await timedBlob(viaRouter, `${transport}__blob`, bytes, notes);
              const routerPeakGrowthBytes = (await peakRssBytes(pid)) - before;
              runs.push({bytes, transport, round, directMs, routerMs, routerPeakGrowthBytes});
            } finally {
              await viaRouter.close();
              await router.stop();
            }
          }
        }
      }
      return {tables: [largeResultTable(runs)], notes};
    } finally {
      await fixtureHttp.stop();
    }
  },
};
