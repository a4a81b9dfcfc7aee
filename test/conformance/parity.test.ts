import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {type HttpMcpServer, startConformanceServer} from '../support/mcp-servers.js';
import {startTestRouter} from '../support/router.js';
import {type CheckDifference, differences, passed, renderTable, type ScenarioResults, unexpected} from './checks.js';
import {nodeBinary, runSuite} from './cli.js';
import {CONFORMANCE_SUITES, type ConformanceSuite} from './suites.js';

// The conformance suite as a test (issue 10): its server scenarios against our fixture server of the suite's protocol
// version (suites.ts names it; it serves what the scenarios ask for), directly and through the router.
// A per-upstream path (/mcp/{upstream}) must give exactly the direct results, check by check, in both session modes;
// the aggregate (/mcp) must pass every scenario that does not call a tool or prompt by its literal name (suites.ts
// says which, and why). The table of all runs is printed.

const UPSTREAM = 'conformance';
const SESSION_MODES = ['shared', 'perSession'] as const;
type SessionMode = (typeof SESSION_MODES)[number];

/** A run of the suite: the fixture server itself, or one of its router paths in a session mode. */
type Run = {name: string; path: 'direct'} | {name: string; path: 'upstream' | 'aggregate'; mode: SessionMode};

const RUNS: readonly Run[] = [
  {name: 'direct', path: 'direct'},
  ...SESSION_MODES.map((mode): Run => ({name: `/mcp/${UPSTREAM} ${mode}`, mode, path: 'upstream'})),
  ...SESSION_MODES.map((mode): Run => ({name: `/mcp ${mode}`, mode, path: 'aggregate'})),
];

describe.each(CONFORMANCE_SUITES.map((suite) => [suite.version, suite] as const))(
  'conformance %s',
  (_version, suite: ConformanceSuite) => {
    const scenarios = Object.keys(suite.scenarios);
    const results = new Map<string, ScenarioResults>();
    let fixture: HttpMcpServer | undefined;
    const routers: {stop(): Promise<void>}[] = [];

    beforeAll(async () => {
      const node = await nodeBinary(suite.node);
      fixture = await startConformanceServer(suite.fixture);
      const routerUrls = new Map<SessionMode, string>();
      for (const mode of SESSION_MODES) {
        const router = await startTestRouter({
          mcpServers: {[UPSTREAM]: {type: 'http', url: fixture.url, session: mode}},
        });
        routers.push(router);
        routerUrls.set(mode, router.url);
      }
      // One run at a time: each takes seconds, and the machine's cores are shared.
      const seconds: string[] = [];
      for (const run of RUNS) {
        const url =
          run.path === 'direct'
            ? fixture.url
            : `${routerUrls.get(run.mode)}/mcp${run.path === 'upstream' ? `/${UPSTREAM}` : ''}`;
        const started = performance.now();
        results.set(run.name, await runSuite(suite, node, url));
        seconds.push(`${run.name} ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
      console.log(`${table(suite, scenarios, results)}\nRuns took: ${seconds.join(', ')}`);
    }, 600_000);

    afterAll(async () => {
      await Promise.all(routers.map((router) => router.stop()));
      await fixture?.stop();
    });

    const resultsOf = (run: string): ScenarioResults => results.get(run) ?? new Map();

    it('runs exactly the scenarios its data lists', () => {
      for (const run of RUNS) expect([...resultsOf(run.name).keys()].sort(), run.name).toEqual([...scenarios].sort());
    });

    it.each(SESSION_MODES)(`/mcp/${UPSTREAM} in %s mode gives the direct results, check by check`, (mode) => {
      const found = differences(resultsOf('direct'), resultsOf(`/mcp/${UPSTREAM} ${mode}`), scenarios);
      expect(unexpected(found, suite.knownDifferences).map(describeDifference)).toEqual([]);
    });

    it.each(SESSION_MODES)('/mcp in %s mode passes every scenario that does not need exact names', (mode) => {
      const results = resultsOf(`/mcp ${mode}`);
      const failed = scenarios.filter(
        (scenario) => suite.scenarios[scenario]?.aggregate === 'passes' && !passed(results.get(scenario)),
      );
      expect(failed.map((scenario) => `${scenario}: ${failures(results, scenario)}`)).toEqual([]);
    });
  },
);

/**
 * The printed table: checks passed per scenario and run; `≠` where a per-upstream run differs from direct, or the
 * aggregate fails a scenario it must pass.
 */
function table(suite: ConformanceSuite, scenarios: string[], results: ReadonlyMap<string, ScenarioResults>): string {
  const direct = results.get('direct') ?? new Map();
  const runs = RUNS.map((run) => {
    const runResults = results.get(run.name) ?? new Map();
    const wrong =
      run.path === 'upstream'
        ? unexpected(differences(direct, runResults, scenarios), suite.knownDifferences).map((d) => d.scenario)
        : run.path === 'aggregate'
          ? scenarios.filter((s) => suite.scenarios[s]?.aggregate === 'passes' && !passed(runResults.get(s)))
          : [];
    return {name: run.name, results: runResults, marks: new Map(wrong.map((s) => [s, ' ≠']))};
  });
  const notes = new Map(
    scenarios.map((scenario) => {
      const expectation = suite.scenarios[scenario];
      const prefix = expectation?.aggregate === 'passes' ? '' : 'aggregate may fail: ';
      return [scenario, `${prefix}${expectation?.reason ?? ''}`];
    }),
  );
  return `conformance ${suite.version} (${suite.suite} suite${suite.specVersion ? ` at ${suite.specVersion}` : ''}), checks passed/run per scenario (≠: not as required):\n${renderTable(scenarios, runs, notes)}`;
}

function describeDifference(d: CheckDifference): string {
  const detail = [d.expectedError && `direct: ${d.expectedError}`, d.actualError && `router: ${d.actualError}`]
    .filter(Boolean)
    .join('; ');
  return `${d.scenario} / ${d.check}: direct ${d.expected ?? 'absent'}, router ${d.actual ?? 'absent'}${detail ? ` (${detail})` : ''}`;
}

function failures(results: ScenarioResults, scenario: string): string {
  const checks = results.get(scenario);
  if (checks === undefined) return 'did not run';
  return checks
    .filter((check) => check.status === 'FAILURE')
    .map((check) => `${check.id}: ${check.errorMessage ?? 'FAILURE'}`)
    .join('; ');
}
