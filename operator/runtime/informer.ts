import {Watch} from '@kubernetes/client-node';
import type {Logger} from 'pino';
import {messageOf} from './errors.js';
import {apiVersionOf, isStatus, resourcePath, type KubeClient, type KubeObject, type ResourceType} from './kube.js';
import type {OperatorMetrics} from './metrics.js';

/**
 * An informer: a local cache of one resource type, kept current by list-then-watch, that calls handlers on every
 * change, in the way of client-go's reflector and shared informer.
 *
 * - It lists, then watches from the list's resourceVersion with bookmarks, and resumes from the last seen
 *   resourceVersion whenever the server ends a watch (it does so every `watchTimeoutSeconds`).
 * - On 410 Gone (the resourceVersion is too old) it relists. On any other error it backs off (1 s doubling to 30 s)
 *   and relists, so it never stops on its own. A relist compares with the cache and reports adds, updates and
 *   deletes, so handlers miss nothing that happened while it was away.
 * - A watchdog aborts a watch that has been silent for longer than the server timeout plus 30 s (a dead connection).
 * - It lists in pages (`limit` and `continue`, 500 objects by default, as client-go's reflector does), so that a relist
 *   never holds the JSON of a whole large collection at once.
 * - An optional `transform` cuts every object, listed or watched, before it is cached or handed to handlers (like
 *   client-go's `SetTransform`): the cache then holds only the fields the controllers read (cache-transforms.ts).
 *
 * Objects handed out are the cache's own: treat them as read-only.
 */

export interface InformerHandlers<T> {
  add?(object: T): void;
  update?(previous: T, object: T): void;
  delete?(object: T): void;
}

export interface InformerOptions {
  client: KubeClient;
  type: ResourceType;
  /** Namespace to watch; all namespaces when absent. */
  namespace?: string;
  /** Label selector in string form, e.g. `app.kubernetes.io/managed-by=kube-mcp-router`. */
  labelSelector?: string;
  log: Logger;
  metrics?: OperatorMetrics;
  /** Seconds after which the server ends a watch; default 300. */
  watchTimeoutSeconds?: number;
  /**
   * Applied to every object of a list or a watch event before it is cached or handed to handlers; may change and
   * return the object it is given (which is fresh from JSON.parse). Absent: objects are cached whole.
   */
  transform?: (object: KubeObject) => KubeObject;
  /** Objects per page of a list (`limit`); default 500, as client-go's reflector. */
  pageSize?: number;
}

const DEFAULT_PAGE_SIZE = 500;

const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/** Key of an object in caches and work queues: `namespace/name`. */
export function keyOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

export class Informer<T extends KubeObject> {
  readonly #options: InformerOptions;
  readonly #log: Logger;
  readonly #handlers: InformerHandlers<T>[] = [];
  readonly #byNamespace = new Map<string, Map<string, T>>();
  #resourceVersion = '';
  #synced = false;
  #stopped = false;
  #running?: Promise<void>;
  #abort?: AbortController;
  #wake?: () => void;
  readonly #syncWaiters: (() => void)[] = [];

  constructor(options: InformerOptions) {
    this.#options = options;
    this.#log = options.log.child({informer: options.type.kind, namespace: options.namespace ?? '*'});
  }

  /** The resource type this informer caches. */
  get type(): ResourceType {
    return this.#options.type;
  }

  /** Registers handlers. Register before `start`, or the first list's adds are missed. */
  on(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
  }

  /** Whether the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list is in the cache. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /** One cached object, or undefined. */
  get(namespace: string, name: string): T | undefined {
    return this.#byNamespace.get(namespace)?.get(name);
  }

