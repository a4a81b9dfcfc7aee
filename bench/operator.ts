/**
 * `npm run bench:operator [-- --steady-seconds S] [--sizes 1000x100,2000x200]`: the operator against the real
 * kube-apiserver of a local control plane of its own (etcd, kube-apiserver, kube-controller-manager; no node, so the
 * router pods stay Pending), at 1,000 McpUpstreams with 100 McpRouters and 2,000 with 200. For each size it runs the
 * built operator twice, each time on a fresh namespace: with its trimmed caches (as shipped) and with whole objects
 * cached (`cacheWholeObjects`), and measures
 *
 * - the time from the operator's start until every router is rendered and every upstream has a status, and until the
 *   work queues have been empty for 3 s (cold start: nothing exists but the custom resources; the second figure
 *   includes reconciling as kube-controller-manager creates the ReplicaSets and Pods);
 * - its RSS (VmRSS), peak RSS (VmHWM) and V8 heap in use (`nodejs_heap_size_used_bytes`) once settled;
 * - the requests it sends in a quiet window at steady state (writes, and GETs, per minute);
 * - edit propagation: from an McpUpstream patch to its router's ConfigMap carrying the change (5 edits).
 *
 * Every object is created as `kubectl apply` would create it (with its last-applied annotation). It prints a Markdown
 * table; everything it starts is stopped at the end, also on failure or Ctrl-C, and its folder removed.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {execFile} from 'node:child_process';
import {readFileSync, rmSync} from 'node:fs';
import {cpus, loadavg, totalmem} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {createInterface} from 'node:readline';
import {parseArgs, promisify} from 'node:util';
import {parse as parseYaml} from 'yaml';
import {MCP_ROUTERS, MCP_UPSTREAMS} from '../operator/api/types.js';
import {CONFIG_MAPS, KubeClient, loadKubeConfig, type KubeObject} from '../operator/runtime/kube.js';
import {installCrds} from '../scripts/crds.js';
import {resolveControlPlaneBinaries} from '../test/cluster/binaries.js';
import {startControlPlane, stopControlPlane} from '../test/cluster/control-plane.js';
import {metricValue} from '../test/operator/support.js';
import {
  benchObjects,
  editedArg,
  GROUP_LABEL,
  operatorTable,
  parseSizes,
  type CacheMode,
  type OperatorRun,
  type Size,
} from './operator-report.js';
import {peakRssBytes, rssBytes} from './processes.js';
import {formatTable, percentile} from './report.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PLANE_DIR = join(ROOT, '.cache', 'bench', 'operator-plane');
const FIELD_MANAGER = 'kubectl-client-side-apply';
const log = (line: string) => process.stderr.write(`[bench:operator] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` over `items`, `concurrency` at a time. */
async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({length: concurrency}, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/** Polls `check` every `everyMs` until it returns true; throws naming `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, everyMs = 1000, timeoutMs = 15 * 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The operators under test that run now (at most one), for the clean-up on a signal. */
const running = new Set<OperatorChild>();
/** Set once the clean-up has begun: no operator starts after it. */
let cleaning: Promise<void> | undefined;

interface OperatorChild {
  child: ChildProcess;
  /** Makes the operator collect garbage, so that its heap in use is what it retains. */
  collectGarbage(): Promise<void>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts bench/operator-process.mjs as the chart runs the operator (`NODE_OPTIONS` from values.yaml, with
 * `--expose-gc` added) and resolves once its metrics server listens.
 */
async function startOperator(
  kubeconfig: string,
  namespace: string,
  mode: CacheMode,
  nodeOptions: string,
): Promise<OperatorChild> {
  if (cleaning) throw new Error('stopping');
  const child = spawn(
    process.execPath,
    ['--expose-gc', join(ROOT, 'bench', 'operator-process.mjs'), kubeconfig, namespace, mode],
    {cwd: ROOT, env: {...process.env, NODE_OPTIONS: nodeOptions}, stdio: ['ignore', 'pipe', 'inherit']},
  );
  const lines = createInterface({input: child.stdout!});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => resolve((JSON.parse(line) as {metrics: string}).metrics));
    child.once('exit', (code) => reject(new Error(`the operator exited (${code}) before it listened`)));
  });
  const operator: OperatorChild = {
    child,
    collectGarbage: async () => {
      const done = new Promise((resolve) => lines.once('line', resolve));
      child.kill('SIGUSR2');
      await done;
    },
    metrics: async () => (await fetch(`http://${address}/metrics`)).text(),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      running.delete(operator);
    },
  };
  running.add(operator);
  return operator;
}

