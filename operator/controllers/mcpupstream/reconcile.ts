import type {Logger} from 'pino';
import {rfc3339} from '../../api/conditions.js';
import {
  API_VERSION,
  MCP_UPSTREAM,
  MCP_UPSTREAMS,
  type McpRouterResource,
  type McpUpstreamResource,
} from '../../api/types.js';
import {FIELD_MANAGER, objectHash} from '../../runtime/apply.js';
import type {ReconcileRequest, ReconcileResult, Reconciler} from '../../runtime/controller.js';
import type {EventRecorder} from '../../runtime/events.js';
import type {Informer} from '../../runtime/informer.js';
import type {KubeClient, KubeObject} from '../../runtime/kube.js';
import {computeUpstreamStatus} from './status.js';

export interface UpstreamReconcilerDeps {
  client: KubeClient;
  routers: Informer<McpRouterResource>;
  upstreams: Informer<McpUpstreamResource>;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
}

/**
 * Reconciles an McpUpstream's status: whether its spec is valid (Accepted), the transport and prefix in effect, and
 * which routers select it. Rendering is the router controller's job; an upstream change reaches routers through
 * the watch mapping in the manager.
 */
export class McpUpstreamReconciler implements Reconciler {
  readonly #deps: UpstreamReconcilerDeps;
  readonly #now: () => Date;

  constructor(deps: UpstreamReconcilerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  async reconcile({namespace, name}: ReconcileRequest): Promise<ReconcileResult> {
    const upstream = this.#deps.upstreams.get(namespace, name);
    if (!upstream || upstream.metadata.deletionTimestamp) return {};
    const status = computeUpstreamStatus(upstream, this.#deps.routers.list(namespace), rfc3339(this.#now()));
    if (objectHash(status) === objectHash(upstream.status ?? {})) return {};
    const uid = upstream.metadata.uid;
    await this.#deps.client.apply(
      MCP_UPSTREAMS,
      {apiVersion: API_VERSION, kind: MCP_UPSTREAM.kind, metadata: {name, namespace, ...(uid && {uid})}, status},
      {fieldManager: FIELD_MANAGER, force: true, subresource: 'status'},
    );
    this.#deps.log.debug({kind: MCP_UPSTREAM.kind, namespace, name}, 'Updated status');
    const before = upstream.status?.conditions?.find((c) => c.type === 'Accepted');
    const after = status.conditions?.find((c) => c.type === 'Accepted');
    if (after && (before?.status !== after.status || before.reason !== after.reason) && after.status === 'False') {
      const object = {...upstream, apiVersion: API_VERSION, kind: MCP_UPSTREAM.kind} as KubeObject;
      await this.#deps.events.record(object, 'Warning', after.reason, after.message);
    }
    return {};
  }
}
