import {ConfigError} from './errors.js';
import type {Logger} from './log.js';
import type {RouterMetrics} from './metrics.js';
import type {Router} from './router.js';
import {loadRouterConfig} from './config/load.js';
import {watchConfigFolder} from './config/watch.js';

/**
 * Hot reload of the config file: on a change in its folder (or on SIGHUP), a new valid config is applied to the
 * running router (`Router.reconfigure`); an invalid one is refused with a log line and the metric
 * `mcp_router_config_reloads_total{result="rejected"}`, and the router keeps serving the config it has.
 */
export class ConfigReloader {
  readonly #file: string;
  readonly #router: Router;
  readonly #log: Logger;
  readonly #metrics: RouterMetrics;
  #seen: string;
  #queue: Promise<void> = Promise.resolve();
  #stopWatching: (() => void) | undefined;
  readonly #onSighup = () => void this.reload();

  /** `text` is the content the router was started from. */
  constructor(deps: {file: string; router: Router; log: Logger; metrics: RouterMetrics; text: string}) {
    this.#file = deps.file;
    this.#router = deps.router;
    this.#log = deps.log;
    this.#metrics = deps.metrics;
    this.#seen = deps.text;
  }

  start(): void {
    this.#stopWatching = watchConfigFolder(this.#file, () => void this.reload());
    process.on('SIGHUP', this.#onSighup);
  }

  stop(): void {
    this.#stopWatching?.();
    process.off('SIGHUP', this.#onSighup);
  }

  /** Reloads once, after any reload already running; content seen before (applied or refused) is skipped. */
  reload(): Promise<void> {
    this.#queue = this.#queue.then(() => this.#reload());
    return this.#queue;
  }

  async #reload(): Promise<void> {
    let loaded: Awaited<ReturnType<typeof loadRouterConfig>>;
    try {
      loaded = await loadRouterConfig(this.#file);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const text = error.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
      if (text === this.#seen) return;
      this.#seen = text;
      this.#metrics.configReloads.inc({result: 'rejected'});
      this.#log.error({file: this.#file, issues: error.issues}, 'Rejected the new config; serving the previous one');
      return;
    }
    if (loaded.text === this.#seen) return;
    this.#seen = loaded.text;
    const diff = await this.#router.reconfigure(loaded.config);
    this.#metrics.configReloads.inc({result: 'applied'});
    this.#log.info(
      {
        file: this.#file,
        added: diff.added.map((u) => u.name),
        removed: diff.removed.map((u) => u.name),
        changed: diff.changed.map((u) => u.name),
        unchanged: diff.unchanged.length,
      },
      'Applied the new config',
    );
  }
}
