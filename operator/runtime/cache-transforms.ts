import type {KubeObject} from './kube.js';

/**
 * What the informers keep of each object (their `transform`, like client-go's `SetTransform` in controller-runtime's
 * cache options): only the fields a controller reads, so that the operator's memory grows with what it uses rather
 * than with what users and other controllers write. `npm run bench:operator` measures both ways (docs/benchmarks.md).
 *
 * Each function may change the object it is given (fresh from JSON.parse, not yet shared) and returns it or a smaller
 * copy.
 */

/** The annotation in which `kubectl apply` (client-side) keeps the whole object as last applied. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The object without `metadata.managedFields` (server-side apply bookkeeping, often as large as the object) and
 * without the last-applied annotation (a second copy of the spec). No controller reads either; the operator's own
 * applies send whole desired objects and never read the live field owners.
 */
export function withoutBookkeeping<T extends KubeObject>(object: T): T {
  const metadata = object.metadata;
  if (!metadata) return object;
  delete metadata.managedFields;
  if (metadata.annotations && LAST_APPLIED_ANNOTATION in metadata.annotations) {
    delete metadata.annotations[LAST_APPLIED_ANNOTATION];
    if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  }
  return object;
}

/** The fields of a container status kept for router pods. */
interface ContainerStatusFields {
  name?: string;
  ready?: boolean;
  restartCount?: number;
  state?: unknown;
}

/**
 * A router pod cut to what the operator reads of it (controllers/mcprouter/pods.ts and status.ts): identity and labels,
 * the deletion timestamp, `spec.nodeName`, and `status.phase`, `status.conditions`, `status.podIP` and the name,
 * readiness, restart count and state of each container. The pod spec (containers, env, volumes, the rendered
 * command) is dropped. A controller that starts reading another field of a pod adds it here.
 */
export function routerPodFields(pod: KubeObject): KubeObject {
  const {name, namespace, uid, resourceVersion, labels, deletionTimestamp, ownerReferences} = pod.metadata ?? {};
  const spec = pod.spec as {nodeName?: string} | undefined;
  const status = pod.status as
    {phase?: string; conditions?: unknown[]; podIP?: string; containerStatuses?: ContainerStatusFields[]} | undefined;
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: {name, namespace, uid, resourceVersion, labels, deletionTimestamp, ownerReferences},
    spec: {nodeName: spec?.nodeName},
    status: {
      phase: status?.phase,
      conditions: status?.conditions,
      podIP: status?.podIP,
      containerStatuses: status?.containerStatuses?.map(({name: container, ready, restartCount, state}) => ({
        name: container,
        ready,
        restartCount,
        state,
      })),
    },
  };
}
