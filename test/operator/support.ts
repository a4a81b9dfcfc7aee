/**
 * Helpers of the operator suites, on top of test/support/cluster.ts: CRDs, an in-process operator scoped to a test
 * namespace, the operator CLI as a child process, and polling.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {pino} from 'pino';
import {DEFAULT_SERVICE_ACCOUNT_ISSUER} from '../../operator/controllers/mcprouter/render.js';
import {Operator} from '../../operator/manager.js';
import {loadKubeConfig} from '../../operator/runtime/kube.js';
import {installCrds} from '../../scripts/crds.js';
import {kubectl, type Cluster} from '../support/cluster.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Polls `check` every 250 ms until it returns a value other than undefined/false; fails with `what` after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** kubectl that throws with stderr on a non-zero exit. */
export async function kc(cluster: Cluster, args: string[], input?: string): Promise<string> {
  const result = await kubectl(cluster, args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** `kubectl get -o json`, parsed; undefined when the object does not exist. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- cluster objects are read as plain JSON
export async function getJson(cluster: Cluster, namespace: string, resource: string, name: string): Promise<any> {
  const result = await kubectl(cluster, ['get', resource, name, '-n', namespace, '-o', 'json']);
  if (result.code !== 0) {
    if (/NotFound|not found/.test(result.stderr)) return undefined;
    throw new Error(`kubectl get ${resource} ${name} failed: ${result.stderr}`);
  }
  return JSON.parse(result.stdout);
}

/** Events (core/v1) about the object `name` of a namespace, optionally only those with `reason`, oldest first. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- cluster objects are read as plain JSON
export async function eventsOf(cluster: Cluster, namespace: string, name: string, reason?: string): Promise<any[]> {
  const selector = `involvedObject.name=${name}${reason ? `,reason=${reason}` : ''}`;
  const args = ['get', 'events', '-n', namespace, '--field-selector', selector, '-o', 'json'];
  return JSON.parse(await kc(cluster, args)).items;
}

/** Applies the CRDs with kubectl (server-side, so parallel suites do not conflict) and waits until established. */
export async function applyCrds(cluster: Cluster): Promise<void> {
  await installCrds((args) => kc(cluster, args));
}

/**
 * Applies the examples into `namespace` as a user would: `kubectl apply -k examples/k8s` (the offline ones) and
 * `kubectl apply -f examples/egress/` (GitHub's remote server, with a Secret-backed header). Pods never run on the
 * control plane alone, so the egress one needs no internet here.
 */
export async function applyExamples(cluster: Cluster, namespace: string): Promise<void> {
  await kc(cluster, ['apply', '-n', namespace, '-k', `${ROOT}examples/k8s`]);
  await kc(cluster, ['apply', '-n', namespace, '-f', `${ROOT}examples/egress/`]);
}

/** Starts an in-process operator watching only `namespace`, without leader election or servers. */
export async function startOperator(cluster: Cluster, namespace: string): Promise<Operator> {
  const operator = new Operator({
    kubeConfig: loadKubeConfig(cluster.kubeconfig),
    namespace,
    render: {
      routerImage: 'example.test/kube-mcp-router:test',
      clusterDomain: 'cluster.local',
      serviceAccountIssuer: DEFAULT_SERVICE_ACCOUNT_ISSUER,
    },
    log: pino({level: process.env.OPERATOR_TEST_LOG ?? 'warn'}),
  });
  await operator.start();
  await waitFor('the operator caches to sync', () => operator.synced);
  return operator;
}

/** Waits until the operator has nothing queued or running, twice in a row 500 ms apart. */
export async function settle(operator: Operator): Promise<void> {
  await waitFor('the operator to settle', async () => {
    if (!operator.idle) return false;
    await new Promise((resolve) => setTimeout(resolve, 500));
    return operator.idle;
  });
}

/** resourceVersion of every object of `resources` (optionally with a label selector) in a namespace, keyed `kind/name`. */
export async function resourceVersions(
  cluster: Cluster,
  namespace: string,
  resources: string,
  selector?: string,
): Promise<Record<string, string>> {
  const args = ['get', resources, '-n', namespace, '-o', 'json', ...(selector ? ['-l', selector] : [])];
  const list = JSON.parse(await kc(cluster, args)) as {
    items: {kind: string; metadata: {name: string; resourceVersion: string}}[];
  };
  return Object.fromEntries(
    list.items.map((item) => [`${item.kind}/${item.metadata.name}`, item.metadata.resourceVersion]),
  );
}

/**
 * resourceVersions of everything the operator writes in a namespace: the custom resources (status) and the children
 * (ConfigMaps, Deployments, Services, ServiceAccounts, PodDisruptionBudgets, NetworkPolicies labelled managed-by
 * kube-mcp-router).
 */
export async function operatorState(cluster: Cluster, namespace: string): Promise<Record<string, string>> {
  return {
    ...(await resourceVersions(cluster, namespace, 'mcprouters.mcprouter.dev,mcpupstreams.mcprouter.dev')),
    ...(await resourceVersions(
      cluster,
      namespace,
      'configmaps,deployments,services,serviceaccounts,poddisruptionbudgets,networkpolicies',
      'app.kubernetes.io/managed-by=kube-mcp-router',
    )),
  };
}

/**
 * `operatorState` once it holds still: two reads 1.5 s apart are equal. Deployments' status is also written by
 * kube-controller-manager (and the routers' status follows it), so a test comparing states waits for quiet first.
 */
export async function stableOperatorState(cluster: Cluster, namespace: string): Promise<Record<string, string>> {
  let previous = await operatorState(cluster, namespace);
  return waitFor('the objects to stop changing', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const current = await operatorState(cluster, namespace);
    const same = JSON.stringify(current) === JSON.stringify(previous);
    previous = current;
    return same ? current : undefined;
  });
}

/** The operator CLI running as a child process. */
export interface OperatorProcess {
  child: ChildProcess;
  /** Log lines (pino JSON) so far. */
  logs: Record<string, unknown>[];
  healthProbe: string;
  metrics: string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when the process exits on its own. */
  exited: Promise<number | null>;
  /** GETs a path of the probe or metrics server. */
  get(server: 'healthProbe' | 'metrics', path: string): Promise<{status: number; body: string}>;
}

/**
 * Starts `kube-mcp-router operator` (through tsx, from the sources) and waits for its servers to listen; `env` is added
 * to the cluster's environment.
 */
export async function spawnOperator(
  cluster: Cluster,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<OperatorProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      `${ROOT}cli.ts`,
      'operator',
      '--kubeconfig',
      cluster.kubeconfig,
      '--health-probe-bind-address',
      '127.0.0.1:0',
      '--metrics-bind-address',
      '127.0.0.1:0',
      '--router-image',
      'example.test/kube-mcp-router:test',
      ...args,
    ],
    {cwd: ROOT, env: {...cluster.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']},
  );
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({msg: line});
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = await waitFor(
    'the operator process to start',
    () => {
      if (child.exitCode !== null) throw new Error(`the operator exited with ${child.exitCode}: ${stderr}`);
      return logs.find((line) => line.msg === 'Started operator');
    },
    60_000,
  );
  const addresses = {healthProbe: String(started.healthProbe), metrics: String(started.metrics)};
  return {
    child,
    logs,
    exited,
    ...addresses,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
    async get(server, path) {
      const response = await fetch(`http://${addresses[server]}${path}`);
      return {status: response.status, body: await response.text()};
    },
  };
}

/** The value of one sample of a Prometheus text exposition, e.g. `controller_runtime_reconcile_total{controller="mcprouter",result="success"}`. */
export function metricValue(text: string, sample: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return 0;
}
