import {
  DiscoveryV1Api,
  KubeConfig,
  makeInformer,
  type Informer,
  type ObjectCache,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import type {Logger} from 'pino';

/** The router pods a session may be forwarded to. */
export interface Peers {
  /** Whether `address` (`host:port`, IPv6 hosts in brackets) is a current ready endpoint of the router's Service. */
  isReadyEndpoint(address: string): boolean;
  /**
   * Whether `address` is an endpoint of the Service that is not ready and not terminating: a pod that starts (or fails
   * its readiness probe). Another pod's view may already have it ready (ADR 0038).
   */
  isStarting(address: string): boolean;
  /**
   * Resolves true as soon as `address` is a ready endpoint in this view, false after `timeoutMs` milliseconds (or at
   * `close`) if it is not.
   */
  whenReady(address: string, timeoutMs: number): Promise<boolean>;
  /** A current ready endpoint other than `self` (`host:port`), each in turn; undefined when there is none. */
  readyPeer(self: string): string | undefined;
  /** Whether the peers are known (the first list has loaded): a pod is not ready before. */
  readonly synced: boolean;
  close(): void;
}

/** `host:port` as a session id carries it, with an IPv6 host in brackets (pure). */
export function endpointAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** What an endpoint of the router's Service is: ready, starting (not ready, not terminating), or terminating. */
export type EndpointState = 'ready' | 'starting' | 'terminating';

/**
 * The endpoints of EndpointSlices and their state, by `host:port` for the port named `portName` (pure). An endpoint
 * whose `ready` condition is unset counts as ready, as discovery.k8s.io/v1 EndpointConditions says; a terminating one
 * is not ready, so a draining pod gets no forwards; one that is neither is starting.
 */
export function endpointStates(slices: readonly V1EndpointSlice[], portName: string): Map<string, EndpointState> {
  const states = new Map<string, EndpointState>();
  for (const slice of slices) {
    const port = slice.ports?.find((p) => (p.name ?? '') === portName)?.port;
    if (port === undefined) continue;
    for (const {addresses, conditions} of slice.endpoints ?? []) {
      const state =
        conditions?.ready !== false ? 'ready' : conditions.terminating === true ? 'terminating' : 'starting';
      for (const address of addresses) {
        // An address in two slices (while slices are rebalanced) is ready when either says so.
        const key = endpointAddress(address, port);
        if (states.get(key) !== 'ready') states.set(key, state);
      }
    }
  }
  return states;
}

/** Waiters for addresses to become ready: each resolves once, with true when it did, false at its timeout. */
export class ReadyWaiters {
  readonly #waiting = new Set<{address: string; settle: (ready: boolean) => void}>();

  wait(address: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter = {
        address,
        settle: (ready: boolean) => {
          clearTimeout(timer);
          this.#waiting.delete(waiter);
          resolve(ready);
        },
      };
      const timer = setTimeout(() => waiter.settle(false), timeoutMs);
      this.#waiting.add(waiter);
    });
  }

  /** Settles the waiters of the addresses that `isReady` now says are ready. */
  update(isReady: (address: string) => boolean): void {
    for (const waiter of this.#waiting) if (isReady(waiter.address)) waiter.settle(true);
  }

  close(): void {
    for (const waiter of this.#waiting) waiter.settle(false);
  }
}

/** Seconds before a failed EndpointSlice watch starts again. */
const RESTART_SECONDS = 5;

/**
 * The peers of a router pod from the EndpointSlices of its own Service (label `kubernetes.io/service-name`), kept by
 * an informer of `@kubernetes/client-node` (list, then watch, restarted after an error). Needs `list` and `watch` on
 * `endpointslices` (discovery.k8s.io) in `namespace`, which the operator grants the router's ServiceAccount alone.
 * Until the first list, no address is ready: a pod forwards nothing it cannot check.
 */
export class EndpointSlicePeers implements Peers {
  readonly #informer: Informer<V1EndpointSlice> & ObjectCache<V1EndpointSlice>;
  #endpoints = new Map<string, EndpointState>();
  readonly #waiters = new ReadyWaiters();
  #turn = 0;
  #synced = false;
  #stopped = false;

  constructor(options: {kubeConfig: KubeConfig; namespace: string; service: string; portName: string; log: Logger}) {
    const {kubeConfig, namespace, service, portName, log} = options;
    const api = kubeConfig.makeApiClient(DiscoveryV1Api);
    const labelSelector = `kubernetes.io/service-name=${service}`;
    this.#informer = makeInformer(
      kubeConfig,
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      async () => {
        const list = await api.listNamespacedEndpointSlice({namespace, labelSelector});
        this.#update(endpointStates(list.items, portName));
        this.#synced = true;
        return list;
      },
      labelSelector,
    );
    const refresh = () => this.#update(endpointStates(this.#informer.list(), portName));
    for (const verb of ['add', 'update', 'delete'] as const) this.#informer.on(verb, refresh);
    const restart = (error: unknown) => {
      if (this.#stopped) return;
      log.warn({err: error, service}, 'Failed to watch EndpointSlices; starting again');
      setTimeout(start, RESTART_SECONDS * 1000).unref();
    };
    const start = () => {
      if (!this.#stopped) this.#informer.start().catch(restart);
    };
    this.#informer.on('error', restart);
    start();
  }

  #update(endpoints: Map<string, EndpointState>): void {
    this.#endpoints = endpoints;
    this.#waiters.update((address) => this.isReadyEndpoint(address));
  }

  isReadyEndpoint(address: string): boolean {
    return this.#endpoints.get(address) === 'ready';
  }

  isStarting(address: string): boolean {
    return this.#endpoints.get(address) === 'starting';
  }

  whenReady(address: string, timeoutMs: number): Promise<boolean> {
    return this.isReadyEndpoint(address) ? Promise.resolve(true) : this.#waiters.wait(address, timeoutMs);
  }

  readyPeer(self: string): string | undefined {
    const others = [...this.#endpoints].filter(([address, state]) => state === 'ready' && address !== self);
    return others[this.#turn++ % others.length]?.[0];
  }

  get synced(): boolean {
    return this.#synced;
  }

  close(): void {
    this.#stopped = true;
    this.#waiters.close();
    void this.#informer.stop();
  }
}
