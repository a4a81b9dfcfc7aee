/**
 * Pure functions that turn what the benchmarks measured into Markdown tables. Every figure is shown as its spread
 * over the rounds of one run (`lo-hi`); a ratio is taken per round, between two things measured side by side in that
 * round, and then spread.
 */
import type {LoadSample} from './load.js';

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

/** The value at percentile `p` (0-100) of ascending `sorted` values, nearest rank; NaN when there are none. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** `lo-hi` of `values` with `digits` decimals (one figure when they agree, `n/a` when there are none). */
export function spread(values: number[], digits = 2): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return 'n/a';
  const [lo, hi] = [Math.min(...finite).toFixed(digits), Math.max(...finite).toFixed(digits)];
  return lo === hi ? lo : `${lo}-${hi}`;
}

/** A Markdown table under its title. */
export function formatTable({title, header, rows}: Table): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  const rule = `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`;
  return [`**${title}**`, '', line(header), rule, ...rows.map(line)].join('\n');
}

/** One load of one round: which path (a name such as `direct`), at how many clients, and what it measured. */
export interface LoadRun {
  path: string;
  clients: number;
  round: number;
  sample: LoadSample;
}

/** Calls per second, p50 and p99 in ms, and errors of one load. */
export interface LoadFigures {
  callsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

export function loadFigures({latenciesMs, seconds, errors}: LoadSample): LoadFigures {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {callsPerSecond: sorted.length / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), errors};
}

/** A row of ratios: `numerator` against `denominator`, per round; `difference` gives `p50` in ms added instead. */
export interface Comparison {
  label: string;
  numerator: string;
  denominator: string;
  figure: 'callsPerSecond' | 'p50' | 'p99';
  difference?: boolean;
}

const uniqueSorted = (values: number[]) => [...new Set(values)].sort((a, b) => a - b);

/**
 * Two tables of closed-loop loads: each path's calls/s, p50 and p99 (ms) and errors per client count, and the
 * `comparisons` per client count. A comparison whose path was not measured shows `n/a`.
 */
export function loadTables(title: string, runs: LoadRun[], comparisons: Comparison[]): Table[] {
  const levels = uniqueSorted(runs.map((r) => r.clients));
  const paths = [...new Set(runs.map((r) => r.path))];
  const figures = (path: string, clients: number) =>
    runs
      .filter((r) => r.path === path && r.clients === clients)
      .map((r) => ({round: r.round, ...loadFigures(r.sample)}));
  const raw: Table = {
    title: `${title}: each path`,
    header: ['path', 'clients', 'calls/s', 'p50 ms', 'p99 ms', 'errors'],
    rows: paths.flatMap((path) =>
      levels.map((clients) => {
        const f = figures(path, clients);
        const of = (key: keyof LoadFigures, digits: number) =>
          spread(
            f.map((x) => x[key]),
            digits,
          );
        return [path, String(clients), of('callsPerSecond', 0), of('p50', 2), of('p99', 2), of('errors', 0)];
      }),
    ),
  };
  const ratio = (c: Comparison, clients: number) => {
    const den = figures(c.denominator, clients);
    const perRound = figures(c.numerator, clients).flatMap((n) => {
      const d = den.find((x) => x.round === n.round);
      if (!d) return [];
      return [c.difference ? n[c.figure] - d[c.figure] : n[c.figure] / d[c.figure]];
    });
    return spread(perRound);
  };
  const ratios: Table = {
    title: `${title}: ratios, per round`,
    header: ['measure', ...levels.map((n) => (n === 1 ? '1 client' : `${n} clients`))],
    rows: comparisons.map((c) => [c.label, ...levels.map((clients) => ratio(c, clients))]),
  };
  return [raw, ratios];
}

/**
 * CPU time per call of the processes of each path, per client count: ms per call of each group that `Load.cpuOf`
 * named, and of `client` (the load's own process), and their sum, each as its spread over the rounds. On a machine
 * whose cores are all busy, calls/s follows the sum. Runs without CPU figures are left out; a group a path does not
 * have shows `-`.
 */
export function cpuTable(title: string, runs: LoadRun[]): Table {
  const measured = runs.filter((r) => r.sample.cpuSeconds && r.sample.latenciesMs.length > 0);
  const groups = [...new Set(measured.flatMap((r) => Object.keys(r.sample.cpuSeconds ?? {})))].sort();
  const keys = [...new Set(measured.map((r) => `${r.path}\u0000${r.clients}`))];
  const rows = keys.map((key) => {
    const same = measured.filter((r) => `${r.path}\u0000${r.clients}` === key);
    const perCall = (r: LoadRun, seconds: number) => (seconds * 1000) / r.sample.latenciesMs.length;
    const group = (name: string) =>
      same.some((r) => r.sample.cpuSeconds?.[name] !== undefined)
        ? spread(same.map((r) => perCall(r, r.sample.cpuSeconds?.[name] ?? NaN)))
        : '-';
    const total = spread(
      same.map((r) =>
        perCall(
          r,
          Object.values(r.sample.cpuSeconds ?? {}).reduce((a, b) => a + b),
        ),
      ),
    );
    return [same[0]!.path, String(same[0]!.clients), ...groups.map(group), total];
  });
  return {
    title: `${title}: CPU ms per call, by process (per round)`,
    header: ['path', 'clients', ...groups, 'total'],
    rows,
  };
}

