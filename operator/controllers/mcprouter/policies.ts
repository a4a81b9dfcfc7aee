import type {NetworkPeer} from '../../api/networkpolicy.js';
import type {McpRouter} from '../../api/types.js';
import {OPERATOR_LABELS} from './ownership.js';
import type {ApplyObject} from './render.js';

/**
 * The router's day-2 children, rendered (pure) beside the others: a PodDisruptionBudget when it runs more than one
 * pod, and a NetworkPolicy when `spec.networkPolicy` is set. Each is present or absent as a whole; the reconciler
 * deletes the one it created before once it is no longer wanted.
 */

/** Metadata every child of the router carries (name aside). */
export interface ChildMetadata {
  namespace: string;
  labels: Record<string, string>;
  ownerReferences: NonNullable<ApplyObject['metadata']['ownerReferences']>;
}

/**
 * The PodDisruptionBudget of a router with `replicas > 1` (policy/v1, Kubernetes "Specifying a Disruption Budget"):
 * `maxUnavailable: 1`, so that an eviction (a node drain, a cluster upgrade) takes one router pod at a time while the
 * others serve; undefined with one replica or none, where a budget would block drains for good (maxUnavailable 1) or
 * protect nothing.
 * @param selector the labels of the router's pods (the Deployment's selector)
 */
export function renderPodDisruptionBudget(
  router: McpRouter,
  name: string,
  selector: Record<string, string>,
  metadata: ChildMetadata,
): ApplyObject | undefined {
  if (router.spec.replicas <= 1) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {name, ...metadata},
    spec: {maxUnavailable: 1, selector: {matchLabels: selector}},
  };
}

/** A peer as NetworkPolicy has it, with only the selectors that are set. */
function peerOf(peer: NetworkPeer): Record<string, unknown> {
  return {
    ...(peer.namespaceSelector && {namespaceSelector: peer.namespaceSelector}),
    ...(peer.podSelector && {podSelector: peer.podSelector}),
  };
}

/**
 * The NetworkPolicy of `spec.networkPolicy` (networking.k8s.io/v1): it selects the router's pods, has policy type
 * Ingress only (egress to upstreams is not restricted), and one rule per port: `from` on the port `http`,
 * `metricsFrom` on the port `metrics`. A rule with an empty `from` would match every source, so an empty list renders
 * no rule at all: nothing may reach that port. The kubelet's probes are not affected: traffic from the pod's own node
 * is always allowed (Kubernetes "Network Policies", Behavior). The router's own pods are always a peer of the `http`
 * port: a pod forwards a request of another pod's session to it (ADR 0021). With `operatorNamespace`, the operator's
 * pods are a peer of it too: they read each router pod's /readyz for the upstreams' states.
 * @returns undefined without `spec.networkPolicy`
 */
export function renderNetworkPolicy(
  router: McpRouter,
  name: string,
  selector: Record<string, string>,
  metadata: ChildMetadata,
  operatorNamespace?: string,
): ApplyObject | undefined {
  const policy = router.spec.networkPolicy;
  if (!policy) return undefined;
  const operator: NetworkPeer[] = operatorNamespace
    ? [
        {
          namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': operatorNamespace}},
          podSelector: {matchLabels: OPERATOR_LABELS},
        },
      ]
    : [];
  const rule = (peers: readonly NetworkPeer[] | undefined, port: string) =>
    peers && peers.length > 0 ? [{from: peers.map(peerOf), ports: [{protocol: 'TCP', port}]}] : [];
  const peers: NetworkPeer[] = [{podSelector: {matchLabels: selector}}];
  const ingress = [...rule([...policy.from, ...peers, ...operator], 'http'), ...rule(policy.metricsFrom, 'metrics')];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {name, ...metadata},
    spec: {
      podSelector: {matchLabels: selector},
      policyTypes: ['Ingress'],
      // The API server drops an empty list; leaving it out keeps the applied object equal to the stored one.
      ...(ingress.length > 0 && {ingress}),
    },
  };
}
