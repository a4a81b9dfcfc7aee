import type {V1Deployment, V1Pod} from '@kubernetes/client-node';
import type {Logger} from 'pino';
import {ConfigError, parseRouterConfig} from '../../../router/config/index.js';
import {rfc3339} from '../../api/conditions.js';
import {
  MCP_ROUTER,
  MCP_ROUTERS,
  parseMcpRouter,
  type McpRouterResource,
  type McpUpstreamResource,
} from '../../api/types.js';
import {applyIfChanged} from '../../runtime/apply.js';
import type {ReconcileRequest, ReconcileResult, Reconciler} from '../../runtime/controller.js';
import {messageOf, TerminalError} from '../../runtime/errors.js';
import type {EventRecorder} from '../../runtime/events.js';
import type {Informer} from '../../runtime/informer.js';
import {
  ApiError,
  CONFIG_MAPS,
  DEPLOYMENTS,
  ROLE_BINDINGS,
  ROLES,
  NETWORK_POLICIES,
  POD_DISRUPTION_BUDGETS,
  SERVICE_ACCOUNTS,
  SERVICES,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../../runtime/kube.js';
import type {OperatorMetrics} from '../../runtime/metrics.js';
import {writeStatusIfChanged} from '../../runtime/status.js';
import {ROUTER_WARNING_REASONS, RouterCondition, RouterReason} from './conditions.js';
import {foreignObject, resourceExistsMessage, type ForeignObject} from './ownership.js';
import {
  CONFIG_FILE,
  CONFIG_DIR,
  CONTAINER_PORT,
  childNames,
  renderRouter,
  routerUrl,
  type RenderOptions,
  type RenderedRouter,
} from './render.js';
import {podsOfRouter} from './pods.js';
import {fetchReadiness, READINESS_POLL_MS, readyPodIps, type PodReadiness} from './readiness.js';
import {resolveUpstreams} from './resolve.js';
import {computeRouterStatus, summarizePods, type RouterObservation} from './status.js';

/**
 * How often a router blocked by an object it does not own (ResourceExists) looks again: such an object (a user's
 * ConfigMap, say) is not in the label-filtered caches, so nothing else tells the operator that it is gone.
 */
export const RESOURCE_EXISTS_REQUEUE_MS = 15_000;

/** What the McpRouter reconciler works with. */
export interface RouterReconcilerDeps {
  client: KubeClient;
  routers: Informer<McpRouterResource>;
  upstreams: Informer<McpUpstreamResource>;
  configMaps: Informer<KubeObject>;
  deployments: Informer<KubeObject>;
  services: Informer<KubeObject>;
  serviceAccounts: Informer<KubeObject>;
  roles: Informer<KubeObject>;
  roleBindings: Informer<KubeObject>;
  podDisruptionBudgets: Informer<KubeObject>;
  networkPolicies: Informer<KubeObject>;
  /** The router pods (labelled as the operator's), for why a router is not ready. */
  pods: Informer<KubeObject>;
  events: EventRecorder;
  log: Logger;
  metrics: OperatorMetrics;
  render: RenderOptions;
  /** The clock, for condition transition times; injectable for tests. */
  now?: () => Date;
  /** Asks one router pod (by IP) what its /readyz says; default an HTTP GET on the container port (readiness.ts). */
  readiness?: (podIp: string) => Promise<PodReadiness | undefined>;
}

/**
 * Reconciles an McpRouter: resolve its upstreams from the cache, render, validate the rendered router.json with the
 * router's own parser, make sure no child's name is taken by an object the router does not own (ownership.ts), apply
 * the ConfigMap, ServiceAccount, Role and RoleBinding (its pods watch their peers), Deployment and Service where
 * they differ, then write the status where it differs.
 * A reconcile with nothing to change sends no write.
 */
export class McpRouterReconciler implements Reconciler {
  readonly #deps: RouterReconcilerDeps;
  readonly #now: () => Date;
  readonly #readiness: (podIp: string) => Promise<PodReadiness | undefined>;

  constructor(deps: RouterReconcilerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#readiness = deps.readiness ?? ((ip) => fetchReadiness(ip, CONTAINER_PORT));
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

    const invalidConfig = validateRendered(rendered);
    if (invalidConfig !== undefined) {
      await this.#writeStatus(router, {
        ...base,
        failure: {reason: RouterReason.ApplyFailed, message: invalidConfig},
        deployment: deployments.get(namespace, name) as V1Deployment,
      });
      throw new TerminalError(`McpRouter ${namespace}/${name}: ${invalidConfig}`);
    }

    const steps = this.#steps(rendered);
    const live = await Promise.all(steps.map((step) => this.#live(step, namespace)));
    const foreign = steps
      .map((step, i) => foreignObject(step.type.kind, live[i], router.metadata.uid))
      .filter((object): object is ForeignObject => object !== undefined);
    if (foreign.length > 0) {
      const message = resourceExistsMessage(foreign);
      await this.#writeStatus(router, {...base, failure: {reason: RouterReason.ResourceExists, message}});
      log.debug(
        {objects: foreign.map((o) => `${o.kind}/${o.name}`)},
        'Refused to adopt objects the router does not own',
      );
      return {requeueAfterMs: RESOURCE_EXISTS_REQUEUE_MS};
    }

    let deployment: V1Deployment;
    try {
      deployment = (await this.#applyChildren(router, rendered, steps, live, log)) as V1Deployment;
      await this.#deleteUnwanted(router, rendered, log);
    } catch (error) {
      const message = `apply failed: ${messageOf(error)}`;
      await this.#writeStatus(router, {
        ...base,
        failure: {reason: RouterReason.ApplyFailed, message},
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
    // Pods only say why a router is not ready; a change of theirs queues the router (manager.ts).
    const pods = podsOfRouter(this.#deps.pods.list(namespace) as V1Pod[], name);
    // Upstream states change without any Kubernetes event, so a router with ready pods is looked at again.
    const podIps = readyPodIps(pods);
    const readiness = await Promise.all(podIps.map((ip) => this.#readiness(ip)));
    await this.#writeStatus(router, {
      ...base,
      deployment,
      ...(!allReady && spec.spec.replicas > 0 && {pods: summarizePods(pods)}),
      readiness: readiness.filter((report): report is PodReadiness => report !== undefined),
    });
    return podIps.length > 0 ? {requeueAfterMs: READINESS_POLL_MS} : {};
  }

  /**
   * The children to apply, in order (the ServiceAccount before the Deployment, whose pods cannot be created without
   * it), each with its cache and what its Applied Event says.
   */
  #steps(rendered: RenderedRouter): ChildStep[] {
    const serviceAccount: ChildStep[] = rendered.serviceAccount
      ? [
          {
            type: SERVICE_ACCOUNTS,
            cache: this.#deps.serviceAccounts,
            desired: rendered.serviceAccount,
            detail: 'no token automounted',
          },
        ]
      : [];
    const optional = (type: ResourceType, desired: RenderedRouter['configMap'] | undefined, detail: string) =>
      desired ? [{type, cache: this.#cacheOf(type), desired, detail}] : [];
    return [
      {
        type: CONFIG_MAPS,
        cache: this.#deps.configMaps,
        desired: rendered.configMap,
        detail: `config ${rendered.configHash}`,
      },
      ...serviceAccount,
      {type: ROLES, cache: this.#deps.roles, desired: rendered.role, detail: 'list and watch EndpointSlices'},
      {
        type: ROLE_BINDINGS,
        cache: this.#deps.roleBindings,
        desired: rendered.roleBinding,
        detail: `for ServiceAccount ${(rendered.roleBinding.subjects as {name: string}[])[0]?.name}`,
      },
      // Before the Deployment, so that no new pod runs unprotected for a moment.
      ...optional(NETWORK_POLICIES, rendered.networkPolicy, 'ingress from spec.networkPolicy only'),
      {
        type: DEPLOYMENTS,
        cache: this.#deps.deployments,
        desired: rendered.deployment,
        detail: `image ${deploymentImage(rendered)}, ${rendered.env.length} env vars from Secrets or ConfigMaps`,
      },
      {
        type: SERVICES,
        cache: this.#deps.services,
        desired: rendered.service,
        detail: `port ${(rendered.service.spec as {ports: {port: number}[]}).ports[0]?.port}`,
      },
      ...optional(POD_DISRUPTION_BUDGETS, rendered.podDisruptionBudget, 'maxUnavailable 1'),
    ];
  }

  /** The cache of an optional child's kind. */
  #cacheOf(type: ResourceType): Informer<KubeObject> {
    return type === NETWORK_POLICIES ? this.#deps.networkPolicies : this.#deps.podDisruptionBudgets;
  }

  /**
   * Deletes the optional children this router created before and no longer renders: the PodDisruptionBudget once
   * `replicas` is 1 or 0, the NetworkPolicy once `spec.networkPolicy` is gone. Only an object this router controls
   * (owner reference uid) is deleted, and only while it still has that uid.
   * @throws ApiError when a delete fails (the reconcile is retried)
   */
  async #deleteUnwanted(router: McpRouterResource, rendered: RenderedRouter, log: Logger): Promise<void> {
    const {namespace, name, uid} = router.metadata;
    const names = childNames(name);
    const unwanted: [ResourceType, string, boolean][] = [
      [POD_DISRUPTION_BUDGETS, names.podDisruptionBudget, rendered.podDisruptionBudget === undefined],
      [NETWORK_POLICIES, names.networkPolicy, rendered.networkPolicy === undefined],
    ];
    for (const [type, childName, notWanted] of unwanted) {
      const live = notWanted ? this.#cacheOf(type).get(namespace, childName) : undefined;
      const liveUid = live?.metadata?.uid;
      if (!live || !liveUid || live.metadata?.deletionTimestamp) continue;
      if (foreignObject(type.kind, live, uid) !== undefined) continue;
      await this.#deps.client.delete(type, namespace, childName, liveUid);
      log.info({child: type.kind, childName}, `Deleted ${type.kind}`);
      void this.#deps.events.record(
        router as KubeObject,
        'Normal',
        RouterReason.Deleted,
        `Deleted ${type.kind} ${childName} (no longer wanted)`,
      );
    }
  }

  /**
   * The live object of a child's name: from the cache, which holds only objects labelled as the operator's, else
   * read from the API server (one GET, only while the child is missing from the cache), so that an object of that
   * name the operator did not create is seen before anything is applied over it.
   * @throws ApiError when the read fails (the reconcile is retried)
   */
  async #live(step: ChildStep, namespace: string): Promise<KubeObject | undefined> {
    const name = step.desired.metadata.name;
    return step.cache.get(namespace, name) ?? (await this.#deps.client.get(step.type, namespace, name));
  }

  /** Applies the children in order (`#steps`), given their live objects; returns the live Deployment. */
  async #applyChildren(
    router: McpRouterResource,
    rendered: RenderedRouter,
    steps: ChildStep[],
    live: (KubeObject | undefined)[],
    log: Logger,
  ): Promise<KubeObject> {
    let deployment: KubeObject | undefined;
    for (const [i, {type, desired, detail}] of steps.entries()) {
      const result = await applyIfChanged(this.#deps.client, type, desired, live[i]);
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
          RouterReason.Applied,
          `Applied ${type.kind} ${desired.metadata.name} (${detail})`,
        );
      }
      if (type === DEPLOYMENTS) deployment = result.object;
    }
    return deployment as KubeObject;
  }

  /** Computes the status and writes it when it differs; records an Event when Ready flips. */
  async #writeStatus(router: McpRouterResource, observation: RouterObservation): Promise<void> {
    const status = computeRouterStatus(router, observation, rfc3339(this.#now()));
    await writeStatusIfChanged(this.#deps, MCP_ROUTERS, router, status, {
      condition: RouterCondition.Ready,
      warnings: ROUTER_WARNING_REASONS,
      normal: true,
    });
  }
}

/** One child of a router: where it is served and cached, what it should be, and what its Applied Event says. */
interface ChildStep {
  type: ResourceType;
  cache: Informer<KubeObject>;
  desired: RenderedRouter['configMap'];
  detail: string;
}

function deploymentImage(rendered: RenderedRouter): string | undefined {
  const spec = rendered.deployment.spec as {template: {spec: {containers: {image: string}[]}}};
  return spec.template.spec.containers[0]?.image;
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
