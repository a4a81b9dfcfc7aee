import type {Logger} from 'pino';
import {messageOf, TerminalError} from './errors.js';
import type {OperatorMetrics} from './metrics.js';
import {traceReconcile} from './tracing.js';
import {WorkQueue} from './workqueue.js';

/** What a reconcile is asked to do: bring the object `namespace/name` to its desired state. */
/** Queues the reconcile of one object, by namespace and name (`Controller.enqueue`). */
export type Enqueue = (namespace: string, name: string) => void;

export interface ReconcileRequest {
  namespace: string;
  name: string;
}

/** What a reconcile returns: `requeueAfterMs` to look again later even if nothing changes (e.g. a rollout). */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * The reconciler contract (controller-runtime's Reconciler): level-based and idempotent. A thrown error means retry
 * with backoff; a `TerminalError` is recorded by the reconciler (status, Event) and not retried.
 */
export interface Reconciler {
  reconcile(request: ReconcileRequest): Promise<ReconcileResult | undefined>;
}

export interface ControllerOptions {
  /** Name in logs and metrics, e.g. mcprouter. */
  name: string;
  reconciler: Reconciler;
  log: Logger;
  metrics: OperatorMetrics;
  /** Keys reconciled at the same time (never the same key twice); default 2. */
  workers?: number;
}

/**
 * Runs a reconciler over a work queue of `namespace/name` keys with a number of workers. Keys can be queued before
 * `start` (they wait); `stop` lets running reconciles finish.
 */
export class Controller {
  readonly name: string;
  readonly #options: ControllerOptions;
  readonly #queue: WorkQueue;
  readonly #log: Logger;
  #workers: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#log = options.log.child({controller: options.name});
    this.#queue = new WorkQueue({
      baseDelayMs: 5,
      maxDelayMs: 5 * 60_000,
      onDepth: (depth) => options.metrics.queueDepth.set({name: options.name}, depth),
    });
  }

  /** Queues a reconcile of `namespace/name`. */
  enqueue(namespace: string, name: string): void {
    this.#options.metrics.queueAdds.inc({name: this.name});
    this.#queue.add(`${namespace}/${name}`);
  }

  /** Whether no key is queued or running (keys waiting for a requeue or retry do not count). */
  get idle(): boolean {
    return this.#queue.idle;
  }

  start(): void {
    if (this.#workers.length > 0) return;
    const count = this.#options.workers ?? 2;
    for (let i = 0; i < count; i++) this.#workers.push(this.#work());
    this.#log.info({workers: count}, 'Started workers');
  }

  async stop(): Promise<void> {
    this.#queue.shutDown();
    await Promise.all(this.#workers);
    this.#workers = [];
  }

  async #work(): Promise<void> {
    const {reconciler, metrics} = this.#options;
    for (;;) {
      const key = await this.#queue.get();
      if (key === undefined) return;
      const slash = key.indexOf('/');
      const request = {namespace: key.slice(0, slash), name: key.slice(slash + 1)};
      const stopTimer = metrics.reconcileTime.startTimer({controller: this.name});
      try {
        const result = await traceReconcile(this.name, request, () => reconciler.reconcile(request));
        this.#queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          this.#queue.addAfter(key, result.requeueAfterMs);
          metrics.reconcileTotal.inc({controller: this.name, result: 'requeue_after'});
        } else {
          metrics.reconcileTotal.inc({controller: this.name, result: 'success'});
        }
      } catch (error) {
        metrics.reconcileErrors.inc({controller: this.name});
        if (error instanceof TerminalError) {
          this.#queue.forget(key);
          metrics.reconcileTotal.inc({controller: this.name, result: 'terminal'});
          this.#log.warn({...request, err: error.message}, 'Reconcile failed; not retrying until the object changes');
        } else {
          const delay = this.#queue.addRateLimited(key);
          metrics.queueRetries.inc({name: this.name});
          metrics.reconcileTotal.inc({controller: this.name, result: 'error'});
          this.#log.error({...request, err: messageOf(error), retryInMs: delay}, 'Reconcile failed; retrying');
        }
      } finally {
        stopTimer();
        this.#queue.done(key);
      }
    }
  }
}
