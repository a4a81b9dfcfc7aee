import type {V1Pod} from '@kubernetes/client-node';
import {selects} from '../../api/selector.js';
import {
  API_VERSION,
  MCP_ROUTER,
  parseMcpRouter,
  type McpRouterResource,
  type McpUpstreamResource,
} from '../../api/types.js';
import type {Enqueue} from '../../runtime/controller.js';
import type {Informer} from '../../runtime/informer.js';
import type {KubeObject} from '../../runtime/kube.js';
import {onChange} from '../../runtime/predicates.js';
import {ROUTER_LABEL} from './render.js';

/** The caches whose events queue McpRouters. */
export interface RouterWatchSources {
  routers: Informer<McpRouterResource>;
  upstreams: Informer<McpUpstreamResource>;
  /** The children's caches (ConfigMaps, ServiceAccounts, Deployments, Services labelled as the operator's). */
  children: readonly Informer<KubeObject>[];
  /** The router pods (labelled as the operator's). */
  pods: Informer<KubeObject>;
}

/**
 * The McpRouter controller's watches (controller-runtime's `SetupWithManager`): an McpRouter event queues that router
 * (not its own status writes); an McpUpstream event queues each router that selects it before or after the change;
 * an event on a child queues its controlling McpRouter (owner reference); an event on a router pod queues its
 * McpRouter (label `mcprouter.dev/router`).
 */
export function watchRouters(sources: RouterWatchSources, enqueue: Enqueue): void {
  const {routers, upstreams, children, pods} = sources;
  const onRouter = (router: McpRouterResource) => enqueue(router.metadata.namespace, router.metadata.name);
  routers.on(onChange(onRouter));

  const onUpstream = (...versions: McpUpstreamResource[]) => {
    for (const router of routers.list(versions[0]!.metadata.namespace)) {
      const parsed = parseMcpRouter(router);
      if (parsed.ok && versions.some((upstream) => selects(parsed.value, upstream))) onRouter(router);
    }
  };
  upstreams.on(onChange(onUpstream));

  const onChild = (child: KubeObject) => {
    const owner = child.metadata?.ownerReferences?.find(
      (ref) => ref.controller && ref.kind === MCP_ROUTER.kind && ref.apiVersion === API_VERSION,
    );
    if (owner && child.metadata?.namespace) enqueue(child.metadata.namespace, owner.name);
  };
  for (const informer of children) informer.on({add: onChild, update: (_, child) => onChild(child), delete: onChild});

  const onPod = (pod: KubeObject) => {
    const {namespace, labels} = (pod as V1Pod).metadata ?? {};
    const router = labels?.[ROUTER_LABEL];
    if (namespace && router) enqueue(namespace, router);
  };
  pods.on({add: onPod, update: (_, pod) => onPod(pod), delete: onPod});
}
