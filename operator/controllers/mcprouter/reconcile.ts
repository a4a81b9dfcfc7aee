import type {V1Deployment, V1Pod} from '@kubernetes/client-node';
import type {Logger} from 'pino';
import {parseRouterConfig} from '../../../router/config/load.js';
import {ConfigError} from '../../../router/errors.js';
import {rfc3339} from '../../api/conditions.js';
import type {McpRouterStatus} from '../../api/mcprouter.js';
import {
  API_VERSION,
  MCP_ROUTER,
  MCP_ROUTERS,
  parseMcpRouter,
  type McpRouterResource,
  type McpUpstreamResource,
} from '../../api/types.js';
import {FIELD_MANAGER, applyIfChanged, objectHash} from '../../runtime/apply.js';
import type {ReconcileRequest, ReconcileResult, Reconciler} from '../../runtime/controller.js';
import {TerminalError} from '../../runtime/errors.js';
import type {EventRecorder} from '../../runtime/events.js';
import {messageOf, type Informer} from '../../runtime/informer.js';
import {
  ApiError,
  CONFIG_MAPS,
  DEPLOYMENTS,
  PODS,
  SERVICE_ACCOUNTS,
  SERVICES,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../../runtime/kube.js';
import type {OperatorMetrics} from '../../runtime/metrics.js';
import {
  CONFIG_FILE,
  CONFIG_DIR,
  renderRouter,
  routerUrl,
  selectorLabels,
  type RenderOptions,
  type RenderedRouter,
} from './render.js';
import {resolveUpstreams} from './resolve.js';
import {computeRouterStatus, summarizePods, type RouterObservation} from './status.js';

/** How often a router whose pods are not all ready is looked at again (pod states do not change its Deployment). */
export const NOT_READY_REQUEUE_MS = 30_000;

/** What the McpRouter reconciler works with. */
export interface RouterReconcilerDeps {
  client: KubeClient;
  routers: Informer<McpRouterResource>;
  upstreams: Informer<McpUpstreamResource>;
  configMaps: Informer<KubeObject>;
  deployments: Informer<KubeObject>;
  services: Informer<KubeObject>;
  /** Every ServiceAccount of the watched namespaces, not only the routers' own: to see one the router must not take. */
  serviceAccounts: Informer<KubeObject>;
  events: EventRecorder;
  log: Logger;
  metrics: OperatorMetrics;
  render: RenderOptions;
  /** The clock, for condition transition times; injectable for tests. */
  now?: () => Date;
}

/** Ready reasons that call for a person, recorded as Warning Events when the condition takes them. */
const WARNING_REASONS = new Set([
  'InvalidSpec',
  'ApplyFailed',
  'UpstreamNotFound',
  'UpstreamInvalid',
  'PrefixConflict',
  'ProgressDeadlineExceeded',
]);

/**
 * Reconciles an McpRouter: resolve its upstreams from the cache, render, validate the rendered router.json with the
 * router's own parser, apply the ConfigMap, ServiceAccount, Deployment and Service where they differ, then write the status where it
 * differs. A reconcile with nothing to change sends no write.
 */
export class McpRouterReconciler implements Reconciler {
  readonly #deps: RouterReconcilerDeps;
  readonly #now: () => Date;

  constructor(deps: RouterReconcilerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  async reconcile({namespace, name}: ReconcileRequest): Promise<ReconcileResult> {
    const {routers, upstreams, deployments} = this.#deps;
    const router = routers.get(namespace, name);
    // Gone or going: the garbage collector deletes the children through their owner references.
    if (!router || router.metadata.deletionTimestamp) return {};
    const log = this.#deps.log.child({kind: MCP_ROUTER.kind, namespace, name});

    const parsed = parseMcpRouter(router);
    if (!parsed.ok) {
      await this.#writeStatus(router, {
        kind: 'invalid',
        issues: parsed.issues,
        deployment: deployments.get(namespace, name) as V1Deployment,
      });
      throw new TerminalError(
        `McpRouter ${namespace}/${name} is invalid: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      );
    }
    const spec = parsed.value;
    const resolved = resolveUpstreams(spec, upstreams.list(namespace));
    const rendered = renderRouter(spec, resolved.selected, this.#deps.render);
    const base = {
      kind: 'rendered' as const,
      replicas: spec.spec.replicas,
      url: routerUrl(spec, this.#deps.render.clusterDomain),
      resolved,
      upstreams: rendered.upstreams,
      configHash: rendered.configHash,
    };

    const invalidConfig =
      validateRendered(rendered) ??
      foreignServiceAccount(rendered, this.#deps.serviceAccounts.get(namespace, name), router.metadata.uid);
    if (invalidConfig !== undefined) {
      await this.#writeStatus(router, {
        ...base,
        applyError: invalidConfig,
        deployment: deployments.get(namespace, name) as V1Deployment,
      });
      throw new TerminalError(`McpRouter ${namespace}/${name}: ${invalidConfig}`);
    }

    let deployment: V1Deployment;
    try {
      deployment = (await this.#applyChildren(router, rendered, log)) as V1Deployment;
    } catch (error) {
      const message = `apply failed: ${messageOf(error)}`;
      await this.#writeStatus(router, {
        ...base,
        applyError: message,
        deployment: deployments.get(namespace, name) as V1Deployment,
      });
      if (error instanceof ApiError && (error.statusCode === 400 || error.statusCode === 422)) {
        throw new TerminalError(message, {cause: error});
      }
      throw error;
    }

    const readyReplicas = deployment.status?.readyReplicas ?? 0;
    const allReady =
      readyReplicas >= spec.spec.replicas && (deployment.status?.updatedReplicas ?? 0) >= spec.spec.replicas;
    let observation: RouterObservation = {...base, deployment};
    if (!allReady && spec.spec.replicas > 0) {
      // Only to say why pods are not ready; without it the Ready reason is the Deployment's (RollingOut).
      try {
        const selector = Object.entries(selectorLabels(name))
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        const pods = await this.#deps.client.list<V1Pod & KubeObject>(PODS, namespace, selector);
        observation = {...observation, pods: summarizePods(pods.items)};
      } catch (error) {
        log.warn({err: messageOf(error)}, 'Failed to list the router pods');
      }
    }
    await this.#writeStatus(router, observation);
    return allReady ? {} : {requeueAfterMs: NOT_READY_REQUEUE_MS};
  }

  /**
   * Applies the children in order (the ServiceAccount before the Deployment, whose pods cannot be created without
   * it); returns the live Deployment.
   */
  async #applyChildren(router: McpRouterResource, rendered: RenderedRouter, log: Logger): Promise<KubeObject> {
    const {namespace} = router.metadata;
    type Step = [ResourceType, Informer<KubeObject>, RenderedRouter['configMap'], string];
    const serviceAccount: Step[] = rendered.serviceAccount
      ? [[SERVICE_ACCOUNTS, this.#deps.serviceAccounts, rendered.serviceAccount, 'no token automounted']]
      : [];
    const steps: Step[] = [
      [CONFIG_MAPS, this.#deps.configMaps, rendered.configMap, `config ${rendered.configHash}`],
      ...serviceAccount,
      [
        DEPLOYMENTS,
        this.#deps.deployments,
        rendered.deployment,
        `image ${deploymentImage(rendered)}, ${rendered.env.length} env vars from Secrets or ConfigMaps`,
      ],
      [
        SERVICES,
        this.#deps.services,
        rendered.service,
        `port ${(rendered.service.spec as {ports: {port: number}[]}).ports[0]?.port}`,
      ],
    ];
    let deployment: KubeObject | undefined;
    for (const [type, cache, desired, detail] of steps) {
      const live = cache.get(namespace, desired.metadata.name);
      const result = await applyIfChanged(this.#deps.client, type, desired, live);
      if (result.changed) {
        this.#deps.metrics.applies.inc({kind: type.kind});
        log.info(
          {
            child: type.kind,
            childName: desired.metadata.name,
            resourceVersion: result.object.metadata?.resourceVersion,
          },
          `Applied ${type.kind}`,
        );
        void this.#deps.events.record(
          router as KubeObject,
          'Normal',
          'Applied',
          `Applied ${type.kind} ${desired.metadata.name} (${detail})`,
        );
      }
      if (type === DEPLOYMENTS) deployment = result.object;
    }
    return deployment as KubeObject;
  }

  /** Computes the status and writes it through the status subresource when it differs; records Events on flips. */
  async #writeStatus(router: McpRouterResource, observation: RouterObservation): Promise<void> {
    const status = computeRouterStatus(router, observation, rfc3339(this.#now()));
    if (objectHash(status) === objectHash(router.status ?? {})) return;
    const {namespace, name, uid} = router.metadata;
    await this.#deps.client.apply(
      MCP_ROUTERS,
      {apiVersion: API_VERSION, kind: MCP_ROUTER.kind, metadata: {name, namespace, ...(uid && {uid})}, status},
      {fieldManager: FIELD_MANAGER, force: true, subresource: 'status'},
    );
    this.#deps.log.debug({kind: MCP_ROUTER.kind, namespace, name}, 'Updated status');
    await this.#recordFlips(router, router.status, status);
  }

  async #recordFlips(
    router: McpRouterResource,
    before: McpRouterStatus | undefined,
    after: McpRouterStatus,
  ): Promise<void> {
    const previous = before?.conditions?.find((c) => c.type === 'Ready');
    const ready = after.conditions?.find((c) => c.type === 'Ready');
    if (!ready || (previous && previous.status === ready.status && previous.reason === ready.reason)) return;
    const object = {...router, apiVersion: API_VERSION, kind: MCP_ROUTER.kind} as KubeObject;
    if (ready.status === 'True') {
      await this.#deps.events.record(object, 'Normal', 'Ready', ready.message);
    } else if (WARNING_REASONS.has(ready.reason)) {
      await this.#deps.events.record(object, 'Warning', ready.reason, ready.message);
    } else {
      await this.#deps.events.record(object, 'Normal', ready.reason, ready.message);
    }
  }
}

function deploymentImage(rendered: RenderedRouter): string | undefined {
  const spec = rendered.deployment.spec as {template: {spec: {containers: {image: string}[]}}};
  return spec.template.spec.containers[0]?.image;
}

/**
 * Whether the router's own ServiceAccount would take over one that exists and is not the router's (no controller
 * owner reference to it): server-side apply with force would make it owned by the router, deleted with it, and
 * without automounted tokens for whatever else runs as it. Returns the problem, or undefined.
 */
export function foreignServiceAccount(
  rendered: RenderedRouter,
  live: KubeObject | undefined,
  routerUid: string | undefined,
): string | undefined {
  if (!rendered.serviceAccount || !live) return undefined;
  const owned = live.metadata?.ownerReferences?.some((ref) => ref.controller && ref.uid === routerUid);
  if (owned) return undefined;
  return (
    `ServiceAccount "${rendered.serviceAccount.metadata.name}" exists and does not belong to this McpRouter; the ` +
    'operator does not take it over: set spec.serviceAccountName to run the router as it, or delete it'
  );
}

/**
 * Checks the rendered router.json with the router's own parser, with every env var it refers to set, so the
 * operator never ships a config the router would refuse. Returns the problem, or undefined.
 */
export function validateRendered(rendered: RenderedRouter): string | undefined {
  const env: Record<string, string> = {HOME: '/tmp', npm_config_cache: '/tmp/.npm'};
  // Long enough for a bearer token (the router wants at least 16 characters).
  for (const variable of rendered.env) env[variable.name] = 'set-in-the-router-pod';
  try {
    parseRouterConfig(rendered.routerJson, env, `${CONFIG_DIR}/${CONFIG_FILE}`);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) {
      return `rendered router.json is invalid: ${error.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
    }
    throw error;
  }
}
