/**
 * A work queue of keys with the guarantees of client-go's workqueue:
 *
 * - A key is queued at most once (adding it again while queued is a no-op: deduplication).
 * - A key is never handed to two workers at once: added while processing, it is queued again when `done` is called.
 * - `addRateLimited` delays by a per-key exponential backoff (base doubling to max); `forget` resets it.
 * - `addAfter` queues after a delay (a requeue), keeping the earliest pending time per key.
 */

export interface WorkQueueOptions {
  /** First retry delay in ms; default 5. */
  baseDelayMs?: number;
  /** Cap of the retry delay in ms; default 300000 (5 minutes). */
  maxDelayMs?: number;
  /** Called when the number of queued keys changes (for a depth gauge). */
  onDepth?: (depth: number) => void;
}

export class WorkQueue<K extends string = string> {
  readonly #queue: K[] = [];
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #failures = new Map<K, number>();
  readonly #timers = new Map<K, {at: number; timer: NodeJS.Timeout}>();
  readonly #waiters: ((key: K | undefined) => void)[] = [];
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #onDepth: ((depth: number) => void) | undefined;
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 5;
    this.#maxDelayMs = options.maxDelayMs ?? 300_000;
    this.#onDepth = options.onDepth;
  }

  /** Keys waiting to be processed (not counting those processing or waiting for a delay). */
  get length(): number {
    return this.#queue.length;
  }

  /** Whether nothing is queued or processing (keys waiting for a delay do not count). */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#processing.size === 0;
  }

  /** Keys waiting for a delay (requeues and retries). */
  get delayed(): number {
    return this.#timers.size;
  }

  /** Queues `key` now, unless it is already queued. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
    this.#onDepth?.(this.#queue.length);
  }

  /** Queues `key` after `delayMs` ms; an earlier pending time for the same key wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    this.#timers.set(key, {at, timer});
  }

  /**
   * Queues `key` after its backoff: base * 2^failures ms, capped at max. Each call counts one more failure.
   * @returns the delay in ms
   */
  addRateLimited(key: K): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = Math.min(this.#baseDelayMs * 2 ** failures, this.#maxDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Failures counted for `key` since the last `forget`. */
  failures(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Resets the backoff of `key` (after a success). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /**
   * Waits for the next key and marks it as processing; the caller must call `done(key)` after.
   * @returns undefined once the queue shuts down
   */
  get(): Promise<K | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      this.#onDepth?.(this.#queue.length);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` as processed; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  /** Stops handing out keys: pending `get` calls resolve to undefined, delayed adds are dropped. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const {timer} of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}
