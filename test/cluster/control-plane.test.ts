import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {
  type Cluster,
  ClusterUnavailableError,
  createNamespace,
  ensureHelm,
  helm,
  kubectl,
  useCluster,
} from '../support/cluster.js';
import {sleep} from './binaries.js';
import {versions} from './versions.js';

/** Polls `check` every 500 ms until it returns a value other than undefined; fails after `timeoutMs`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(500);
  }
}

interface ObjectList {
  items: {
    metadata: {name: string; ownerReferences?: {kind: string; name: string}[]};
    status?: {phase?: string};
  }[];
}

async function list(cluster: Cluster, kind: string, namespace: string): Promise<ObjectList['items']> {
  const {code, stdout, stderr} = await kubectl(cluster, ['get', kind, '-n', namespace, '-o', 'json']);
  if (code !== 0) throw new Error(`kubectl get ${kind} failed: ${stderr}`);
  return (JSON.parse(stdout) as ObjectList).items;
}

const deployment = (namespace: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${namespace}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      containers:
        - name: web
          image: registry.k8s.io/pause:3.10
`;

const privilegedPod = (namespace: string) => `
apiVersion: v1
kind: Pod
metadata: {name: privileged, namespace: ${namespace}}
spec:
  automountServiceAccountToken: false
  containers:
    - name: main
      image: registry.k8s.io/pause:3.10
      securityContext: {privileged: true}
`;

describe('the local control plane', () => {
  const cluster = useCluster();
  const namespaces: string[] = [];

  afterAll(async () => {
    for (const namespace of namespaces) await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']);
  });

  it('answers /readyz with ok through the admin kubeconfig', async () => {
    const {code, stdout, stderr} = await kubectl(cluster(), ['get', '--raw', '/readyz']);
    expect(stderr).toBe('');
    expect({code, stdout}).toEqual({code: 0, stdout: 'ok'});
    expect(cluster().server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('gives a Deployment a ReplicaSet and Pending Pods, and garbage-collects the ReplicaSet once the Deployment is deleted', async (context) => {
    context.skip(!cluster().controllerManager, 'kube-controller-manager is not running (KUBEBUILDER_ASSETS lacks it)');
    const namespace = await createNamespace(cluster(), 'control-plane-deployment');
    namespaces.push(namespace);

    const applied = await kubectl(cluster(), ['apply', '-f', '-'], deployment(namespace));
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);

    const replicaSet = await eventually('the Deployment to get a ReplicaSet', async () => {
      const [owned] = (await list(cluster(), 'replicasets', namespace)).filter((rs) =>
        rs.metadata.ownerReferences?.some((owner) => owner.kind === 'Deployment' && owner.name === 'web'),
      );
      return owned;
    });
    const pods = await eventually('the ReplicaSet to create 2 Pods', async () => {
      const owned = (await list(cluster(), 'pods', namespace)).filter((pod) =>
        pod.metadata.ownerReferences?.some(
          (owner) => owner.kind === 'ReplicaSet' && owner.name === replicaSet.metadata.name,
        ),
      );
      return owned.length === 2 ? owned : undefined;
    });
    // No nodes: nothing schedules them.
    expect(pods.map((pod) => pod.status?.phase)).toEqual(['Pending', 'Pending']);

    const deleted = await kubectl(cluster(), ['delete', 'deployment', 'web', '-n', namespace, '--wait=false']);
    expect(deleted.code).toBe(0);
    await eventually('the ReplicaSet and its Pods to be garbage-collected', async () => {
      const left = [
        ...(await list(cluster(), 'replicasets', namespace)),
        ...(await list(cluster(), 'pods', namespace)),
      ];
      return left.length === 0 ? true : undefined;
    });
  });

  it('refuses a privileged Pod in a namespace that enforces the restricted Pod Security Standard', async () => {
    const restricted = await createNamespace(cluster(), 'control-plane-restricted', {
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const privileged = await createNamespace(cluster(), 'control-plane-privileged', {
      'pod-security.kubernetes.io/enforce': 'privileged',
    });
    namespaces.push(restricted, privileged);

    const refused = await kubectl(cluster(), ['apply', '-f', '-'], privilegedPod(restricted));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('violates PodSecurity "restricted:latest"');
    expect(refused.stderr).toContain('privileged');
    expect((await list(cluster(), 'pods', restricted)).length).toBe(0);

    // The same Pod is admitted where the namespace allows it: Pod Security admission is what refused it above.
    const admitted = await kubectl(cluster(), ['apply', '-f', '-'], privilegedPod(privileged));
    expect(admitted.stderr).toBe('');
    expect(admitted.code).toBe(0);
  });
});

describe('the pinned helm', () => {
  const cluster = useCluster();
  let missing: string | undefined;

  beforeAll(async () => {
    // Built by `npm run cluster:build` (and .ci/run); built here, once, when it is not.
    try {
      await ensureHelm(cluster());
    } catch (error) {
      if (error instanceof ClusterUnavailableError) return; // useCluster() reports and skips.
      if (process.env.CI === 'true') throw error;
      missing = error instanceof Error ? error.message : String(error);
      console.warn(`SKIPPED: no helm: ${missing}`);
    }
  }, 30 * 60_000);

  it('is the pinned version and reaches the control plane', async (context) => {
    context.skip(missing !== undefined, `no helm: ${missing}`);
    const version = await helm(cluster(), ['version', '--short']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim().split('+')[0]).toBe(versions.helm);

    const releases = await helm(cluster(), ['list', '--all-namespaces', '--output', 'json']);
    expect(releases).toEqual({code: 0, stdout: '[]\n', stderr: ''});
  });
});
