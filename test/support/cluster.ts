/**
 * A real Kubernetes control plane for suites: etcd, kube-apiserver and kube-controller-manager on 127.0.0.1, started
 * once per `vitest run` by the first suite that asks and stopped by the globalSetup teardown
 * (test/cluster/global-setup.ts). Suites share it and isolate themselves by namespace (see {@link createNamespace}).
 *
 * ```ts
 * describe('operator', () => {
 *   const cluster = useCluster();
 *   it('applies', async () => {
 *     const {code, stdout} = await kubectl(cluster(), ['get', 'ns']);
 *   });
 * });
 * ```
 */
import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {existsSync, symlinkSync} from 'node:fs';
import {delimiter, join} from 'node:path';

import {beforeAll, beforeEach, inject} from 'vitest';

import {
  ControlPlaneUnavailableError,
  builtComponent,
  defaultLog,
  ensureComponent,
  goVersion,
  howToGetBinaries,
  sleep,
} from '../cluster/binaries.js';
import type {ControlPlaneState} from '../cluster/control-plane.js';
import {acquireTestControlPlane} from '../cluster/test-run.js';

/** Raised by useCluster()'s getter when called where no control plane is available (the suite is being skipped). */
export class ClusterUnavailableError extends Error {
  static code = 'CLUSTER_UNAVAILABLE';
  override name = 'ClusterUnavailableError';
}

export interface Cluster {
  /** Absolute path of an admin kubeconfig file (client certificate in system:masters). */
  kubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** process.env plus KUBECONFIG=<kubeconfig> and binDir first on PATH, for child processes (kubectl, helm, the operator). */
  env: NodeJS.ProcessEnv;
  /** Folder holding the kubectl (and helm, once ensured) to use, or '' if the ones on PATH are used. */
  binDir: string;
  /** Folder of the control plane's logs (etcd.log, kube-apiserver.log, kube-controller-manager.log). */
  logsDir: string;
  /** Whether kube-controller-manager runs: Deployments get ReplicaSets, owners' dependents are garbage-collected. */
  controllerManager: boolean;
}

/** The longest a suite waits for its control plane, including a first build of the binaries (minutes). */
const acquireTimeoutMs = 60 * 60_000;

let acquired: Promise<Cluster> | undefined;

/**
 * Call at the top of a describe block. Registers a beforeAll that gets the run's control plane (starting it, and
 * building the binaries once, when needed); returns a getter valid inside tests and hooks.
 *
 * When no control plane can be had, every test of the block is skipped with the reason, which is also printed in a
 * banner; under `CI=true` the beforeAll fails instead, failing the block.
 */
export function useCluster(): () => Cluster {
  let cluster: Cluster | undefined;
  let skipReason: string | undefined;
  beforeAll(async () => {
    try {
      cluster = await getCluster();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (process.env.CI === 'true') throw error;
      skipReason = reason;
      console.warn(banner(`SKIPPED: no Kubernetes control plane for this suite.\n${reason}`));
    }
  }, acquireTimeoutMs);
  beforeEach((context) => {
    if (skipReason !== undefined) context.skip(`no Kubernetes control plane: ${skipReason.split('\n')[0]}`);
  });
  return () => {
    if (cluster) return cluster;
    throw new ClusterUnavailableError(
      skipReason !== undefined
        ? `no Kubernetes control plane: ${skipReason}`
        : 'useCluster(): the cluster is only available inside tests and hooks of its block, after its beforeAll',
    );
  };
}

/** This worker's view of the run's control plane; the first call in the run starts it. */
function getCluster(): Promise<Cluster> {
  acquired ??= (async () => {
    const runDir = inject('kubeMcpRouterTestRun');
    if (!runDir) {
      throw new ControlPlaneUnavailableError(
        'vitest ran without test/cluster/global-setup.ts (globalSetup in vitest.config.ts), which stops the control ' +
          'plane at the end of the run; refusing to start one that nothing would stop.',
      );
    }
    return toCluster(await acquireTestControlPlane(runDir, (line) => defaultLog(line)));
  })();
  // A failed start is not retried within the worker (test-run.ts records it for the others too).
  return acquired;
}

