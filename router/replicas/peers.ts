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

/**
 * The ready endpoints of EndpointSlices, as `host:port` for the port named `portName` (pure). An endpoint whose
 * `ready` condition is unset counts as ready, as discovery.k8s.io/v1 EndpointConditions says; a terminating one is
 * not ready, so a draining pod gets no forwards.
 */
export function readyEndpoints(slices: readonly V1EndpointSlice[], portName: string): Set<string> {
  const ready = new Set<string>();
  for (const slice of slices) {
    const port = slice.ports?.find((p) => (p.name ?? '') === portName)?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses) ready.add(endpointAddress(address, port));
    }
  }
  return ready;
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
  #ready = new Set<string>();
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
        this.#ready = readyEndpoints(list.items, portName);
        this.#synced = true;
        return list;
      },
      labelSelector,
    );
    const refresh = () => {
      this.#ready = readyEndpoints(this.#informer.list(), portName);
    };
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

  isReadyEndpoint(address: string): boolean {
    return this.#ready.has(address);
  }

  readyPeer(self: string): string | undefined {
    const others = [...this.#ready].filter((address) => address !== self);
    return others[this.#turn++ % others.length];
  }

  get synced(): boolean {
    return this.#synced;
  }

  close(): void {
    this.#stopped = true;
    void this.#informer.stop();
  }
}
