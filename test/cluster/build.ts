/**
 * `npm run cluster:build`: builds (or finds in the cache) the pinned etcd, kube-apiserver, kube-controller-manager,
 * kubectl, helm and the OpenTelemetry Collector of the trace tests, and on Linux the node's programs (kubelet, kube-proxy, kube-scheduler, containerd, runc, the CNI
 * plugins, CoreDNS) and the pause image, and prints where they are. Honours KUBEBUILDER_ASSETS: with it set, the
 * control plane is taken from there.
 */
import {
  ControlPlaneUnavailableError,
  cacheRoot,
  defaultLog,
  ensureComponent,
  resolveControlPlaneBinaries,
} from './binaries.js';
import {ensurePauseImage} from './images.js';
import {nodeComponents, versions} from './versions.js';

const log = defaultLog;
try {
  const started = Date.now();
  log(
    `Pinned: ${Object.entries(versions)
      .map(([component, version]) => `${component} ${version}`)
      .join(', ')}; cache ${cacheRoot()}`,
  );
  const binaries = await resolveControlPlaneBinaries({log});
  const helm = await ensureComponent('helm', {log});
  const otelcol = await ensureComponent('otelcol', {log});
  const built: Record<string, string | undefined> = {...binaries, helm: `${helm}/helm`, otelcol: `${otelcol}/otelcol`};
  if (process.platform === 'linux') {
    for (const component of nodeComponents) built[component] = await ensureComponent(component, {log});
    built.pause = await ensurePauseImage(log);
  }
  for (const [name, path] of Object.entries(built)) {
    if (name !== 'source') log(`  ${name}: ${path ?? '(not available)'}`);
  }
  log(`Ready in ${((Date.now() - started) / 1000).toFixed(0)}s (control plane from ${binaries.source}).`);
} catch (error) {
  if (!(error instanceof ControlPlaneUnavailableError)) throw error;
  log(error.message);
  process.exitCode = 1;
}
