import type http from 'node:http';
import type {KubeConfig, V1Pod} from '@kubernetes/client-node';
import type {Logger} from 'pino';
import {
  MCP_ROUTER,
  MCP_ROUTERS,
  MCP_UPSTREAMS,
  API_VERSION,
  parseMcpRouter,
  type McpRouterResource,
  type McpUpstreamResource,
} from './api/types.js';
import {McpRouterReconciler} from './controllers/mcprouter/reconcile.js';
import {MANAGED_BY, MANAGED_BY_LABEL, ROUTER_LABEL, type RenderOptions} from './controllers/mcprouter/render.js';
import {selects} from './controllers/mcprouter/resolve.js';
import {McpUpstreamReconciler} from './controllers/mcpupstream/reconcile.js';
import {missingSecretsOf} from './controllers/mcprouter/pods.js';
import {declaredPrefix, namesSecret} from './controllers/mcpupstream/status.js';
import {objectHash} from './runtime/apply.js';
import {routerPodFields, withoutBookkeeping} from './runtime/cache-transforms.js';
import {Controller} from './runtime/controller.js';
import {EventRecorder} from './runtime/events.js';
import {Informer} from './runtime/informer.js';
import {
  CONFIG_MAPS,
  DEPLOYMENTS,
  KubeClient,
  PODS,
  SERVICE_ACCOUNTS,
  SERVICES,
  type KubeObject,
} from './runtime/kube.js';
import {LeaderElector, type LeaderElectionOptions} from './runtime/leader.js';
import {createMetrics, type OperatorMetrics} from './runtime/metrics.js';
import {serve} from './runtime/server.js';

/**
 * The operator: informers for McpRouters, McpUpstreams and the children, two controllers (mcprouter, mcpupstream),
 * optional leader election, and the probe and metrics servers. Like controller-runtime's manager, caches run on every
 * replica (so a standby is ready to take over) and controllers only on the leader.
 *
 * Watch mapping: an McpRouter event queues that router and every McpUpstream of its namespace (their `routers`
 * status may change); an McpUpstream event queues it, the upstreams that declare the same prefix (before or after the
 * change: one may win or lose a prefix conflict) and each router that selects it before or after the change; an
 * event on a ConfigMap, Deployment, Service or ServiceAccount labelled as the operator's queues its controlling
 * McpRouter (owner reference); an event on a router pod queues its McpRouter (label `mcprouter.dev/router`) and, when
 * a container of the pod waits (or waited) for a Secret, the McpUpstreams that name that Secret.
 */

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Namespace to watch; all namespaces when absent. */
  namespace?: string;
  render: RenderOptions;
  /** Leader election on a Lease; absent: this process always leads. */
  leaderElection?: Omit<LeaderElectionOptions, 'client' | 'log' | 'onStartedLeading' | 'onStoppedLeading'>;
  /** Workers per controller; default 2. */
  workers?: number;
  /** Bind address of /healthz and /readyz, e.g. :8081; absent: not served. */
  healthProbeAddress?: string;
  /** Bind address of /metrics, e.g. :8080; absent: not served. */
  metricsAddress?: string;
  log: Logger;
  /** The clock of status conditions; injectable for tests. */
  now?: () => Date;
  /**
   * Cache whole objects instead of the fields the controllers read (runtime/cache-transforms.ts); only for measuring
   * what the transforms save (`npm run bench:operator`). Default false.
   */
  cacheWholeObjects?: boolean;
}

const CHILD_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;

/**
 * Whether an update of a custom resource changed only its status (and the bookkeeping that comes with a write):
 * such updates are the operator's own status writes and need no reconcile (controller-runtime users filter them with
 * a generation predicate; this also lets label and annotation changes through).
 */
export function statusOnlyChange(before: KubeObject, after: KubeObject): boolean {
  const strip = ({status: _status, metadata, ...rest}: KubeObject) => {
    const {resourceVersion: _rv, managedFields: _mf, ...meta} = metadata ?? {};
    return {...rest, metadata: meta};
  };
  return objectHash(strip(before)) === objectHash(strip(after));
}

export class Operator {
  readonly client: KubeClient;
  readonly metrics: OperatorMetrics;
  readonly routers: Informer<McpRouterResource>;
  readonly upstreams: Informer<McpUpstreamResource>;
  readonly configMaps: Informer<KubeObject>;
  readonly deployments: Informer<KubeObject>;
  readonly services: Informer<KubeObject>;
  readonly serviceAccounts: Informer<KubeObject>;
  readonly pods: Informer<KubeObject>;
  readonly routerReconciler: McpRouterReconciler;
  readonly upstreamReconciler: McpUpstreamReconciler;
  readonly routerController: Controller;
  readonly upstreamController: Controller;
  /** Addresses the servers listen on once started (host:port). */
  readonly addresses: {healthProbe?: string; metrics?: string} = {};
  /** Resolves when this process loses the Lease after having led; the process should then exit (client-go does). */
  readonly lostLeadership: Promise<void>;
  readonly #options: OperatorOptions;
  readonly #log: Logger;
  readonly #leader?: LeaderElector;
  readonly #servers: http.Server[] = [];
  #onLost!: () => void;
  #running = false;
  #stopping = false;

