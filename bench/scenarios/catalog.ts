/**
 * The aggregated catalog: `tools/list` of the fixture server's 1,000 tools at 1 client, through the router and
 * through punkpeye's `mcp-proxy` (both with the fixture over stdio), and from the fixture directly over Streamable
 * HTTP.
 */
import type {HttpMcpServer} from '../../test/support/mcp-servers.js';
import {runLoad} from '../load.js';
import {startFixtureHttp} from '../processes.js';
import {loadTables, type LoadRun} from '../report.js';
import {CATALOG_TOOLS, catalogServers} from './memory.js';
import type {Scenario} from './scenario.js';

export const catalogScenario: Scenario = {
  name: 'catalog',
  async run({rounds, seconds, log}) {
    const started: HttpMcpServer[] = [];
    try {
      const direct = await startFixtureHttp(CATALOG_TOOLS);
      started.push(direct);
      const paths = [{name: 'direct (fixture)', url: direct.url}];
      for (const server of catalogServers) {
        const running = await server.start();
        started.push(running);
        paths.push({name: server.name, url: `${running.url}/mcp`});
      }
      const runs: LoadRun[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const {name, url} of paths) {
          log(`catalog: round ${round + 1}/${rounds}, ${name}`);
          const sample = await runLoad({
            url,
            call: (c, o) => c.listTools(undefined, o),
            clients: 1,
            warmupSeconds: 0.5,
            seconds,
          });
          runs.push({path: name, clients: 1, round, sample});
        }
      }
      const tables = loadTables(`tools/list, ${CATALOG_TOOLS + 1} tools`, runs, [
        {label: 'router / mcp-proxy (npm), p50', numerator: 'router', denominator: 'mcp-proxy (npm)', figure: 'p50'},
        {label: 'router / direct, p50', numerator: 'router', denominator: 'direct (fixture)', figure: 'p50'},
      ]);
      return {tables, notes: []};
    } finally {
      await Promise.all(started.map((server) => server.stop()));
    }
  },
};
