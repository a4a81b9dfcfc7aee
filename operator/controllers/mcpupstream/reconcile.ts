import type {V1Pod} from '@kubernetes/client-node';
import type {Logger} from 'pino';
import {rfc3339} from '../../api/conditions.js';
import {MCP_UPSTREAMS, type McpRouterResource, type McpUpstreamResource} from '../../api/types.js';
import type {ReconcileRequest, ReconcileResult, Reconciler} from '../../runtime/controller.js';
import type {EventRecorder} from '../../runtime/events.js';
import type {Informer} from '../../runtime/informer.js';
import type {KubeClient, KubeObject} from '../../runtime/kube.js';
import {writeStatusIfChanged} from '../../runtime/status.js';
import {ACCEPTED, UPSTREAM_WARNING_REASONS} from './conditions.js';
import {computeUpstreamStatus} from './status.js';

export interface UpstreamReconcilerDeps {
  client: KubeClient;
  routers: Informer<McpRouterResource>;
  upstreams: Informer<McpUpstreamResource>;
  /** Router pods of the watched namespaces: whether they wait for a Secret or key an upstream names. */
  pods: Informer<KubeObject>;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
}

/**
 * Reconciles an McpUpstream's status: whether it is accepted (valid spec, no router pod waits for a Secret or key it
 * names, no router left it out for its prefix), the transport and prefix in effect, and which routers select it; a Warning Event when Accepted
 * turns False. Rendering is the router controller's job; an upstream change reaches routers through the watch
 * mapping in the manager.
 */
export class McpUpstreamReconciler implements Reconciler {
  readonly #deps: UpstreamReconcilerDeps;
  readonly #now: () => Date;

  constructor(deps: UpstreamReconcilerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  async reconcile({namespace, name}: ReconcileRequest): Promise<ReconcileResult> {
    const {upstreams, routers, pods} = this.#deps;
    const upstream = upstreams.get(namespace, name);
    if (!upstream || upstream.metadata.deletionTimestamp) return {};
    const status = computeUpstreamStatus(
      upstream,
      {
        routers: routers.list(namespace),
        upstreams: upstreams.list(namespace),
        pods: pods.list(namespace) as V1Pod[],
      },
      rfc3339(this.#now()),
    );
    await writeStatusIfChanged(this.#deps, MCP_UPSTREAMS, upstream, status, {
      condition: ACCEPTED,
      warnings: UPSTREAM_WARNING_REASONS,
      normal: false,
    });
    return {};
  }
}