  constructor(options: OperatorOptions) {
    this.#options = options;
    this.#log = options.log;
    this.metrics = createMetrics();
    const requests = this.metrics.requests;
    this.client = new KubeClient(options.kubeConfig, (method, code) => requests.inc({method, code: String(code)}));
    this.lostLeadership = new Promise((resolve) => (this.#onLost = resolve));
    // The caches keep only the fields the controllers read (runtime/cache-transforms.ts).
    const whole = options.cacheWholeObjects === true;
    const common = {
      client: this.client,
      namespace: options.namespace,
      log: options.log,
      metrics: this.metrics,
      ...(!whole && {transform: withoutBookkeeping}),
    };
    const children = {...common, labelSelector: CHILD_SELECTOR};
    this.routers = new Informer({...common, type: MCP_ROUTERS});
    this.upstreams = new Informer({...common, type: MCP_UPSTREAMS});
    this.configMaps = new Informer({...children, type: CONFIG_MAPS});
    this.deployments = new Informer({...children, type: DEPLOYMENTS});
    this.services = new Informer({...children, type: SERVICES});
    this.serviceAccounts = new Informer({...children, type: SERVICE_ACCOUNTS});
    // The router pods, filtered by label (no re-listing): why a router is not ready, and which Secrets they wait for
    // (the operator reads no Secret: docs/adr/0019-operator-missing-secrets-from-router-pods.md).
    this.pods = new Informer({...children, type: PODS, ...(!whole && {transform: routerPodFields})});

    this.#leader = options.leaderElection
      ? new LeaderElector({
          client: this.client,
          ...options.leaderElection,
          log: options.log,
          onStartedLeading: () => void this.#lead(),
          onStoppedLeading: () => void this.#stopLeading(),
        })
      : undefined;
    const events = new EventRecorder(
      this.client,
      options.log,
      'kube-mcp-router-operator',
      this.#leader?.identity ?? 'kube-mcp-router-operator',
    );
    const now = options.now;
    this.routerReconciler = new McpRouterReconciler({
      client: this.client,
      routers: this.routers,
      upstreams: this.upstreams,
      configMaps: this.configMaps,
      deployments: this.deployments,
      services: this.services,
      serviceAccounts: this.serviceAccounts,
      pods: this.pods,
      events,
      log: options.log,
      metrics: this.metrics,
      render: options.render,
      ...(now && {now}),
    });
    this.upstreamReconciler = new McpUpstreamReconciler({
      client: this.client,
      routers: this.routers,
      upstreams: this.upstreams,
      pods: this.pods,
      events,
      log: options.log,
      ...(now && {now}),
    });
    const controllerOptions = {log: options.log, metrics: this.metrics, workers: options.workers ?? 2};
    this.routerController = new Controller({
      ...controllerOptions,
      name: 'mcprouter',
      reconciler: this.routerReconciler,
    });
    this.upstreamController = new Controller({
      ...controllerOptions,
      name: 'mcpupstream',
      reconciler: this.upstreamReconciler,
    });
    this.#wire();
  }

  #wire(): void {
    const routerKey = (router: KubeObject) =>
      this.routerController.enqueue(router.metadata?.namespace ?? '', router.metadata?.name ?? '');
    const upstreamsOf = (namespace: string) => {
      for (const upstream of this.upstreams.list(namespace))
        this.upstreamController.enqueue(namespace, upstream.metadata.name);
    };
    const onRouter = (router: McpRouterResource) => {
      routerKey(router);
      upstreamsOf(router.metadata.namespace);
    };
    this.routers.on({
      add: onRouter,
      update: (before, router) => {
        if (!statusOnlyChange(before, router)) onRouter(router);
      },
      delete: onRouter,
    });

    const onUpstream = (...versions: McpUpstreamResource[]) => {
      const {namespace, name} = versions[0]!.metadata;
      this.upstreamController.enqueue(namespace, name);
      const prefixes = new Set(versions.map(declaredPrefix));
      for (const rival of this.upstreams.list(namespace)) {
        if (prefixes.has(declaredPrefix(rival))) this.upstreamController.enqueue(namespace, rival.metadata.name);
      }
      for (const router of this.routers.list(namespace)) {
        const parsed = parseMcpRouter(router);
        if (parsed.ok && versions.some((upstream) => selects(parsed.value, upstream))) routerKey(router);
      }
    };
    this.upstreams.on({
      add: (u) => onUpstream(u),
      update: (before, after) => {
        if (!statusOnlyChange(before, after)) onUpstream(after, before);
      },
      delete: (u) => onUpstream(u),
    });

    const onChild = (child: KubeObject) => {
      const owner = child.metadata?.ownerReferences?.find(
        (ref) => ref.controller && ref.kind === MCP_ROUTER.kind && ref.apiVersion === API_VERSION,
      );
      if (owner && child.metadata?.namespace) this.routerController.enqueue(child.metadata.namespace, owner.name);
    };
    for (const informer of [this.configMaps, this.deployments, this.services, this.serviceAccounts]) {
      informer.on({add: onChild, update: (_, child) => onChild(child), delete: onChild});
    }

    const onPod = (...versions: KubeObject[]) => {
      const {namespace, labels} = versions[0]!.metadata ?? {};
      const router = labels?.[ROUTER_LABEL];
      if (!namespace || !router) return;
      this.routerController.enqueue(namespace, router);
      const secrets = new Set(missingSecretsOf(versions as V1Pod[]).map((missing) => missing.secret));
      if (secrets.size === 0) return;
      for (const upstream of this.upstreams.list(namespace)) {
        if ([...secrets].some((secret) => namesSecret(upstream, secret)))
          this.upstreamController.enqueue(namespace, upstream.metadata.name);
      }
    };
    this.pods.on({
      add: (pod) => onPod(pod),
      update: (before, after) => onPod(after, before),
      delete: (pod) => onPod(pod),
    });
  }

  #informers(): Informer<KubeObject>[] {
    return [
      this.routers,
      this.upstreams,
      this.configMaps,
      this.deployments,
      this.services,
      this.serviceAccounts,
      this.pods,
    ] as Informer<KubeObject>[];
  }