function toCluster(state: ControlPlaneState): Cluster {
  const path = state.binDir ? `${state.binDir}${delimiter}${process.env.PATH ?? ''}` : process.env.PATH;
  return {
    kubeconfig: state.kubeconfig,
    server: state.server,
    env: {...process.env, KUBECONFIG: state.kubeconfig, PATH: path},
    binDir: state.binDir,
    logsDir: state.logsDir,
    controllerManager: state.controllerManager,
  };
}

export interface CommandResult {
  /** The exit code; 127 when the program could not be started (the reason is in stderr). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against the cluster, `input` on its stdin; never throws on non-zero exit. */
export function kubectl(cluster: Cluster, args: string[], input?: string): Promise<CommandResult> {
  const program = cluster.binDir ? join(cluster.binDir, 'kubectl') : 'kubectl';
  return run(program, args, cluster.env, input);
}

/**
 * Runs helm against the cluster, `input` on its stdin; never throws on non-zero exit. helm is the pinned one from
 * the cache (see {@link ensureHelm}); when it cannot be had the result has code 127 and the reason in stderr.
 */
export async function helm(cluster: Cluster, args: string[], input?: string): Promise<CommandResult> {
  let program: string;
  try {
    program = await ensureHelm(cluster);
  } catch (error) {
    return {code: 127, stdout: '', stderr: error instanceof Error ? error.message : String(error)};
  }
  return run(program, args, cluster.env, input);
}

/**
 * The path of the pinned helm, linked into `cluster.binDir`: from the cache, built there first (minutes, once) when Go
 * is available, else helm from PATH. Call it in a beforeAll with a long timeout when a suite uses helm, so that a first
 * build does not count against a test's timeout.
 *
 * @throws ControlPlaneUnavailableError when there is no helm and Go is missing.
 */
export async function ensureHelm(cluster: Cluster): Promise<string> {
  const linked = cluster.binDir ? join(cluster.binDir, 'helm') : '';
  if (linked && existsSync(linked)) return linked;
  let dir = builtComponent('helm');
  if (!dir && goVersion()) dir = await ensureComponent('helm', {log: defaultLog});
  if (!dir) {
    const onPath = await run('helm', ['version', '--short'], cluster.env);
    if (onPath.code === 0) return 'helm';
    throw new ControlPlaneUnavailableError(`helm is not built and not on PATH. ${howToGetBinaries}`);
  }
  const built = join(dir, 'helm');
  if (!linked) return built;
  try {
    symlinkSync(built, linked);
  } catch (error) {
    // Another worker linked it first.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return linked;
}

/**
 * Creates a namespace named `<prefix>-<random>` with `labels`, and waits (up to 60 s) for its `default`
 * ServiceAccount, without which Pods are not admitted. Returns the name.
 *
 * @throws Error when kubectl fails or the ServiceAccount does not appear.
 */
export async function createNamespace(
  cluster: Cluster,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const created = await kubectl(cluster, ['create', 'namespace', name]);
  if (created.code !== 0) throw new Error(`kubectl create namespace ${name} failed: ${created.stderr}`);
  const pairs = Object.entries(labels).map(([key, value]) => `${key}=${value}`);
  if (pairs.length > 0) {
    const labelled = await kubectl(cluster, ['label', 'namespace', name, ...pairs]);
    if (labelled.code !== 0) throw new Error(`kubectl label namespace ${name} failed: ${labelled.stderr}`);
  }
  if (!cluster.controllerManager) return name;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await kubectl(cluster, ['get', 'serviceaccount', 'default', '-n', name])).code === 0) return name;
    await sleep(250);
  }
  throw new Error(`namespace ${name} got no default ServiceAccount within 60s (is kube-controller-manager running?)`);
}

function run(program: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CommandResult> {
  return new Promise((done) => {
    const child = spawn(program, args, {env, stdio: ['pipe', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => done({code: 127, stdout, stderr: stderr + `${program}: ${error.message}`}));
    child.on('close', (code, signal) => done({code: code ?? (signal ? 128 : 1), stdout, stderr}));
    child.stdin.on('error', () => {
      // The program may exit before reading its input; its exit code tells.
    });
    child.stdin.end(input ?? '');
  });
}

function banner(text: string): string {
  const rule = '!'.repeat(100);
  return `\n${rule}\n${text}\n${rule}\n`;
}
