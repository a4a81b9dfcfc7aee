/**
 * A real one-node cluster for the end-to-end suites: this run's control plane on the node's bridge plus a kubelet,
 * containerd, kube-proxy and CoreDNS (test/cluster/node.ts), with the project's images imported from the image cache
 * (`npm run image`). Started once per `vitest run` by the first suite that asks, shared by the others, stopped by the
 * run's teardown, which also checks that the machine is left as it was.
 *
 * ```ts
 * describe('on the node', () => {
 *   const cluster = useNodeCluster();
 *   it('runs a pod', async () => {
 *     await kubectl(cluster(), ['run', ...]);
 *   });
 * });
 * ```
 */
import {delimiter} from 'node:path';

import {beforeAll, beforeEach, inject} from 'vitest';

import {ControlPlaneUnavailableError, defaultLog} from '../cluster/binaries.js';
import {imageArchives, projectArchive} from '../cluster/images.js';
import {type NodeClusterState, nodeNetwork, nodeUnavailableReason} from '../cluster/node.js';
import {acquireTestNodeCluster} from '../cluster/test-run.js';
import {type Cluster, ClusterUnavailableError} from './cluster.js';

export {projectImage} from '../cluster/images.js';

export interface NodeCluster extends Cluster {
  /** The node's name, address (its bridge: API server, DNS, kubelet) and containerd. */
  node: NodeClusterState['node'];
  /** The cluster's DNS domain (`cluster.local`). */
  clusterDomain: string;
}

/** The longest a suite waits for the node: another run's node may hold the machine (minutes). */
const acquireTimeoutMs = 45 * 60_000;

let acquired: Promise<NodeCluster> | undefined;

/** Why the node suites cannot run here, or undefined. */
export function nodeSuiteUnavailableReason(): string | undefined {
  const reason = nodeUnavailableReason();
  if (reason) return reason;
  if (!imageArchives().some((file) => file.endsWith(`/${projectArchive}`))) {
    return `the project's image is not built (no ${projectArchive} in the image cache): run \`npm run image\` first`;
  }
  return undefined;
}

/**
 * Call at the top of a describe block. Registers a beforeAll that gets the run's one-node cluster; returns a getter
 * valid inside tests and hooks. Where no node can run (not Linux or not root, no cgroups, the images not built) every
 * test of the block is skipped with the reason in a banner; under `CI=true` the beforeAll fails instead.
 */
export function useNodeCluster(): () => NodeCluster {
  let cluster: NodeCluster | undefined;
  let skipReason: string | undefined;
  beforeAll(async () => {
    try {
      const reason = nodeSuiteUnavailableReason();
      if (reason) throw new ControlPlaneUnavailableError(`Cannot run a node here: ${reason}.`);
      cluster = await getNodeCluster();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (process.env.CI === 'true') throw error;
      skipReason = reason;
      console.warn(banner(`SKIPPED: no one-node Kubernetes cluster for this suite.\n${reason}`));
    }
  }, acquireTimeoutMs);
  beforeEach((context) => {
    if (skipReason !== undefined) context.skip(`no node: ${skipReason.split('\n')[0]}`);
  });
  return () => {
    if (cluster) return cluster;
    throw new ClusterUnavailableError(
      skipReason !== undefined
        ? `no node: ${skipReason}`
        : 'useNodeCluster(): the cluster is only available inside tests and hooks of its block, after its beforeAll',
    );
  };
}

/**
 * For a `beforeAll` of a block that uses `useNodeCluster()`: whether the node is there. False when the block is being
 * skipped (useNodeCluster() has reported why), so that the hook returns instead of failing.
 */
export function hasNode(cluster: () => NodeCluster): boolean {
  try {
    cluster();
    return true;
  } catch (error) {
    if (error instanceof ClusterUnavailableError) return false;
    throw error;
  }
}

function getNodeCluster(): Promise<NodeCluster> {
  acquired ??= (async () => {
    const runDir = inject('kubeMcpRouterTestRun');
    if (!runDir) {
      throw new ControlPlaneUnavailableError(
        'vitest ran without test/cluster/global-setup.ts, which stops the node at the end of the run; refusing to ' +
          'start one that nothing would stop.',
      );
    }
    const state = await acquireTestNodeCluster(runDir, (line) => defaultLog(line));
    const path = `${state.binDir}${delimiter}${process.env.PATH ?? ''}`;
    return {
      kubeconfig: state.kubeconfig,
      server: state.server,
      env: {...process.env, KUBECONFIG: state.kubeconfig, PATH: path},
      binDir: state.binDir,
      logsDir: state.logsDir,
      controllerManager: state.controllerManager,
      node: state.node,
      clusterDomain: nodeNetwork.clusterDomain,
    };
  })();
  return acquired;
}

function banner(text: string): string {
  const rule = '!'.repeat(100);
  return `\n${rule}\n${text}\n${rule}\n`;
}
