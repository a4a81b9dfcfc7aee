import type {V1Pod} from '@kubernetes/client-node';
import type {McpRouterResource, McpUpstreamResource} from '../../api/types.js';
import type {Enqueue} from '../../runtime/controller.js';
import type {Informer} from '../../runtime/informer.js';
import type {KubeObject} from '../../runtime/kube.js';
import {onChange} from '../../runtime/predicates.js';
import {missingSecretsOf} from '../mcprouter/pods.js';
import {declaredPrefix, namesSecret} from './status.js';

/** The caches whose events queue McpUpstreams. */
export interface UpstreamWatchSources {
  routers: Informer<McpRouterResource>;
  upstreams: Informer<McpUpstreamResource>;
  /** The router pods (labelled as the operator's). */
  pods: Informer<KubeObject>;
}

/**
 * The McpUpstream controller's watches (controller-runtime's `SetupWithManager`): an McpRouter event queues every
 * McpUpstream of its namespace (their `routers` status may change); an McpUpstream event queues it and the upstreams
 * that declare the same prefix before or after the change (one may win or lose a prefix conflict); an event on a
 * router pod whose container waits (or waited) for a Secret queues the McpUpstreams that name that Secret. Their own
 * status writes queue nothing.
 */
export function watchUpstreams(sources: UpstreamWatchSources, enqueue: Enqueue): void {
  const {routers, upstreams, pods} = sources;
  const onRouter = (router: McpRouterResource) => {
    const {namespace} = router.metadata;
    for (const upstream of upstreams.list(namespace)) enqueue(namespace, upstream.metadata.name);
  };
  routers.on(onChange(onRouter));

  const onUpstream = (...versions: McpUpstreamResource[]) => {
    const {namespace, name} = versions[0]!.metadata;
    enqueue(namespace, name);
    const prefixes = new Set(versions.map(declaredPrefix));
    for (const rival of upstreams.list(namespace)) {
      if (prefixes.has(declaredPrefix(rival))) enqueue(namespace, rival.metadata.name);
    }
  };
  upstreams.on(onChange(onUpstream));

  const onPod = (...versions: KubeObject[]) => {
    const namespace = versions[0]!.metadata?.namespace;
    const secrets = new Set(missingSecretsOf(versions as V1Pod[]).map((missing) => missing.secret));
    if (!namespace || secrets.size === 0) return;
    for (const upstream of upstreams.list(namespace)) {
      if ([...secrets].some((secret) => namesSecret(upstream, secret))) enqueue(namespace, upstream.metadata.name);
    }
  };
  pods.on({add: (pod) => onPod(pod), update: (before, after) => onPod(after, before), delete: (pod) => onPod(pod)});
}
