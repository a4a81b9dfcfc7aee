/**
 * `npm run cluster:build`: builds (or finds in the cache) the pinned etcd, kube-apiserver, kube-controller-manager,
 * kubectl and helm, and prints where they are. Honours KUBEBUILDER_ASSETS: with it set, only helm is built.
 */
import {
  ControlPlaneUnavailableError,
  cacheRoot,
  defaultLog,
  ensureComponent,
  resolveControlPlaneBinaries,
} from './binaries.js';
import {versions} from './versions.js';

const log = defaultLog;
try {
  const started = Date.now();
  log(`Pinned: Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, helm ${versions.helm}; cache ${cacheRoot()}`);
  const binaries = await resolveControlPlaneBinaries({log});
  const helm = await ensureComponent('helm', {log});
  for (const [name, path] of Object.entries({...binaries, helm: `${helm}/helm`})) {
    if (name !== 'source') log(`  ${name}: ${path ?? '(not available)'}`);
  }
  log(`Ready in ${((Date.now() - started) / 1000).toFixed(0)}s (from ${binaries.source}).`);
} catch (error) {
  if (!(error instanceof ControlPlaneUnavailableError)) throw error;
  log(error.message);
  process.exitCode = 1;
}
