/**
 * `npm run cluster:up`: starts the local control plane (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1)
 * in `.cache/cluster/` (or `$KUBE_MCP_ROUTER_CLUSTER_DIR`), building the pinned binaries once when needed, and prints the shell lines that point kubectl
 * at it (on stdout; progress goes to stderr, so `eval "$(npm run -s cluster:up)"` works). Running it again while the
 * control plane is healthy changes nothing; a stale one is stopped and replaced.
 */
import {existsSync, symlinkSync} from 'node:fs';
import {join} from 'node:path';

import {ControlPlaneUnavailableError, builtComponent, defaultLog, resolveControlPlaneBinaries} from './binaries.js';
import {isControlPlaneHealthy, readControlPlaneState, startControlPlane} from './control-plane.js';
import {clusterDir} from './test-run.js';

const log = defaultLog;

try {
  const started = Date.now();
  const existing = readControlPlaneState(clusterDir());
  let state;
  if (existing && (await isControlPlaneHealthy(existing))) {
    log(`The control plane is already running at ${existing.server} (logs in ${existing.logsDir}).`);
    state = existing;
  } else {
    const binaries = await resolveControlPlaneBinaries({log});
    state = await startControlPlane({stateDir: clusterDir(), binaries, preferredApiserverPort: 6443, log});
    log(`Started in ${((Date.now() - started) / 1000).toFixed(1)}s. Stop it with \`npm run cluster:down\`.`);
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
