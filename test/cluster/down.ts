/**
 * `npm run cluster:down`: stops the control plane that `npm run cluster:up` started (exactly its etcd,
 * kube-apiserver and kube-controller-manager, found by their state folder) and removes its data; keeps the logs.
 */
import {rmSync} from 'node:fs';
import {join} from 'node:path';

import {defaultLog} from './binaries.js';
import {stopControlPlane} from './control-plane.js';
import {clusterDir} from './test-run.js';

const stopped = await stopControlPlane(clusterDir(), {log: defaultLog});
for (const entry of ['etcd', 'pki', 'bin', 'kubeconfig', 'kube-controller-manager']) {
  rmSync(join(clusterDir(), entry), {recursive: true, force: true});
}
defaultLog(stopped.length > 0 ? 'The control plane is stopped.' : 'No control plane was running.');
