/**
 * The pure parts of `npm run bench:operator` (bench/operator.ts): the objects it creates, and the table of what it
 * measured.
 */
import {API_VERSION} from '../operator/api/types.js';
import {LAST_APPLIED_ANNOTATION} from '../operator/runtime/cache-transforms.js';
import type {KubeObject} from '../operator/runtime/kube.js';
import {spread, type Table} from './report.js';

/** How many McpUpstreams and McpRouters one measurement creates; each router selects `upstreams / routers`. */
export interface Size {
  upstreams: number;
  routers: number;
}

/** How the operator under test caches: as shipped (`trimmed`), or whole objects (`cacheWholeObjects`). */
export type CacheMode = 'trimmed' | 'whole';

/** What one operator measured, at one size and cache mode. */
export interface OperatorRun {
  size: Size;
  mode: CacheMode;
  /** From its start until every router was rendered and every upstream had a status of its generation. */
  renderedSeconds: number;
  /** From its start until then and the queues had been empty for 3 s. */
  coldStartSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
  /** V8 heap in use once settled, garbage included. */
  heapUsedBytes: number;
  /** V8 heap in use after a full collection: what the operator retains (its caches among it). */
  heapRetainedBytes: number;
  /** Requests other than GET per minute in a quiet window at steady state. */
  writesPerMinute: number;
  /** GETs per minute in that window (lists and reads; watches are not counted). */
  getsPerMinute: number;
  /** From an McpUpstream patch to its router's ConfigMap carrying the change, median and slowest of 5 (ms). */
  editMsP50: number;
  editMsMax: number;
}

/** The label by which routers select their upstreams. */
export const GROUP_LABEL = 'bench.mcprouter.dev/group';

/**
 * `1000x100,2000x200` as sizes.
 * @throws Error naming the part that is not `UPSTREAMSxROUTERS` with routers at least 1 and at most upstreams
 */
export function parseSizes(text: string): Size[] {
  return text.split(',').map((part) => {
    const match = /^(\d+)x(\d+)$/.exec(part.trim());
    const size = match && {upstreams: Number(match[1]), routers: Number(match[2])};
    if (!size || size.routers < 1 || size.routers > size.upstreams) {
      throw new Error(`--sizes: "${part}" is not UPSTREAMSxROUTERS (e.g. 1000x100, routers from 1 to upstreams)`);
    }
    return size;
  });
}

/** `object` as `kubectl apply` creates it: with the last-applied annotation holding the object as applied. */
function asApplied(object: KubeObject): KubeObject {
  return {
    ...object,
    metadata: {...object.metadata, annotations: {[LAST_APPLIED_ANNOTATION]: `${JSON.stringify(object)}\n`}},
  };
}

/**
 * The McpUpstreams (`u-0000`, ...: a stdio server with an env var and a tool filter, labelled with group `g-NNN`) and
 * McpRouters (`r-NNN`, one replica, selecting their group) of one size in `namespace`; upstream `i` is in group
 * `i % routers`.
 */
export function benchObjects(size: Size, namespace: string): {upstreams: KubeObject[]; routers: KubeObject[]} {
  const digits = (n: number, width: number) => String(n).padStart(width, '0');
  const group = (j: number) => `g-${digits(j, 3)}`;
  const upstreams = Array.from({length: size.upstreams}, (_, i) =>
    asApplied({
      apiVersion: API_VERSION,
      kind: 'McpUpstream',
      metadata: {name: `u-${digits(i, 4)}`, namespace, labels: {[GROUP_LABEL]: group(i % size.routers)}},
      spec: {
        stdio: {command: 'mcp-server-everything', args: ['stdio'], env: [{name: 'LOG_LEVEL', value: 'info'}]},
        tools: {exclude: ['trigger-long-running-operation']},
      },
    }),
  );
  const routers = Array.from({length: size.routers}, (_, j) =>
    asApplied({
      apiVersion: API_VERSION,
      kind: 'McpRouter',
      metadata: {name: `r-${digits(j, 3)}`, namespace},
      spec: {upstreamSelector: {matchLabels: {[GROUP_LABEL]: group(j)}}, replicas: 1},
    }),
  );
  return {upstreams, routers};
}

/** The argument the `edit`-th edit gives the first upstream's command, looked for in its router's ConfigMap. */
export function editedArg(edit: number): string {
  return `--bench-edit-${edit}`;
}

const mib = (bytes: number) => spread([bytes / 2 ** 20], 0);

/**
 * One row per size and cache mode, then per size the ratio of whole to trimmed for times, RSS and heap (how much
 * more whole objects take).
 */
export function operatorTable(runs: OperatorRun[]): Table {
  const rows = runs.map((run) => [
    `${run.size.upstreams} / ${run.size.routers}`,
    run.mode,
    `${spread([run.renderedSeconds], 1)} / ${spread([run.coldStartSeconds], 1)}`,
    mib(run.rssBytes),
    mib(run.peakRssBytes),
    mib(run.heapUsedBytes),
    mib(run.heapRetainedBytes),
    `${spread([run.editMsP50], 0)} / ${spread([run.editMsMax], 0)}`,
    spread([run.writesPerMinute], 1),
    spread([run.getsPerMinute], 1),
  ]);
  const ratios = runs
    .filter((run) => run.mode === 'trimmed')
    .flatMap((trimmed) => {
      const whole = runs.find(
        (run) =>
          run.mode === 'whole' &&
          run.size.upstreams === trimmed.size.upstreams &&
          run.size.routers === trimmed.size.routers,
      );
      if (!whole) return [];
      const ratio = (key: 'rssBytes' | 'peakRssBytes' | 'heapUsedBytes' | 'heapRetainedBytes') =>
        `x${spread([whole[key] / trimmed[key]])}`;
      return [
        [
          `${trimmed.size.upstreams} / ${trimmed.size.routers}`,
          'whole / trimmed',
          `x${spread([whole.renderedSeconds / trimmed.renderedSeconds])} / x${spread([whole.coldStartSeconds / trimmed.coldStartSeconds])}`,
          ratio('rssBytes'),
          ratio('peakRssBytes'),
          ratio('heapUsedBytes'),
          ratio('heapRetainedBytes'),
          '',
          '',
          '',
        ],
      ];
    });
  return {
    title: 'Operator at scale: cold start, memory once settled, edit propagation, requests at steady state',
    header: [
      'upstreams / routers',
      'cache',
      'cold start s: rendered / settled',
      'RSS MiB',
      'peak RSS MiB',
      'heap MiB',
      'retained heap MiB',
      'edit ms p50 / max',
      'writes/min',
      'GETs/min',
    ],
    rows: [...rows, ...ratios],
  };
}
