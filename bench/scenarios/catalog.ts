/**
 * The aggregated catalog: `tools/list` of the fixture server's 1,000 tools at 1 client, through the router and
 * through punkpeye's `mcp-proxy` (both with the fixture over stdio), from the fixture directly over Streamable HTTP,
 * and from the floor server (plain `node:http` writing the same list's JSON, made once: what Node.js itself costs);
 * with `--baseline`, through another build of the router too. Measured twice: with the SDK client (which parses and
 * validates the 1,000 tools, most of its time) and with a raw HTTP client (time to the last byte of the response, no
 * parse), whose figure is the server's own time.
 */
import {Agent, request} from 'node:http';
import type {Client} from '@modelcontextprotocol/sdk/client/index.js';
import type {HttpMcpServer} from '../../test/support/mcp-servers.js';
import {INITIALIZE, MCP_HEADERS} from '../../test/support/router.js';
import {CALL_TIMEOUT_MS, roundOrder, runLoad, warmUp, WARMUP_CLIENTS, type LoadSample} from '../load.js';
import {startFixtureHttp} from '../processes.js';
import {loadTables, type Comparison, type LoadRun} from '../report.js';
import {CATALOG_TOOLS, catalogServers} from './memory.js';
import type {Scenario} from './scenario.js';

/** The answer to one raw POST: status, the session id header, and the body's length in bytes (read, not parsed). */
interface RawAnswer {
  status: number;
  sessionId?: string;
  bytes: number;
}

/** POSTs one JSON-RPC message on a keep-alive connection and reads the whole answer. */
function post(agent: Agent, url: URL, message: object, sessionId?: string): Promise<RawAnswer> {
  const body = JSON.stringify(message);
  const headers = {
    ...MCP_HEADERS,
    'content-length': Buffer.byteLength(body),
    ...(sessionId && {'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25'}),
  };
  return new Promise((resolve, reject) => {
    const req = request(url, {method: 'POST', agent, headers, timeout: CALL_TIMEOUT_MS}, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        const id = res.headers['mcp-session-id'];
        resolve({status: res.statusCode ?? 0, bytes, ...(typeof id === 'string' && {sessionId: id})});
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * `tools/list` again and again on one raw Streamable HTTP session (MCP 2025-11-25), one connection kept alive: the
 * latency of each is the time to the last byte of its answer. An answer that is not 200 counts as an error.
 */
async function rawListLoad(endpoint: string, warmupSeconds: number, seconds: number): Promise<LoadSample> {
  const agent = new Agent({keepAlive: true, maxSockets: 1});
  const url = new URL(endpoint);
  try {
    const {sessionId} = await post(agent, url, INITIALIZE);
    await post(agent, url, {jsonrpc: '2.0', method: 'notifications/initialized'}, sessionId);
    const list = {jsonrpc: '2.0', id: 2, method: 'tools/list', params: {}};
    const sample: LoadSample = {latenciesMs: [], seconds: 0, errors: 0};
    const until = async (deadline: number, into?: LoadSample) => {
      while (performance.now() < deadline) {
        const started = performance.now();
        const answer = await post(agent, url, list, sessionId).catch(() => undefined);
        if (answer?.status === 200 && answer.bytes > 0) into?.latenciesMs.push(performance.now() - started);
        else if (into) into.errors++;
      }
    };
    await until(performance.now() + warmupSeconds * 1000);
    const started = performance.now();
    await until(started + seconds * 1000, sample);
    sample.seconds = (performance.now() - started) / 1000;
    return sample;
  } finally {
    agent.destroy();
  }
}

const RAW = ' (raw HTTP)';

/** Ratios of `numerator` to `denominator`, p50, for the SDK client and the raw client. */
function p50Ratios(label: string, numerator: string, denominator: string): Comparison[] {
  return [
    {label: `${label}, p50 (SDK client)`, numerator, denominator, figure: 'p50'},
    {label: `${label}, p50 (raw HTTP)`, numerator: numerator + RAW, denominator: denominator + RAW, figure: 'p50'},
  ];
}

export const catalogScenario: Scenario = {
  name: 'catalog',
  async run({rounds, seconds, warmupSeconds, log, baseline}) {
    const started: HttpMcpServer[] = [];
    try {
      const direct = await startFixtureHttp(CATALOG_TOOLS);
      started.push(direct);
      const paths = [{name: 'direct (fixture)', url: direct.url}];
      for (const server of catalogServers(baseline)) {
        const running = await server.start();
        started.push(running);
        paths.push({name: server.name, url: `${running.url}/mcp`});
      }
      const list = (client: Client, options: {timeout: number}) => client.listTools(undefined, options);
      for (const {name, url} of paths) {
        log(`catalog: warm-up, ${name} (${warmupSeconds} s at ${WARMUP_CLIENTS} clients)`);
        await warmUp({url, call: list}, warmupSeconds);
      }
      const runs: LoadRun[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const {name, url} of roundOrder(paths, round)) {
          log(`catalog: round ${round + 1}/${rounds}, ${name}`);
          const sample = await runLoad({
            url,
            call: list,
            clients: 1,
            warmupSeconds: 0.5,
            seconds,
          });
          runs.push({path: name, clients: 1, round, sample});
          log(`catalog: round ${round + 1}/${rounds}, ${name}, raw HTTP`);
          runs.push({path: name + RAW, clients: 1, round, sample: await rawListLoad(url, 0.5, seconds)});
        }
      }
      const tables = loadTables(`tools/list, ${CATALOG_TOOLS + 1} tools`, runs, [
        ...p50Ratios('router / mcp-proxy (npm)', 'router', 'mcp-proxy (npm)'),
        ...p50Ratios('router / direct', 'router', 'direct (fixture)'),
        {
          label: 'router, added p50 ms (raw HTTP)',
          numerator: 'router' + RAW,
          denominator: 'direct (fixture)' + RAW,
          figure: 'p50',
          difference: true,
        },
        {
          label: 'router, p50 ms over the floor (raw HTTP)',
          numerator: 'router' + RAW,
          denominator: 'floor (node:http)' + RAW,
          figure: 'p50',
          difference: true,
        },
        ...(baseline ? p50Ratios('router / baseline', 'router', 'baseline') : []),
      ]);
      return {tables, notes: []};
    } finally {
      await Promise.all(started.map((server) => server.stop()));
    }
  },
};
