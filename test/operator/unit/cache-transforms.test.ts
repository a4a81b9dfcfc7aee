import type {V1Pod} from '@kubernetes/client-node';
import {describe, expect, it} from 'vitest';
import {missingSecretsOf, podsOfRouter} from '../../../operator/controllers/mcprouter/pods.js';
import {summarizePods} from '../../../operator/controllers/mcprouter/status.js';
import {
  LAST_APPLIED_ANNOTATION,
  routerPodFields,
  withoutBookkeeping,
} from '../../../operator/runtime/cache-transforms.js';
import type {KubeObject} from '../../../operator/runtime/kube.js';
import {waitingRouter} from '../fixtures.js';

const MANAGED_FIELDS = [{manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1: {'f:data': {}}}];

/** A router pod as the API server sends it: spec with env and volumes, managedFields, and a status. */
function pod(name: string, router: string, status: V1Pod['status'], nodeName?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'team-a',
      uid: `uid-${name}`,
      resourceVersion: '42',
      labels: {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/instance': router},
      annotations: {'mcprouter.dev/config-hash': 'sha256:0123456789abcdef'},
      ownerReferences: [
        {apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${router}-5d4f`, uid: 'rs', controller: true},
      ],
      managedFields: MANAGED_FIELDS,
    },
    spec: {
      ...(nodeName !== undefined && {nodeName}),
      containers: [
        {
          name: 'router',
          image: 'example.test/router:1',
          args: ['router', '--config', '/etc/kube-mcp-router/router.json'],
          env: [{name: 'GITHUB_TOKEN', valueFrom: {secretKeyRef: {name: 'github-token', key: 'token'}}}],
          volumeMounts: [{name: 'config', mountPath: '/etc/kube-mcp-router'}],
        },
      ],
      volumes: [{name: 'config', configMap: {name: `${router}-config`}}],
    },
    status,
  };
}

const PODS = (): KubeObject[] => [
  pod('a-1', 'a', {
    phase: 'Pending',
    conditions: [{type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available'}],
  }),
  pod(
    'a-2',
    'a',
    {
      phase: 'Pending',
      containerStatuses: [waitingRouter('CreateContainerConfigError', 'secret "github-token" not found')],
    },
    'node-1',
  ),
  pod('b-1', 'b', {phase: 'Pending', containerStatuses: [waitingRouter('ImagePullBackOff', 'Back-off')]}, 'node-1'),
];

describe('routerPodFields', () => {
  it('tells the router controller what the whole pod tells it: pods of a router, their summary, missing Secrets', () => {
    const whole = PODS() as V1Pod[];
    const trimmed = PODS().map(routerPodFields) as V1Pod[];
    for (const router of ['a', 'b']) {
      expect(podsOfRouter(trimmed, router).map((p) => p.metadata?.name)).toEqual(
        podsOfRouter(whole, router).map((p) => p.metadata?.name),
      );
      expect(summarizePods(podsOfRouter(trimmed, router))).toEqual(summarizePods(podsOfRouter(whole, router)));
    }
    expect(missingSecretsOf(trimmed)).toEqual(missingSecretsOf(whole));
    expect(missingSecretsOf(trimmed)).toEqual([{reason: 'SecretNotFound', secret: 'github-token'}]);
  });

  it('drops the spec but the node, the annotations and managedFields, and container images', () => {
    const [, trimmed] = PODS().map(routerPodFields) as V1Pod[];
    expect(trimmed?.spec).toEqual({nodeName: 'node-1'});
    expect(trimmed?.metadata?.annotations).toBeUndefined();
    expect(trimmed?.metadata?.managedFields).toBeUndefined();
    expect(trimmed?.status?.containerStatuses?.[0]).not.toHaveProperty('image');
    expect(JSON.stringify(trimmed).length).toBeLessThan(JSON.stringify(PODS()[1]).length / 2);
  });
});

describe('withoutBookkeeping', () => {
  it("drops managedFields and kubectl's last-applied annotation, and keeps the other annotations", () => {
    const object: KubeObject = {
      metadata: {
        name: 'github',
        annotations: {[LAST_APPLIED_ANNOTATION]: '{"spec":{}}', note: 'kept'},
        managedFields: MANAGED_FIELDS,
      },
      spec: {prefix: 'gh'},
    };
    expect(withoutBookkeeping(object)).toEqual({
      metadata: {name: 'github', annotations: {note: 'kept'}},
      spec: {prefix: 'gh'},
    });
  });

  it('removes an annotations map left empty, and leaves an object without metadata alone', () => {
    expect(withoutBookkeeping({metadata: {name: 'x', annotations: {[LAST_APPLIED_ANNOTATION]: '{}'}}})).toEqual({
      metadata: {name: 'x'},
    });
    expect(withoutBookkeeping({kind: 'Status'})).toEqual({kind: 'Status'});
  });
});
