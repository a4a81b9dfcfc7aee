/**
 * `npm run bench:replicas [-- --rounds N] [--seconds S] [--clients C,...]`: router replicas on the one-node cluster
 * (test/cluster/node.ts; needs `npm run image`, root and cgroups, like the node suites). Starts a node of its own,
 * installs the chart, and has the operator render two routers over the same shared stdio upstream
 * (server-everything): `three` (3 replicas) and `one` (1 replica). In every round, side by side:
 *
 * - C sessions call `get-sum` through each router's ClusterIP Service (kube-proxy spreads connections over the pods,
 *   sessionAffinity None): calls/s and p99 of 3 replicas against 1;
 * - C sessions of `three`, every request after `initialize` sent straight to the session's own pod (`local`) or to
 *   another pod, which forwards it to the owner (`forwarded`): the forward's added latency.
 *
 * Prints Markdown tables of spreads over the rounds, the load average, and stops the node (the machine as it was).
 * Default 3 rounds of 2.5 s after a 1 s warm-up, at 1 and at 16 clients.
 */
import {delimiter} from 'node:path';
import {loadavg} from 'node:os';
import {parseArgs} from 'node:util';

import type {Client} from '@modelcontextprotocol/sdk/client/index.js';

import {defaultLog} from '../test/cluster/binaries.js';
import {nodeUnavailableReason} from '../test/cluster/node.js';
import {acquireTestNodeCluster, createTestRun, finishTestRun, reapStaleTestRuns} from '../test/cluster/test-run.js';
import {installArgs} from '../test/chart/helm.js';
import {createNamespace, ensureHelm, helm, kubectl, type Cluster} from '../test/support/cluster.js';
import {steeredFetch} from '../test/support/replicas.js';
import {runLoad, type Load} from './load.js';
import {formatTable, loadTables, type Comparison, type LoadRun} from './report.js';

const API_VERSION = 'mcprouter.dev/v1alpha1';
const selector = {matchLabels: {bench: 'replicas'}};
/** One shared stdio upstream, and the two routers over it. */
const RESOURCES = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: API_VERSION,
      kind: 'McpUpstream',
      metadata: {name: 'everything', labels: selector.matchLabels},
      spec: {stdio: {command: 'mcp-server-everything', args: ['stdio']}},
    },
    ...[
      ['three', 3],
      ['one', 1],
    ].map(([name, replicas]) => ({
      apiVersion: API_VERSION,
      kind: 'McpRouter',
      metadata: {name},
      spec: {upstreamSelector: selector, replicas},
    })),
  ],
};

const COMPARISONS: Comparison[] = [
  {label: '3 replicas / 1, calls/s', numerator: 'service-3', denominator: 'service-1', figure: 'callsPerSecond'},
  {label: 'same, p99 ratio', numerator: 'service-3', denominator: 'service-1', figure: 'p99'},
  {label: 'forwarded / local, p50 ratio', numerator: 'forwarded', denominator: 'local', figure: 'p50'},
  {label: 'same, p99 ratio', numerator: 'forwarded', denominator: 'local', figure: 'p99'},
  {label: 'same, added p50 ms', numerator: 'forwarded', denominator: 'local', figure: 'p50', difference: true},
  {label: 'forwarded / local, calls/s', numerator: 'forwarded', denominator: 'local', figure: 'callsPerSecond'},
];

const sum = (client: Client, options: {timeout: number}) =>
  client.callTool({name: 'everything__get-sum', arguments: {a: 1, b: 2}}, undefined, options);

const loadAverage = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

