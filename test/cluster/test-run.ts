import {randomBytes} from 'node:crypto';
import {existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

import {
  ControlPlaneUnavailableError,
  type Log,
  acquireLock,
  isAlive,
  readPid,
  resolveControlPlaneBinaries,
} from './binaries.js';
import {type ControlPlaneState, readControlPlaneState, startControlPlane, stopControlPlane} from './control-plane.js';
import {type HostRecord, differences, readHostRecord} from './host-changes.js';
import {type NodeClusterState, readNodeClusterState, startNodeCluster, stopNodeCluster} from './node.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder of this `vitest run`'s control plane (see test/cluster/test-run.ts). */
    kubeMcpRouterTestRun: string;
  }
}

/** The repository's root, computed from this file's place. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The folder of `npm run cluster:up`'s control plane: `$KUBE_MCP_ROUTER_CLUSTER_DIR`, else the git-ignored
 * `.cache/cluster` of this checkout. Its admin kubeconfig is `<folder>/kubeconfig`.
 */
export function clusterDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KUBE_MCP_ROUTER_CLUSTER_DIR || join(repoRoot, '.cache', 'cluster'));
}

/** The git-ignored folder holding one folder per `vitest run` that may start a control plane. */
export const testRunsDir = join(repoRoot, '.cache', 'test-cluster');

/**
 * Makes this `vitest run`'s folder, owned by the calling process (the vitest main process, in globalSetup). Nothing is
 * started: the first suite that asks for a control plane starts it ({@link acquireTestControlPlane}).
 */
export function createTestRun(): string {
  const runDir = join(testRunsDir, `run-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(runDir, {recursive: true});
  writeFileSync(join(runDir, 'owner.pid'), String(process.pid));
  return runDir;
}

/**
 * Stops the control plane of this run, if one was started, and removes its data, keeping its logs in
 * `<runDir>/plane/logs` until a later run reaps the folder.
 */
export async function finishTestRun(runDir: string, log: Log): Promise<void> {
  await finishTestNodeCluster(runDir, log);
  const planeDir = join(runDir, 'plane');
  if (!existsSync(planeDir)) {
    rmSync(runDir, {recursive: true, force: true});
    return;
  }
  await stopControlPlane(planeDir, {log});
  for (const entry of ['etcd', 'pki', 'bin', 'kubeconfig', 'kube-controller-manager']) {
    rmSync(join(planeDir, entry), {recursive: true, force: true});
  }
  rmSync(join(runDir, 'owner.pid'), {force: true});
}

/**
 * Removes the folders of earlier runs whose vitest process is gone, stopping any control plane one of them left
 * running (a run killed before its teardown). Runs of other live vitest processes (other checkouts' users sharing the
 * machine, or concurrent runs here) are left alone.
 */
export async function reapStaleTestRuns(log: Log): Promise<void> {
  if (!existsSync(testRunsDir)) return;
  for (const entry of readdirSync(testRunsDir)) {
    const runDir = join(testRunsDir, entry);
    const owner = readPid(join(runDir, 'owner.pid'));
    if (owner !== undefined && isAlive(owner)) continue;
    // A finished run has no owner.pid; a run being created has it within milliseconds.
    if (owner === undefined && Date.now() - (statSync(runDir, {throwIfNoEntry: false})?.mtimeMs ?? 0) < 60_000) {
      continue;
    }
    await stopControlPlane(join(runDir, 'plane'), {log});
    await stopNodeCluster(join(runDir, 'node-cluster'), {log});
    rmSync(runDir, {recursive: true, force: true});
  }
}

/**
 * The control plane of this run, started by the first caller across all test workers and shared by the others.
 * Builds the binaries first when needed (see resolveControlPlaneBinaries). A failure is recorded so that later callers
 * fail at once with the same reason instead of trying again.
 *
 * @throws ControlPlaneUnavailableError with the reason.
 */
export async function acquireTestControlPlane(runDir: string, log: Log): Promise<ControlPlaneState> {
  const planeDir = join(runDir, 'plane');
  return startOnce(runDir, {name: 'start', what: 'start of the control plane'}, log, {
    read: () => readControlPlaneState(planeDir),
    start: async () => startControlPlane({stateDir: planeDir, binaries: await resolveControlPlaneBinaries({log}), log}),
  });
}

/**
 * The one-node cluster of this run (a control plane of its own on the node's bridge, plus the node), started by the
 * first caller across all test workers and shared by the others; stopped by the run's teardown. The machine's node
 * lock is held for the vitest main process, so another run on this machine waits for it (up to 30 minutes).
 *
 * @throws ControlPlaneUnavailableError with the reason (recorded, so that later callers fail at once).
 */
export async function acquireTestNodeCluster(runDir: string, log: Log): Promise<NodeClusterState> {
  const dir = join(runDir, 'node-cluster');
  return startOnce(runDir, {name: 'node-start', what: 'start of the node'}, log, {
    read: () => readNodeClusterState(dir),
    start: () =>
      startNodeCluster({stateDir: dir, ownerPid: readPid(join(runDir, 'owner.pid')), lockWaitMs: 30 * 60_000, log}),
  });
}

/**
 * Starts something of the run once across all test workers, behind the lock `<name>.lock`: a caller gets what `read`
 * finds, else starts it. A failure is recorded in `<name>-failure.txt`, so that later callers fail at once with the
 * same reason instead of trying again.
 * @throws ControlPlaneUnavailableError with the reason
 */
async function startOnce<T>(
  runDir: string,
  lock: {name: string; what: string},
  log: Log,
  steps: {read: () => T | undefined; start: () => Promise<T>},
): Promise<T> {
  const failureFile = join(runDir, `${lock.name}-failure.txt`);
  const release = await acquireLock(join(runDir, `${lock.name}.lock`), log, lock.what);
  try {
    const state = steps.read();
    if (state) return state;
    if (existsSync(failureFile)) throw new ControlPlaneUnavailableError(readFileSync(failureFile, 'utf8'));
    try {
      return await steps.start();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      writeFileSync(failureFile, reason);
      throw error instanceof ControlPlaneUnavailableError ? error : new ControlPlaneUnavailableError(reason);
    }
  } finally {
    release();
  }
}

/**
 * Stops this run's node, if one was started, and checks that the machine is as it was before the node: a change left
 * behind fails the run.
 *
 * @throws Error naming what is still changed.
 */
async function finishTestNodeCluster(runDir: string, log: Log): Promise<void> {
  const dir = join(runDir, 'node-cluster');
  if (!existsSync(dir)) return;
  const record: HostRecord | undefined = readHostRecord(join(dir, 'host.json'));
  await stopNodeCluster(dir, {log});
  for (const entry of ['etcd', 'pki', 'bin', 'kubeconfig', 'kube-controller-manager', 'node']) {
    rmSync(join(dir, entry), {recursive: true, force: true});
  }
  if (!record) return;
  const left = Object.entries(differences(record)).filter(([, items]) => items.length > 0);
  if (left.length > 0) {
    throw new Error(
      `Stopping the node left the machine changed: ${left.map(([what, items]) => `${what}: ${items.join(', ')}`).join('; ')}`,
    );
  }
  log("Stopped this run's node; the machine is as it was before.");
}
