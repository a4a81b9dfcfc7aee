/**
 * `npm run cluster:up`: starts the local cluster in `.cache/cluster/` (or `$KUBE_MCP_ROUTER_CLUSTER_DIR`), building the
 * pinned programs once when needed, and prints the shell lines that point kubectl at it (on stdout; progress goes to
 * stderr, so `eval "$(npm run -s cluster:up)"` works).
 *
 * Where the machine can run a node (Linux, root, cgroups; see test/cluster/node.ts) that is a one-node cluster:
 * the control plane with kube-apiserver on the node's bridge, plus containerd, runc, a CNI bridge, kubelet,
 * kube-proxy, kube-scheduler and CoreDNS. Elsewhere, or with `KUBE_MCP_ROUTER_NODE=0`, the control plane alone on
 * 127.0.0.1, where pods stay Pending. Running it again while the cluster is healthy changes nothing; a stale one is
 * stopped and replaced.
 */
import {existsSync, symlinkSync} from 'node:fs';
import {join} from 'node:path';

import {ControlPlaneUnavailableError, builtComponent, defaultLog, resolveControlPlaneBinaries} from './binaries.js';
import {
  type ControlPlaneState,
  isControlPlaneHealthy,
  readControlPlaneState,
  startControlPlane,
} from './control-plane.js';
import {
  isNodeClusterHealthy,
  nodeUnavailableReason,
  readNodeClusterState,
  startNodeCluster,
  stopNodeCluster,
} from './node.js';
import {clusterDir} from './test-run.js';

const log = defaultLog;

try {
  const started = Date.now();
  const dir = clusterDir();
  const noNode = process.env.KUBE_MCP_ROUTER_NODE === '0' ? 'KUBE_MCP_ROUTER_NODE=0 is set' : nodeUnavailableReason();
  let state: ControlPlaneState;
  if (noNode === undefined) {
    if (await isNodeClusterHealthy(dir)) {
      state = readNodeClusterState(dir) as ControlPlaneState;
      log(`The one-node cluster is already running at ${state.server} (logs in ${state.logsDir}).`);
    } else {
      await stopNodeCluster(dir, {log});
      state = await startNodeCluster({stateDir: dir, preferredApiserverPort: 6443, log});
      log(`Started in ${((Date.now() - started) / 1000).toFixed(1)}s. Stop it with \`npm run cluster:down\`.`);
    }
  } else {
    const existing = readControlPlaneState(dir);
    if (existing && (await isControlPlaneHealthy(existing))) {
      log(`The control plane is already running at ${existing.server} (logs in ${existing.logsDir}).`);
      state = existing;
    } else {
      log(`No node: ${noNode}. Starting the control plane alone; pods will stay Pending.`);
      const binaries = await resolveControlPlaneBinaries({log});
      state = await startControlPlane({stateDir: dir, binaries, preferredApiserverPort: 6443, log});
      log(`Started in ${((Date.now() - started) / 1000).toFixed(1)}s. Stop it with \`npm run cluster:down\`.`);
    }
  }
  const helm = builtComponent('helm');
  if (state.binDir && helm && !existsSync(join(state.binDir, 'helm')))
    symlinkSync(join(helm, 'helm'), join(state.binDir, 'helm'));
  process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
  if (state.binDir) process.stdout.write(`export PATH="${state.binDir}:$PATH"\n`);
} catch (error) {
  if (!(error instanceof ControlPlaneUnavailableError)) throw error;
  log(error.message);
  process.exitCode = 1;
}
