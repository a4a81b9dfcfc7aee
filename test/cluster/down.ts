/**
 * `npm run cluster:down`: stops the cluster that `npm run cluster:up` started (its node's containers and programs,
 * then etcd, kube-apiserver and kube-controller-manager, found by their state folder), undoes every change the node
 * made to the machine (see test/cluster/host-changes.ts), and removes its data; keeps the logs.
 */
import {existsSync, rmSync} from 'node:fs';
import {join} from 'node:path';

import {defaultLog} from './binaries.js';
import {stopNodeCluster} from './node.js';
import {clusterDir} from './test-run.js';

const hadNode = existsSync(join(clusterDir(), 'host.json'));
const stopped = await stopNodeCluster(clusterDir(), {log: defaultLog});
for (const entry of ['etcd', 'pki', 'bin', 'kubeconfig', 'kube-controller-manager', 'node']) {
  rmSync(join(clusterDir(), entry), {recursive: true, force: true});
}
if (hadNode) defaultLog("The node is stopped and the machine's state restored.");
defaultLog(stopped.length > 0 ? 'The control plane is stopped.' : 'No control plane was running.');