  /** Cached objects of one namespace, or of all when `namespace` is undefined. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.#byNamespace.get(namespace)?.values() ?? [])];
    return [...this.#byNamespace.values()].flatMap((objects) => [...objects.values()]);
  }

  /** Starts listing and watching in the background. */
  start(): void {
    if (this.#running) return;
    this.#stopped = false;
    this.#running = this.#run();
  }

  /** Stops watching and waits for the loop to end. The cache keeps its content. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    this.#wake?.();
    await this.#running;
    this.#running = undefined;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === '') await this.#relist();
        const ended = await this.#watch();
        if (isGone(ended)) {
          this.#log.debug('Watch expired; relisting');
          this.#resourceVersion = '';
          continue;
        }
        if (ended && !this.#stopped) throw ended;
        failures = 0;
      } catch (error) {
        if (this.#stopped) break;
        const delay = Math.min(INITIAL_BACKOFF_MS * 2 ** failures, MAX_BACKOFF_MS);
        failures += 1;
        this.#resourceVersion = '';
        this.#options.metrics?.informerErrors.inc({kind: this.#options.type.kind});
        this.#log.warn({err: messageOf(error), retryInMs: delay}, 'Failed to list or watch; retrying');
        await this.#sleep(delay);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #relist(): Promise<void> {
    const {client, type, namespace, labelSelector, pageSize = DEFAULT_PAGE_SIZE} = this.#options;
    const seen = new Set<string>();
    let resourceVersion = '';
    let token: string | undefined;
    do {
      // All pages are of one snapshot; a token that expired meanwhile fails with 410 Gone, and the loop relists.
      const page = await client.list(type, namespace, labelSelector, {limit: pageSize, continue: token});
      for (const item of page.items) {
        const object = this.#prepare(item);
        seen.add(keyOf(object));
        this.#upsert(object);
      }
      resourceVersion = page.resourceVersion;
      token = page.continue;
    } while (token !== undefined);
    for (const object of this.list()) {
      if (!seen.has(keyOf(object))) this.#remove(object);
    }
    this.#resourceVersion = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      this.#log.debug({objects: seen.size}, 'Synced cache');
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
  }

  /** Fills in apiVersion and kind (a list's items lack them) and applies the transform. */
  #prepare(object: KubeObject): T {
    const {type, transform} = this.#options;
    object.apiVersion ??= apiVersionOf(type);
    object.kind ??= type.kind;
    return (transform ? transform(object) : object) as T;
  }

  #watch(): Promise<unknown> {
    const {client, type, namespace, labelSelector} = this.#options;
    const timeoutSeconds = this.#options.watchTimeoutSeconds ?? 300;
    return new Promise((resolve) => {
      let watchdog: NodeJS.Timeout | undefined;
      let ended = false;
      const end = (error: unknown) => {
        if (ended) return;
        ended = true;
        clearTimeout(watchdog);
        resolve(error);
      };
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(
          () => {
            this.#log.warn('Watch silent for too long; restarting it');
            this.#abort?.abort();
            end(new Error('watch went silent'));
          },
          (timeoutSeconds + 30) * 1000,
        );
      };
      arm();
      new Watch(client.kubeConfig)
        .watch(
          resourcePath(type, namespace),
          {
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector,
          },
          (phase: string, object: T & {code?: number; message?: string}) => {
            arm();
            this.#onEvent(phase, object, end);
          },
          (error: unknown) => end(error ?? null),
        )
        .then(
          (controller) => {
            this.#abort = controller;
            if (this.#stopped) controller.abort();
          },
          (error: unknown) => end(error),
        );
    });
  }

  #onEvent(phase: string, object: T & {code?: number; message?: string}, end: (error: unknown) => void): void {
    const version = object.metadata?.resourceVersion;
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED':
        this.#upsert(this.#prepare(object));
        break;
      case 'DELETED':
        this.#remove(this.#prepare(object));
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR':
        // A Status object; the server closes the watch after it. 410 means our resourceVersion is too old.
        this.#abort?.abort();
        end(object.code === 410 ? {code: 410} : new Error(`watch error: ${object.code ?? ''} ${object.message ?? ''}`));
        return;
    }
    if (version) this.#resourceVersion = version;
  }

  #upsert(object: T): void {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    let objects = this.#byNamespace.get(namespace);
    if (!objects) {
      objects = new Map();
      this.#byNamespace.set(namespace, objects);
    }
    const previous = objects.get(name);
    if (previous?.metadata?.resourceVersion === object.metadata?.resourceVersion && previous) return;
    objects.set(name, object);
    for (const handlers of this.#handlers) {
      this.#call(() => (previous ? handlers.update?.(previous, object) : handlers.add?.(object)));
    }
  }

  #remove(object: T): void {
    const namespace = object.metadata?.namespace ?? '';
    const objects = this.#byNamespace.get(namespace);
    const name = object.metadata?.name ?? '';
    const previous = objects?.get(name);
    objects?.delete(name);
    if (objects?.size === 0) this.#byNamespace.delete(namespace);
    for (const handlers of this.#handlers) this.#call(() => handlers.delete?.(previous ?? object));
  }

  #call(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.#log.error({err: messageOf(error)}, 'Informer handler failed');
    }
  }
}

function isGone(error: unknown): boolean {
  if (isStatus(error, 410)) return true;
  const fields = (error ?? {}) as {code?: unknown; statusCode?: unknown};
  return fields.code === 410 || fields.statusCode === 410;
}
