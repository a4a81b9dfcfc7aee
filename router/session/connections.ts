import type {UpstreamConnection} from '../upstream/connection.js';
import type {Upstream} from '../upstream/upstream.js';
import {waitUntil} from '../wait.js';

/**
 * The upstream connections one downstream session uses: the router-wide one of a `shared` upstream, and its own of a
 * `perSession` upstream, opened on first need with `open` (DESIGN.md, Sessions). A failed opening is forgotten, so
 * the next need tries again.
 */
export class SessionConnections {
  readonly #open: (upstream: Upstream) => Promise<UpstreamConnection>;
  readonly #own = new Map<string, Promise<UpstreamConnection>>();

  constructor(open: (upstream: Upstream) => Promise<UpstreamConnection>) {
    this.#open = open;
  }

  /**
   * The connection for an upstream.
   * @throws UpstreamUnavailableError when the shared connection is down or the session's own cannot be opened
   */
  async get(upstream: Upstream): Promise<UpstreamConnection> {
    if (upstream.config.session === 'shared') return upstream.requireConnection();
    let pending = this.#own.get(upstream.name);
    if (!pending) {
      pending = this.#open(upstream);
      this.#own.set(upstream.name, pending);
      pending.catch(() => this.#own.get(upstream.name) === pending && this.#own.delete(upstream.name));
    }
    return pending;
  }

  /**
   * Stops using the session's own connections to these upstreams (removed or replaced): later needs open new ones;
   * the old ones close once `idle(name)` holds (no call of the session in flight to them), or after `graceMs`.
   */
  retire(names: string[], graceMs: number, idle: (name: string) => boolean): void {
    for (const name of names) {
      const pending = this.#own.get(name);
      if (!pending) continue;
      this.#own.delete(name);
      void waitUntil(() => idle(name), graceMs)
        .then(() => pending)
        .then((connection) => connection.close())
        .catch(() => undefined);
    }
  }

  /** Closes the session's own connection to an upstream now (it was lost, or calls could not reach it). */
  drop(name: string): void {
    const pending = this.#own.get(name);
    this.#own.delete(name);
    void pending?.then((connection) => connection.close()).catch(() => undefined);
  }

  /** Runs `action` on each of the session's own connections, whatever becomes of each. */
  async each(action: (connection: UpstreamConnection) => Promise<unknown>): Promise<void> {
    await Promise.allSettled([...this.#own.values()].map(async (pending) => action(await pending)));
  }

  /** Closes all of the session's own connections. */
  async close(): Promise<void> {
    const own = [...this.#own.values()];
    this.#own.clear();
    await Promise.allSettled(own.map(async (pending) => (await pending).close()));
  }
}