async function kc(cluster: Cluster, args: string[], input?: string): Promise<string> {
  const result = await kubectl(cluster, args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** Waits until every router pod of `router` is Ready and its Service answers from this machine; its URL. */
async function serviceOf(cluster: Cluster, namespace: string, router: string, replicas: number): Promise<string> {
  // The operator creates the Deployment a moment after the McpRouter.
  await until(`the operator to create deployment/${router}`, 120_000, async () =>
    (await kubectl(cluster, ['get', 'deployment', router, '-n', namespace])).code === 0 ? true : undefined,
  );
  await kc(cluster, ['rollout', 'status', '-n', namespace, `deployment/${router}`, '--timeout=300s']);
  const service = JSON.parse(await kc(cluster, ['get', 'service', router, '-n', namespace, '-o', 'json']));
  const url = `http://${service.spec.clusterIP}:${service.spec.ports[0].port}`;
  return until(`the Service ${router} to answer with ${replicas} ready pods`, 120_000, async () => {
    const ready = await podIps(cluster, namespace, router);
    const answers = await fetch(`${url}/readyz`, {signal: AbortSignal.timeout(2_000)}).then(
      (r) => r.ok,
      () => false,
    );
    return answers && ready.length === replicas ? url : undefined;
  });
}

/** What `check` gives once it gives something, polling every 500 ms. @throws Error naming `what` after `ms` */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function podIps(cluster: Cluster, namespace: string, router: string): Promise<string[]> {
  const pods = JSON.parse(
    await kc(cluster, ['get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${router}`, '-o', 'json']),
  );
  return pods.items
    .filter((pod: {metadata: {deletionTimestamp?: string}}) => !pod.metadata.deletionTimestamp)
    .filter((pod: {status: {conditions?: {type: string; status: string}[]}}) =>
      pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    )
    .map((pod: {status: {podIP: string}}) => pod.status.podIP);
}

async function measure(cluster: Cluster, options: {rounds: number; seconds: number; clients: number[]}): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  await ensureHelm(cluster);
  const namespace = await createNamespace(cluster, 'bench-replicas');
  const installed = await helm(cluster, installArgs('kmr', namespace));
  if (installed.code !== 0) throw new Error(`helm install failed: ${installed.stderr}`);
  await kc(cluster, ['apply', '-n', namespace, '-f', '-'], JSON.stringify(RESOURCES));
  const [three, one] = [await serviceOf(cluster, namespace, 'three', 3), await serviceOf(cluster, namespace, 'one', 1)];
  const pods = await podIps(cluster, namespace, 'three');
  const paths: Record<string, Pick<Load, 'url' | 'fetch'>> = {
    'service-3': {url: `${three}/mcp`},
    'service-1': {url: `${one}/mcp`},
    local: {url: `${three}/mcp`, fetch: steeredFetch(pods, 'owner')},
    forwarded: {url: `${three}/mcp`, fetch: steeredFetch(pods, 'elsewhere')},
  };
  const runs: LoadRun[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // Each round in another order, so that no path always follows the same one.
    const order = Object.keys(paths);
    for (let i = 0; i < round % order.length; i++) order.push(order.shift() as string);
    for (const clients of options.clients)
      for (const path of order) {
        const load: Load = {
          ...(paths[path] as Pick<Load, 'url'>),
          call: sum,
          clients,
          warmupSeconds: 1,
          seconds: options.seconds,
        };
        const sample = await runLoad(load);
        runs.push({path, clients, round, sample});
        log(
          `round ${round + 1}, ${clients} clients: ${path} ${sample.latenciesMs.length} calls, ${sample.errors} errors`,
        );
      }
  }
  for (const table of loadTables('Router replicas on the node', runs, COMPARISONS))
    process.stdout.write(`\n${formatTable(table)}\n`);
}

async function main(): Promise<void> {
  const {values} = parseArgs({
    options: {
      rounds: {type: 'string', default: '3'},
      seconds: {type: 'string', default: '2.5'},
      clients: {type: 'string', default: '1,16'},
    },
  });
  const reason = nodeUnavailableReason();
  if (reason) throw new Error(`Cannot run a node here: ${reason}.`);
  const options = {
    rounds: Number(values.rounds),
    seconds: Number(values.seconds),
    clients: values.clients.split(',').map(Number),
  };
  process.stdout.write(
    `Rounds: ${options.rounds}, ${options.seconds} s per load at ${options.clients.join(' and ')} clients; load average ${loadAverage()}\n`,
  );
  await reapStaleTestRuns(defaultLog);
  const runDir = createTestRun();
  try {
    const state = await acquireTestNodeCluster(runDir, defaultLog);
    await measure(
      {
        kubeconfig: state.kubeconfig,
        server: state.server,
        env: {...process.env, KUBECONFIG: state.kubeconfig, PATH: `${state.binDir}${delimiter}${process.env.PATH}`},
        binDir: state.binDir,
        logsDir: state.logsDir,
        controllerManager: state.controllerManager,
      },
      options,
    );
  } finally {
    await finishTestRun(runDir, defaultLog);
  }
  process.stdout.write(`\nLoad average at the end: ${loadAverage()}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