/** RSS growth of one server process for `sessions` sessions of one transport, per session, idle and after a call. */
export interface SessionMemoryRun {
  server: string;
  transport: string;
  sessions: number;
  round: number;
  idleBytesPerSession: number;
  afterCallBytesPerSession: number;
  /** The whole process once every session has made its call. */
  rssBytes: number;
}

/** Per transport and session count: each server's KiB per session (idle, after a call), its RSS, and its ratio. */
export function memoryTable(runs: SessionMemoryRun[], baseline: string): Table {
  const keys = [...new Set(runs.map((r) => `${r.transport}\u0000${r.sessions}`))];
  const servers = [...new Set(runs.map((r) => r.server))];
  const rows = keys.flatMap((key) => {
    const same = runs.filter((r) => `${r.transport}\u0000${r.sessions}` === key);
    const base = same.filter((r) => r.server === baseline);
    return servers.map((server) => {
      const mine = same.filter((r) => r.server === server);
      const ratio = (field: 'idleBytesPerSession' | 'afterCallBytesPerSession') =>
        spread(mine.map((r) => r[field] / (base.find((b) => b.round === r.round)?.[field] ?? NaN)));
      const kib = (field: 'idleBytesPerSession' | 'afterCallBytesPerSession') =>
        spread(
          mine.map((r) => r[field] / 1024),
          1,
        );
      const [first] = same;
      return [
        first?.transport ?? '',
        String(first?.sessions ?? ''),
        server,
        kib('idleBytesPerSession'),
        kib('afterCallBytesPerSession'),
        spread(
          mine.map((r) => r.rssBytes / 1024 ** 2),
          0,
        ),
        `${ratio('idleBytesPerSession')} / ${ratio('afterCallBytesPerSession')}`,
      ];
    });
  });
  return {
    title: `Session memory: RSS growth per session (ratio = server / ${baseline}, per round)`,
    header: ['transport', 'sessions', 'server', 'KiB idle', 'KiB after a call', 'RSS MiB', 'ratio idle / after'],
    rows,
  };
}

/** One large result fetched directly and through the router, in ms, and the router's peak RSS growth meanwhile. */
export interface LargeResultRun {
  bytes: number;
  transport: string;
  round: number;
  directMs: number;
  /** Over HTTP: the same directly, with the upstream answering in an SSE stream as the router does. */
  directSseMs?: number;
  /** Over HTTP: the same through a plain proxy (bytes piped unread) in front of the upstream answering in SSE. */
  plainProxySseMs?: number;
  /** The call on a warmed router, or its first call when the run had no warm-up. */
  routerMs: number;
  /** With a warm-up: the router's first call, on the fresh process. */
  routerFirstMs?: number;
  /** The router's peak RSS growth during its first call, in bytes. */
  routerPeakGrowthBytes: number;
  /** With `--baseline`: the same through the other build. */
  baselineMs?: number;
  baselinePeakGrowthBytes?: number;
}

/** The other paths a large result may be timed on besides direct, each shown when a run has it. */
const LARGE_REFERENCES = [
  {field: 'directSseMs', name: 'direct SSE'},
  {field: 'plainProxySseMs', name: 'plain proxy SSE'},
] as const;

export function largeResultTable(runs: LargeResultRun[]): Table {
  const keys = [...new Set(runs.map((r) => `${r.bytes}\u0000${r.transport}`))];
  const baseline = runs.some((r) => r.baselineMs !== undefined);
  const references = LARGE_REFERENCES.filter(({field}) => runs.some((r) => r[field] !== undefined));
  const warmed = runs.some((r) => r.routerFirstMs !== undefined);
  const ms = (values: number[]) => spread(values, 0);
  return {
    title:
      'Large results: one tools/call (ratio = router / direct, per round; direct SSE = the upstream answering in an ' +
      'SSE stream; plain proxy SSE = the same through a plain proxy; router = a warmed router, after its first call; ' +
      'peak = RSS growth during the first call / result size)',
    header: [
      'result',
      'upstream',
      'direct ms',
      ...references.map(({name}) => `${name} ms`),
      ...(warmed ? ['router first call ms'] : []),
      'router ms',
      'ratio',
      ...references.map(({name}) => `ratio to ${name}`),
      'router peak / size',
      ...(baseline ? ['baseline ms', 'baseline ratio', 'baseline peak / size'] : []),
    ],
    rows: keys.map((key) => {
      const same = runs.filter((r) => `${r.bytes}\u0000${r.transport}` === key);
      const [first] = same as [LargeResultRun];
      const others = baseline
        ? [
            ms(same.map((r) => r.baselineMs ?? NaN)),
            spread(same.map((r) => (r.baselineMs ?? NaN) / r.directMs)),
            spread(same.map((r) => (r.baselinePeakGrowthBytes ?? NaN) / r.bytes)),
          ]
        : [];
      return [
        `${first.bytes / 1e6} MB`,
        first.transport,
        ms(same.map((r) => r.directMs)),
        ...references.map(({field}) => ms(same.map((r) => r[field] ?? NaN))),
        ...(warmed ? [ms(same.map((r) => r.routerFirstMs ?? NaN))] : []),
        ms(same.map((r) => r.routerMs)),
        spread(same.map((r) => r.routerMs / r.directMs)),
        ...references.map(({field}) => spread(same.map((r) => r.routerMs / (r[field] ?? NaN)))),
        spread(same.map((r) => r.routerPeakGrowthBytes / r.bytes)),
        ...others,
      ];
    }),
  };
}