/** Requests the operator sent so far, by method (its `rest_client_requests_total`). */
function requestsByMethod(metrics: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of metrics.matchAll(/^rest_client_requests_total\{method="(\w+)",code="\d+"\} (\d+)/gm)) {
    counts[match[1]!] = (counts[match[1]!] ?? 0) + Number(match[2]);
  }
  return counts;
}

const reconciles = (metrics: string) =>
  ['mcprouter', 'mcpupstream']
    .flatMap((controller) =>
      ['success', 'requeue_after', 'error', 'terminal'].map((result) =>
        metricValue(metrics, `controller_runtime_reconcile_total{controller="${controller}",result="${result}"}`),
      ),
    )
    .reduce((a, b) => a + b, 0);

const queued = (metrics: string) =>
  metricValue(metrics, 'workqueue_depth{name="mcprouter"}') +
  metricValue(metrics, 'workqueue_depth{name="mcpupstream"}');

/** Whether every router has its config rendered and every upstream a status of its generation. */
async function allReconciled(client: KubeClient, namespace: string): Promise<boolean> {
  const [routers, upstreams] = await Promise.all([
    client.list(MCP_ROUTERS, namespace),
    client.list(MCP_UPSTREAMS, namespace),
  ]);
  const current = (o: KubeObject) =>
    (o.status as {observedGeneration?: number} | undefined)?.observedGeneration === o.metadata?.generation;
  return (
    routers.items.every((r) => current(r) && (r.status as {configHash?: string} | undefined)?.configHash) &&
    upstreams.items.every(current)
  );
}

/** Cold start, memory, steady-state requests and edit propagation of one operator on one fresh namespace. */
async function measure(
  client: KubeClient,
  kubeconfig: string,
  size: Size,
  mode: CacheMode,
  steadySeconds: number,
  nodeOptions: string,
): Promise<OperatorRun> {
  const namespace = `bench-${size.upstreams}-${mode}`;
  log(`${namespace}: creating ${size.upstreams} McpUpstreams and ${size.routers} McpRouters...`);
  await client.request('POST', '/api/v1/namespaces', {
    body: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}},
  });
  const {upstreams, routers} = benchObjects(size, namespace);
  await inParallel(upstreams, 8, (o) => client.create(MCP_UPSTREAMS, namespace, o, FIELD_MANAGER));
  await inParallel(routers, 8, (o) => client.create(MCP_ROUTERS, namespace, o, FIELD_MANAGER));

  log(`${namespace}: starting the operator (${mode} caches)...`);
  const started = Date.now();
  const operator = await startOperator(kubeconfig, namespace, mode, nodeOptions);
  try {
    await until('every router and upstream to be reconciled', () => allReconciled(client, namespace));
    const renderedSeconds = (Date.now() - started) / 1000;
    // Settled: nothing queued and no reconcile for 3 s (the Deployments' ReplicaSets and Pods come in meanwhile).
    let last = -1;
    let quietSince = Date.now();
    await until(
      'the operator to settle',
      async () => {
        const metrics = await operator.metrics();
        const count = reconciles(metrics);
        if (count !== last || queued(metrics) > 0) {
          last = count;
          quietSince = Date.now();
        }
        return Date.now() - quietSince >= 3000;
      },
      250,
    );
    const coldStartSeconds = (quietSince - started) / 1000;
    log(`${namespace}: settled after ${coldStartSeconds.toFixed(1)} s; measuring memory and a quiet window...`);
    await sleep(5000);
    const pid = operator.child.pid!;
    const metricsAtRest = await operator.metrics();
    const rss = await rssBytes(pid);
    const peakRss = await peakRssBytes(pid);
    const heapUsed = metricValue(metricsAtRest, 'nodejs_heap_size_used_bytes');
    log(`${namespace}: ${(rss / 2 ** 20).toFixed(0)} MiB RSS, ${(heapUsed / 2 ** 20).toFixed(0)} MiB heap in use`);

    const before = requestsByMethod(metricsAtRest);
    await sleep(steadySeconds * 1000);
    const after = requestsByMethod(await operator.metrics());
    const perMinute = (methods: (m: string) => boolean) =>
      (Object.keys(after)
        .filter(methods)
        .reduce((sum, m) => sum + (after[m] ?? 0) - (before[m] ?? 0), 0) *
        60) /
      steadySeconds;

    await operator.collectGarbage();
    const heapRetained = metricValue(await operator.metrics(), 'nodejs_heap_size_used_bytes');

    log(`${namespace}: timing 5 edits...`);
    const editMs: number[] = [];
    const [upstream] = upstreams;
    const router = routers.find((r) => benchGroupOf(r) === upstream!.metadata!.labels![GROUP_LABEL]);
    for (let edit = 1; edit <= 5; edit++) {
      const arg = editedArg(edit);
      const patched = Date.now();
      await client.mergePatch(
        MCP_UPSTREAMS,
        namespace,
        upstream!.metadata!.name!,
        {spec: {stdio: {args: ['stdio', arg]}}},
        FIELD_MANAGER,
      );
      await until(
        `edit ${edit} to reach the ConfigMap`,
        async () => {
          const configMap = await client.get(CONFIG_MAPS, namespace, `${router!.metadata!.name}-config`);
          return JSON.stringify(configMap?.data ?? {}).includes(arg);
        },
        20,
        60_000,
      );
      editMs.push(Date.now() - patched);
      await sleep(500);
    }
    return {
      size,
      mode,
      renderedSeconds,
      coldStartSeconds,
      rssBytes: rss,
      peakRssBytes: peakRss,
      heapUsedBytes: heapUsed,
      heapRetainedBytes: heapRetained,
      writesPerMinute: perMinute((m) => m !== 'GET'),
      getsPerMinute: perMinute((m) => m === 'GET'),
      editMsP50: percentile(
        [...editMs].sort((a, b) => a - b),
        50,
      ),
      editMsMax: Math.max(...editMs),
    };
  } finally {
    await operator.stop();
    // The control plane's Service range is a /24: free this namespace's ClusterIPs for the next run.
    await inParallel(routers, 8, (r) =>
      client.request('DELETE', `/api/v1/namespaces/${namespace}/services/${r.metadata!.name}`).catch(() => undefined),
    );
  }
}