  /** Whether every cache has loaded its first list (what /readyz reports). */
  get synced(): boolean {
    return this.#informers().every((informer) => informer.hasSynced());
  }

  /** Whether the controllers run in this process. */
  get leading(): boolean {
    return this.#running;
  }

  /** Identity in the Lease, when leader election is on. */
  get identity(): string | undefined {
    return this.#leader?.identity;
  }

  /** Requests sent to the API server that write (POST, PUT, PATCH, DELETE), whatever their outcome. */
  async writes(): Promise<number> {
    const {values} = await this.metrics.requests.get();
    return values.filter((v) => v.labels.method !== 'GET').reduce((sum, v) => sum + v.value, 0);
  }

  /** Whether both controllers have nothing queued or running (tests use it to wait for a steady state). */
  get idle(): boolean {
    return this.routerController.idle && this.upstreamController.idle;
  }

  /** Starts caches, servers and leader election (or the controllers directly). Resolves once servers listen. */
  async start(): Promise<void> {
    for (const informer of this.#informers()) informer.start();
    const {healthProbeAddress, metricsAddress} = this.#options;
    if (healthProbeAddress !== undefined) {
      const {server, address} = await serve(healthProbeAddress, {
        '/healthz': async () => ({status: 200, body: 'ok\n'}),
        '/readyz': async () => (this.synced ? {status: 200, body: 'ok\n'} : {status: 503, body: 'caches not synced\n'}),
      });
      this.#servers.push(server);
      this.addresses.healthProbe = address;
    }
    if (metricsAddress !== undefined) {
      const {registry} = this.metrics;
      const {server, address} = await serve(metricsAddress, {
        '/metrics': async () => ({status: 200, body: await registry.metrics(), contentType: registry.contentType}),
      });
      this.#servers.push(server);
      this.addresses.metrics = address;
    }
    this.#log.info({...this.addresses, namespace: this.#options.namespace ?? '*'}, 'Started operator');
    if (this.#leader) {
      this.metrics.leader.set({name: this.#options.leaderElection!.name}, 0);
      this.#leader.start();
    } else {
      await this.#lead();
    }
  }

  async #lead(): Promise<void> {
    if (this.#stopping) return;
    if (this.#options.leaderElection) this.metrics.leader.set({name: this.#options.leaderElection.name}, 1);
    await Promise.all(this.#informers().map((informer) => informer.waitForSync()));
    if (this.#stopping) return;
    this.#running = true;
    this.routerController.start();
    this.upstreamController.start();
    for (const router of this.routers.list())
      this.routerController.enqueue(router.metadata.namespace, router.metadata.name);
    for (const upstream of this.upstreams.list())
      this.upstreamController.enqueue(upstream.metadata.namespace, upstream.metadata.name);
  }

  async #stopLeading(): Promise<void> {
    if (this.#options.leaderElection) this.metrics.leader.set({name: this.#options.leaderElection.name}, 0);
    if (this.#stopping) return;
    this.#running = false;
    await Promise.all([this.routerController.stop(), this.upstreamController.stop()]);
    this.#onLost();
  }

  /** Stops controllers (running reconciles finish), releases the Lease, stops caches and servers. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await Promise.all([this.routerController.stop(), this.upstreamController.stop()]);
    this.#running = false;
    await this.#leader?.stop();
    await Promise.all(this.#informers().map((informer) => informer.stop()));
    await Promise.all(this.#servers.map((server) => new Promise((resolve) => server.close(resolve))));
    this.#log.info('Stopped operator');
  }
}
