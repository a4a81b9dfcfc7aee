import {describe, expect, it} from 'vitest';
import {selfTimeByPackage, packageOf} from '../../bench/cpuprofile.js';
import type {LoadSample} from '../../bench/load.js';
import {
  cpuTable,
  formatTable,
  largeResultTable,
  loadTables,
  memoryTable,
  percentile,
  spread,
  type LoadRun,
} from '../../bench/report.js';

/** A load of `calls` calls of `ms` each over one second. */
const sample = (calls: number, ms: number): LoadSample => ({latenciesMs: Array(calls).fill(ms), seconds: 1, errors: 0});

describe('percentile', () => {
  it.each([
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 99, 4],
    [[7], 1, 7],
    [[], 50, NaN],
  ])('of %j at %d is %d', (sorted, p, expected) => expect(percentile(sorted, p)).toBe(expected));
});

describe('spread', () => {
  it.each([
    [[1.234, 0.5, 2], 2, '0.50-2.00'],
    [[3, 3], 1, '3.0'],
    [[NaN, 4], 0, '4'],
    [[], 2, 'n/a'],
  ])('of %j with %d decimals is %s', (values, digits, expected) => expect(spread(values, digits)).toBe(expected));
});

describe('cpuTable', () => {
  const withCpu = (calls: number, cpuSeconds: Record<string, number>): LoadSample => ({
    ...sample(calls, 1),
    cpuSeconds,
  });
  it('gives each process group’s CPU ms per call and their sum, per path and client count, over the rounds', () => {
    const table = cpuTable('echo', [
      {path: 'direct', clients: 1, round: 0, sample: withCpu(100, {upstream: 0.1, client: 0.2})},
      {path: 'router', clients: 1, round: 0, sample: withCpu(50, {proxy: 0.1, upstream: 0.05, client: 0.1})},
      {path: 'router', clients: 1, round: 1, sample: withCpu(100, {proxy: 0.1, upstream: 0.1, client: 0.2})},
      {path: 'other', clients: 1, round: 0, sample: sample(100, 1)},
    ]);
    expect(table.header).toEqual(['path', 'clients', 'client', 'proxy', 'upstream', 'total']);
    expect(table.rows).toEqual([
      ['direct', '1', '2.00', '-', '1.00', '3.00'],
      ['router', '1', '2.00', '1.00-2.00', '1.00', '4.00-5.00'],
    ]);
  });
});

describe('loadTables', () => {
  const runs: LoadRun[] = [
    {path: 'direct', clients: 1, round: 0, sample: sample(100, 2)},
    {path: 'router', clients: 1, round: 0, sample: sample(50, 3)},
    {path: 'direct', clients: 1, round: 1, sample: sample(200, 1)},
    {path: 'router', clients: 1, round: 1, sample: sample(150, 1.5)},
    {path: 'direct', clients: 16, round: 0, sample: sample(400, 10)},
    {path: 'router', clients: 16, round: 0, sample: sample(100, 40)},
  ];

  it('spreads each path over its rounds, and takes each ratio within a round', () => {
    const [raw, ratios] = loadTables('echo', runs, [
      {label: 'router / direct, calls/s', numerator: 'router', denominator: 'direct', figure: 'callsPerSecond'},
      {label: 'added p50 ms', numerator: 'router', denominator: 'direct', figure: 'p50', difference: true},
      {label: 'router / absent', numerator: 'router', denominator: 'absent', figure: 'p99'},
    ]);
    expect(raw?.rows).toEqual([
      ['direct', '1', '100-200', '1.00-2.00', '1.00-2.00', '0'],
      ['direct', '16', '400', '10.00', '10.00', '0'],
      ['router', '1', '50-150', '1.50-3.00', '1.50-3.00', '0'],
      ['router', '16', '100', '40.00', '40.00', '0'],
    ]);
    expect(ratios?.header).toEqual(['measure', '1 client', '16 clients']);
    expect(ratios?.rows).toEqual([
      ['router / direct, calls/s', '0.50-0.75', '0.25'],
      ['added p50 ms', '0.50-1.00', '30.00'],
      ['router / absent', 'n/a', 'n/a'],
    ]);
  });
});

describe('memoryTable', () => {
  it('shows KiB per session and the ratio to the baseline of the same round', () => {
    const run = (server: string, round: number, idle: number) => ({
      server,
      transport: 'SSE',
      sessions: 1000,
      round,
      idleBytesPerSession: idle * 1024,
      afterCallBytesPerSession: 2 * idle * 1024,
      rssBytes: 100 * 1024 ** 2,
    });
    const table = memoryTable(
      [run('proxy', 0, 20), run('router', 0, 40), run('proxy', 1, 10), run('router', 1, 30)],
      'proxy',
    );
    expect(table.rows).toEqual([
      ['SSE', '1000', 'proxy', '10.0-20.0', '20.0-40.0', '100', '1.00 / 1.00'],
      ['SSE', '1000', 'router', '30.0-40.0', '60.0-80.0', '100', '2.00-3.00 / 2.00-3.00'],
    ]);
  });
});

