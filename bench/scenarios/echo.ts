/**
 * server-everything's `echo` at 1, 16 and 64 clients, each path side by side in every round: the server directly
 * (Streamable HTTP), the router in front of it (Streamable HTTP upstream), the router with it as a stdio upstream,
 * and the two `mcp-proxy`s with it as their stdio server, and a plain `node:http` proxy in front of it (the floor of any
 * second hop); with `--baseline`, another build of the router in front of the same HTTP upstream.
 */
import type {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {serverEntry, startEverythingHttp, type HttpMcpServer} from '../../test/support/mcp-servers.js';
import {roundOrder, runLoad, warmUp, WARMUP_CLIENTS} from '../load.js';
import {
  descendants,
  pythonMcpProxy,
  startPunkpeyeProxy,
  startPythonProxy,
  startRawProxy,
  startRouter,
} from '../processes.js';
import {cpuTable, loadTables, type Comparison, type LoadRun, type Table} from '../report.js';
import type {Scenario} from './scenario.js';

const everythingStdio = {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']};

/** A tools/call of `echo` (or its aggregated name), as a load sends it. */
export const echo =
  (tool: string) =>
  (client: Client, options: {timeout: number}): Promise<unknown> =>
    client.callTool({name: tool, arguments: {message: 'hello'}}, undefined, options);

interface Path {
  name: string;
  url: string;
  tool: string;
  /** Its processes, whose CPU time per call the bench reports: the proxy in front (none for direct), the upstream. */
  cpuOf: () => Promise<{proxy?: number[]; upstream: number[]}>;
}

const pid = (server: HttpMcpServer) => server.process.pid as number;

/** A path through `proxy` in front of server-everything over HTTP (`direct`). */
const inFrontOf = (direct: HttpMcpServer, name: string, proxy: HttpMcpServer, url: string, tool: string): Path => ({
  name,
  url,
  tool,
  cpuOf: async () => ({proxy: [pid(proxy)], upstream: [pid(direct)]}),
});

/** A path through `proxy` with server-everything as its stdio upstream: every process below the proxy's. */
const overStdio = (name: string, proxy: HttpMcpServer, url: string, tool: string): Path => ({
  name,
  url,
  tool,
  cpuOf: async () => ({proxy: [pid(proxy)], upstream: await descendants(pid(proxy))}),
});

/** A comparison of calls/s, `numerator` against `denominator`. */
const callsPerSecond = (label: string, numerator: string, denominator: string): Comparison => ({
  label,
  numerator,
  denominator,
  figure: 'callsPerSecond',
});

const COMPARISONS: Comparison[] = [
  callsPerSecond('router, HTTP upstream / direct, calls/s', 'router-http', 'direct'),
  {label: 'same, p50 ratio', numerator: 'router-http', denominator: 'direct', figure: 'p50'},
  {label: 'same, p99 ratio', numerator: 'router-http', denominator: 'direct', figure: 'p99'},
  {label: 'same, added p50 ms', numerator: 'router-http', denominator: 'direct', figure: 'p50', difference: true},
  callsPerSecond('raw proxy (floor of a hop) / direct, calls/s', 'raw-proxy', 'direct'),
  callsPerSecond('router, HTTP upstream / raw proxy, calls/s', 'router-http', 'raw-proxy'),
  {
    label: 'raw proxy (floor of a hop), added p50 ms',
    numerator: 'raw-proxy',
    denominator: 'direct',
    figure: 'p50',
    difference: true,
  },
  callsPerSecond('router, stdio upstream / mcp-proxy (npm), calls/s', 'router-stdio', 'mcp-proxy-npm'),
  {label: 'same, p99 ratio', numerator: 'router-stdio', denominator: 'mcp-proxy-npm', figure: 'p99'},
  callsPerSecond('router, stdio upstream / mcp-proxy (PyPI), calls/s', 'router-stdio', 'mcp-proxy-pypi'),
];

/** With `--baseline`: this build against the other one, both in front of the same HTTP upstream. */
const BASELINE_COMPARISONS: Comparison[] = [
  callsPerSecond('router, HTTP upstream: this build / baseline, calls/s', 'router-http', 'baseline-http'),
  {label: 'same, p50 ratio', numerator: 'router-http', denominator: 'baseline-http', figure: 'p50'},
  callsPerSecond('baseline, HTTP upstream / direct, calls/s', 'baseline-http', 'direct'),
];

export const echoScenario: Scenario = {
  name: 'echo',
  async run({rounds, seconds, warmupSeconds, log, baseline}) {
    const notes: string[] = [];
    const started: HttpMcpServer[] = [];
    const keep = (server: HttpMcpServer) => {
      started.push(server);
      return server;
    };
    try {
      const direct = keep(await startEverythingHttp('streamableHttp'));
      const routerHttp = keep(await startRouter({everything: {type: 'http', url: direct.url}}));
      const routerStdio = keep(await startRouter({everything: everythingStdio}));
      const npmProxy = keep(await startPunkpeyeProxy(everythingStdio));
      const rawProxy = keep(await startRawProxy(direct.url));
      const paths: Path[] = [
        {name: 'direct', url: direct.url, tool: 'echo', cpuOf: async () => ({upstream: [pid(direct)]})},
        inFrontOf(direct, 'router-http', routerHttp, `${routerHttp.url}/mcp`, 'everything__echo'),
        overStdio('router-stdio', routerStdio, `${routerStdio.url}/mcp`, 'everything__echo'),
        overStdio('mcp-proxy-npm', npmProxy, npmProxy.url, 'echo'),
        inFrontOf(direct, 'raw-proxy', rawProxy, rawProxy.url, 'echo'),
      ];
      if (baseline) {
        const router = keep(await startRouter({everything: {type: 'http', url: direct.url}}, {}, [], baseline));
        paths.push(inFrontOf(direct, 'baseline-http', router, `${router.url}/mcp`, 'everything__echo'));
      }
      try {
        const pypiProxy = keep(await startPythonProxy(await pythonMcpProxy(), everythingStdio));
        paths.push(overStdio('mcp-proxy-pypi', pypiProxy, pypiProxy.url, 'echo'));
      } catch (error) {
        notes.push(
          `mcp-proxy (PyPI) was not measured: ${error instanceof Error ? error.message.split('\n')[0] : error}`,
        );
      }
      for (const path of paths) {
        log(`echo: warm-up, ${path.name} (${warmupSeconds} s at ${WARMUP_CLIENTS} clients)`);
        await warmUp({url: path.url, call: echo(path.tool)}, warmupSeconds);
      }
      const runs: LoadRun[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const clients of [1, 16, 64]) {
          for (const path of roundOrder(paths, round)) {
            log(`echo: round ${round + 1}/${rounds}, ${clients} client(s), ${path.name}`);
            const sample = await runLoad({
              url: path.url,
              call: echo(path.tool),
              clients,
              warmupSeconds: 0.5,
              seconds,
              cpuOf: path.cpuOf,
            });
            runs.push({path: path.name, clients, round, sample});
          }
        }
      }
      const comparisons = baseline ? [...COMPARISONS, ...BASELINE_COMPARISONS] : COMPARISONS;
      const title = 'tools/call echo (server-everything)';
      const tables: Table[] = [...loadTables(title, runs, comparisons), cpuTable(title, runs)];
      return {tables, notes};
    } finally {
      await Promise.all(started.map((server) => server.stop()));
    }
  },
};
