import type http from 'node:http';
import type {KubeConfig} from '@kubernetes/client-node';
import type {Logger} from 'pino';
import {MCP_ROUTERS, MCP_UPSTREAMS, type McpRouterResource, type McpUpstreamResource} from './api/types.js';
import {McpRouterReconciler} from './controllers/mcprouter/reconcile.js';
import {MANAGED_BY, MANAGED_BY_LABEL, type RenderOptions} from './controllers/mcprouter/render.js';
import {watchRouters} from './controllers/mcprouter/setup.js';
import {McpUpstreamReconciler} from './controllers/mcpupstream/reconcile.js';
import {watchUpstreams} from './controllers/mcpupstream/setup.js';
import {routerPodFields, withoutBookkeeping} from './runtime/cache-transforms.js';
import {Controller} from './runtime/controller.js';
import {EventRecorder} from './runtime/events.js';
import {Informer} from './runtime/informer.js';
import {
  CONFIG_MAPS,
  DEPLOYMENTS,
  KubeClient,
  NETWORK_POLICIES,
  POD_DISRUPTION_BUDGETS,
  PODS,
  ROLE_BINDINGS,
  ROLES,
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
 * Each controller declares its own watches (`controllers/mcprouter/setup.ts`, `controllers/mcpupstream/setup.ts`);
 * the manager owns the caches they read and hands each the enqueue of its controller.
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

export class Operator {
  readonly client: KubeClient;
  readonly metrics: OperatorMetrics;
  readonly routers: Informer<McpRouterResource>;
  readonly upstreams: Informer<McpUpstreamResource>;
  readonly configMaps: Informer<KubeObject>;
  readonly deployments: Informer<KubeObject>;
  readonly services: Informer<KubeObject>;
  readonly serviceAccounts: Informer<KubeObject>;
  readonly roles: Informer<KubeObject>;
  readonly roleBindings: Informer<KubeObject>;
  readonly podDisruptionBudgets: Informer<KubeObject>;
  readonly networkPolicies: Informer<KubeObject>;
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
    this.roles = new Informer({...children, type: ROLES});
    this.roleBindings = new Informer({...children, type: ROLE_BINDINGS});
    this.podDisruptionBudgets = new Informer({...children, type: POD_DISRUPTION_BUDGETS});
    this.networkPolicies = new Informer({...children, type: NETWORK_POLICIES});
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
      roles: this.roles,
      roleBindings: this.roleBindings,
      podDisruptionBudgets: this.podDisruptionBudgets,
      networkPolicies: this.networkPolicies,
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

  /** Each controller's watches, as its own module declares them. */
  #wire(): void {
    const {routers, upstreams, pods} = this;
    watchRouters({routers, upstreams, children: this.#children(), pods}, (namespace, name) =>
      this.routerController.enqueue(namespace, name),
    );
    watchUpstreams({routers, upstreams, pods}, (namespace, name) => this.upstreamController.enqueue(namespace, name));
  }

  /** The caches of the objects a router owns. */
  #children(): Informer<KubeObject>[] {
    return [
      this.configMaps,
      this.deployments,
      this.services,
      this.serviceAccounts,
      this.roles,
      this.roleBindings,
      this.podDisruptionBudgets,
      this.networkPolicies,
    ];
  }

  #informers(): Informer<KubeObject>[] {
    return [this.routers, this.upstreams, ...this.#children(), this.pods] as Informer<KubeObject>[];
  }

  /** Whether every cache has loaded its first list (what /readyz reports). */
  get synced(): boolean {
    return this.#informers().every((informer) => informer.hasSynced());
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
    await Promise.all([this.routerController.stop(), this.upstreamController.stop()]);
    this.#onLost();
  }

  /** Stops controllers (running reconciles finish), releases the Lease, stops caches and servers. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await Promise.all([this.routerController.stop(), this.upstreamController.stop()]);
    await this.#leader?.stop();
    await Promise.all(this.#informers().map((informer) => informer.stop()));
    await Promise.all(this.#servers.map((server) => new Promise((resolve) => server.close(resolve))));
    this.#log.info('Stopped operator');
  }
}