describe('largeResultTable', () => {
  it('shows router / direct per round and the peak growth against the size, n/a for a failed call', () => {
    const table = largeResultTable([
      {
        bytes: 10_000_000,
        transport: 'stdio',
        round: 0,
        directMs: 100,
        routerMs: 150,
        routerPeakGrowthBytes: 20_000_000,
      },
      {
        bytes: 10_000_000,
        transport: 'stdio',
        round: 1,
        directMs: NaN,
        routerMs: 120,
        routerPeakGrowthBytes: 30_000_000,
      },
    ]);
    expect(table.rows).toEqual([['10 MB', 'stdio', '100', '120-150', '1.50', '2.00-3.00']]);
  });

  it('shows the direct SSE and plain proxy times and the ratios to them where a run has them, n/a on the others', () => {
    const run = {bytes: 10_000_000, round: 0, directMs: 100, routerMs: 150, routerPeakGrowthBytes: 20_000_000};
    const table = largeResultTable([
      {...run, transport: 'stdio'},
      {...run, transport: 'http', directSseMs: 125, plainProxySseMs: 100},
    ]);
    expect(table.header).toEqual([
      'result',
      'upstream',
      'direct ms',
      'direct SSE ms',
      'plain proxy SSE ms',
      'router ms',
      'ratio',
      'ratio to direct SSE',
      'ratio to plain proxy SSE',
      'router peak / size',
    ]);
    expect(table.rows).toEqual([
      ['10 MB', 'stdio', '100', 'n/a', 'n/a', '150', '1.50', 'n/a', 'n/a', '2.00'],
      ['10 MB', 'http', '100', '125', '100', '150', '1.50', '1.20', '1.50', '2.00'],
    ]);
  });

  it("shows a warmed router's first call beside the call after its warm-up, whose time the ratio takes", () => {
    const table = largeResultTable([
      {
        bytes: 50_000_000,
        transport: 'http',
        round: 0,
        directMs: 400,
        routerFirstMs: 1200,
        routerMs: 500,
        routerPeakGrowthBytes: 50_000_000,
      },
    ]);
    expect(table.header.slice(3, 6)).toEqual(['router first call ms', 'router ms', 'ratio']);
    expect(table.rows).toEqual([['50 MB', 'http', '400', '1200', '500', '1.25', '1.00']]);
  });
});

describe('formatTable', () => {
  it('pads a Markdown table under its title', () => {
    expect(formatTable({title: 'T', header: ['a', 'bb'], rows: [['ccc', 'd']]})).toBe(
      ['**T**', '', '| a   | bb |', '| --- | -- |', '| ccc | d  |'].join('\n'),
    );
  });
});

describe('selfTimeByPackage', () => {
  it.each([
    ['file:///x/node_modules/express/lib/router.js', 'express'],
    ['file:///x/node_modules/@modelcontextprotocol/sdk/dist/esm/shared/protocol.js', '@modelcontextprotocol/sdk'],
    ['file:///x/node_modules/a/node_modules/b/index.js', 'b'],
    ['file:///x/dist/router/http/app.js', 'kube-mcp-router'],
    ['node:internal/streams/readable', undefined],
  ])('charges %s to %s', (url, expected) => expect(packageOf(url)).toBe(expected));

  it("charges Node's core to the package that called it, and keeps V8's own entries", () => {
    const frame = (id: number, url: string, children: number[] = [], functionName = 'f') => ({
      id,
      callFrame: {functionName, url},
      children,
    });
    const shares = selfTimeByPackage({
      nodes: [
        frame(1, '', [2, 4], '(root)'),
        frame(2, 'file:///x/node_modules/express/index.js', [3]),
        frame(3, 'node:events'),
        frame(4, '', [], '(garbage collector)'),
        frame(5, 'node:net'),
      ],
      samples: [2, 3, 3, 4, 5],
      timeDeltas: [1000, 1000, 1000, 1000, 1000],
    });
    expect(shares).toEqual([
      {name: 'express', ms: 3, share: 0.6},
      {name: '(garbage collector)', ms: 1, share: 0.2},
      {name: 'node core', ms: 1, share: 0.2},
    ]);
  });

  it('sums the packages under the given share into one entry', () => {
    const frame = (id: number, url: string) => ({id, callFrame: {functionName: 'f', url}});
    const shares = selfTimeByPackage(
      {
        nodes: [
          frame(1, 'file:///x/node_modules/a/i.js'),
          frame(2, 'file:///x/node_modules/b/i.js'),
          frame(3, 'node:net'),
        ],
        samples: [1, 1, 2, 3],
        timeDeltas: [1000, 1000, 1000, 1000],
      },
      0.3,
    );
    expect(shares).toEqual([
      {name: 'a', ms: 2, share: 0.5},
      {name: 'other packages', ms: 2, share: 0.5},
    ]);
  });
});