function benchGroupOf(router: KubeObject): string | undefined {
  return (router.spec as {upstreamSelector?: {matchLabels?: Record<string, string>}}).upstreamSelector?.matchLabels?.[
    GROUP_LABEL
  ];
}

/** The operator's NODE_OPTIONS as the chart sets them (`nodeOptions` in values.yaml). */
function chartNodeOptions(): string {
  const values = parseYaml(readFileSync(join(ROOT, 'charts', 'kube-mcp-router', 'values.yaml'), 'utf8')) as {
    nodeOptions?: string;
  };
  return values.nodeOptions ?? '';
}

async function main(): Promise<void> {
  const {values} = parseArgs({
    options: {'steady-seconds': {type: 'string', default: '30'}, sizes: {type: 'string', default: '1000x100,2000x200'}},
  });
  const sizes = parseSizes(values.sizes);
  const nodeOptions = chartNodeOptions();
  const steadySeconds = Number(values['steady-seconds']);
  const machine =
    `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
    `Node ${process.version}, load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`;

  // Stops what is running (the operator under test, the control plane) and removes the folder, once.
  const cleanUp = () =>
    (cleaning ??= (async () => {
      await Promise.all([...running].map((operator) => operator.stop()));
      await stopControlPlane(PLANE_DIR, {log});
      rmSync(PLANE_DIR, {recursive: true, force: true});
    })());
  const onSignal = () => void cleanUp().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log('Starting a control plane of its own...');
    const binaries = await resolveControlPlaneBinaries({log});
    const state = await startControlPlane({stateDir: PLANE_DIR, binaries, log});
    const env = {...process.env, KUBECONFIG: state.kubeconfig, PATH: `${state.binDir}:${process.env.PATH}`};
    await installCrds(async (args) => (await promisify(execFile)('kubectl', args, {env, cwd: ROOT})).stdout);
    const client = new KubeClient(loadKubeConfig(state.kubeconfig));
    const runs: OperatorRun[] = [];
    for (const size of sizes) {
      for (const mode of ['trimmed', 'whole'] as const) {
        runs.push(await measure(client, state.kubeconfig, size, mode, steadySeconds, nodeOptions));
        log(`${formatTable(operatorTable(runs.slice(-1)))}`);
      }
    }
    process.stdout.write(
      `Machine: ${machine}\nLoad average at the end: ${loadavg()
        .map((n) => n.toFixed(2))
        .join(
          ' ',
        )}\nQuiet window: ${steadySeconds} s; NODE_OPTIONS=${nodeOptions}\n\n${formatTable(operatorTable(runs))}\n`,
    );
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
