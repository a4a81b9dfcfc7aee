/**
 * What a session costs: RSS growth per session of the router and of punkpeye's `mcp-proxy`, both in front of the
 * fixture server with a 1,000-tool catalog over stdio, and of the floor server (plain `node:http`, fixed answers), for
 * 1,000 and 10,000 SSE and Streamable HTTP sessions; idle, then once each session has made one tools/call. Each is
 * measured as a bare process on this machine (V8 sizes its heap from the machine's memory) and with the heap Node
 * gives itself in a router pod's default 1 GiB memory limit. A fresh process for every count, transport, server and
 * round. With `--baseline`, another build of the router is measured the same way, in the same rounds.
 */
import type {HttpMcpServer} from '../../test/support/mcp-servers.js';
import {fixtureStdio, rssBytes, startFloorServer, startPunkpeyeProxy, startRouter} from '../processes.js';
import {memoryTable, type SessionMemoryRun} from '../report.js';
import {sseSession, streamableHttpSession, type HeldSession} from '../sessions.js';
import type {Scenario} from './scenario.js';

/** Tools in the catalog of the fixture server the memory and catalog sections use (plus its `blob`). */
export const CATALOG_TOOLS = 1000;
const BATCH = 50;
const settle = () => new Promise((resolve) => setTimeout(resolve, 2000));

/** A server measured: its name, how to start it (resolving with its origin), the name of the fixture's first tool. */
export interface CatalogServer {
  name: string;
  start(): Promise<HttpMcpServer>;
  tool: string;
}

/**
 * The node flag that gives a process the heap Node gives itself in a container limited to 1 GiB, the router pod's
 * default memory limit (`DEFAULT_RESOURCES` in operator/controllers/mcprouter/render.ts): Node sizes V8's heap from the
 * cgroup's memory limit, half of it, and a process in a cgroup v1 memory group limited to 1 GiB reports the same
 * `heap_size_limit` (524 MiB) as one started with this flag.
 */
const POD_HEAP_FLAGS = ['--max-old-space-size=512'];
/** What the names of the servers run with `POD_HEAP_FLAGS` end with. */
const IN_POD = ', 1 GiB pod';

/** The router (the build at `cli`) in front of the fixture over stdio, with room for 10,000 sessions. */
function routerServer(name: string, cli?: string, nodeFlags: string[] = []): CatalogServer {
  const limits = {maxSessions: 20_000, maxSessionsPerPrincipal: 20_000};
  return {
    name,
    start: () => startRouter({catalog: fixtureStdio(CATALOG_TOOLS)}, {limits}, nodeFlags, cli),
    tool: 'catalog__tool-0000',
  };
}

/** punkpeye's `mcp-proxy` in front of the fixture over stdio. */
function punkpeyeServer(name: string, nodeFlags: string[] = []): CatalogServer {
  return {
    name,
    start: async () => {
      const proxy = await startPunkpeyeProxy(fixtureStdio(CATALOG_TOOLS), nodeFlags);
      return {...proxy, url: new URL(proxy.url).origin};
    },
    tool: 'tool-0000',
  };
}

/** The floor server (bench/floor-server.mjs): no MCP library and no upstream, what Node.js itself costs. */
function floorServer(name: string, nodeFlags: string[] = []): CatalogServer {
  return {name, start: () => startFloorServer(CATALOG_TOOLS, nodeFlags), tool: 'tool-0000'};
}

/**
 * The servers measured: this router, punkpeye's `mcp-proxy`, the floor server, and the `baseline` build of the router
 * when given.
 */
export function catalogServers(baseline?: string): CatalogServer[] {
  return [
    routerServer('router'),
    ...(baseline ? [routerServer('baseline', baseline)] : []),
    punkpeyeServer('mcp-proxy (npm)'),
    floorServer('floor (node:http)'),
  ];
}

/** The router, `mcp-proxy` and the floor server with the heap of a 1 GiB pod (`POD_HEAP_FLAGS`). */
function podServers(): CatalogServer[] {
  return [
    routerServer(`router${IN_POD}`, undefined, POD_HEAP_FLAGS),
    punkpeyeServer(`mcp-proxy (npm)${IN_POD}`, POD_HEAP_FLAGS),
    floorServer(`floor (node:http)${IN_POD}`, POD_HEAP_FLAGS),
  ];
}

const transports: Record<string, {path: string; open: (url: string) => Promise<HeldSession>}> = {
  'Streamable HTTP': {path: '/mcp', open: streamableHttpSession},
  SSE: {path: '/sse', open: sseSession},
};

async function inBatches<T, R>(items: T[], each: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += BATCH)
    results.push(...(await Promise.all(items.slice(i, i + BATCH).map(each))));
  return results;
}

/** Opens `count` sessions on one fresh server process, measures, and stops it. */
async function measureOnce(
  server: CatalogServer,
  transport: string,
  count: number,
  round: number,
): Promise<SessionMemoryRun> {
  const running = await server.start();
  const {path, open} = transports[transport] as (typeof transports)[string];
  const url = `${running.url}${path}`;
  const pid = running.process.pid as number;
  let sessions: HeldSession[] = [];
  try {
    const first = await open(url);
    await first.call(server.tool, {message: 'warm'});
    await first.close();
    await settle();
    const before = await rssBytes(pid);
    sessions = await inBatches(Array.from({length: count}), () => open(url));
    await settle();
    const idle = await rssBytes(pid);
    await inBatches(sessions, (s) => s.call(server.tool, {message: 'hello'}));
    await settle();
    const afterCall = await rssBytes(pid);
    return {
      server: server.name,
      transport,
      sessions: count,
      round,
      idleBytesPerSession: (idle - before) / count,
      afterCallBytesPerSession: (afterCall - before) / count,
      rssBytes: afterCall,
    };
  } finally {
    await inBatches(sessions, (s) => s.close().catch(() => undefined));
    await running.stop();
  }
}

export const memoryScenario: Scenario = {
  name: 'memory',
  async run({rounds, log, baseline}) {
    const servers = [...catalogServers(baseline), ...podServers()];
    const runs: SessionMemoryRun[] = [];
    for (const count of [1000, 10_000]) {
      // 10,000 sessions take minutes per process: one round of those.
      for (let round = 0; round < (count > 1000 ? 1 : rounds); round++) {
        for (const transport of Object.keys(transports)) {
          for (const server of servers) {
            log(`memory: round ${round + 1}, ${count} ${transport} sessions, ${server.name}`);
            runs.push(await measureOnce(server, transport, count, round));
          }
        }
      }
    }
    const bare = runs.filter((run) => !run.server.endsWith(IN_POD));
    const tables = [
      memoryTable(bare, 'mcp-proxy (npm)'),
      memoryTable(
        runs.filter((run) => run.server.endsWith(IN_POD)),
        `mcp-proxy (npm)${IN_POD}`,
      ),
      ...(baseline ? [memoryTable(bare, 'baseline')] : []),
    ];
    return {tables, notes: []};
  },
};
