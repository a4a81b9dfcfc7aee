import {readFile} from 'node:fs/promises';
import {parseRouterConfig} from '../config/load.js';
import {readOverlay, withoutServer, withServer, writeOverlay, EMPTY_OVERLAY, type Overlay} from '../config/overlay.js';
import {MANAGEMENT_UPSTREAM} from '../config/schema.js';
import {RouterError} from '../errors.js';

/** A registration or removal that cannot be done; the message says why. */
export class RegistryError extends RouterError {
  static override code = 'REGISTRY_REFUSED';
}

/**
 * `register_upstream` and `remove_upstream` of a local router: each writes the overlay file beside the config (see
 * `config/overlay.ts`) and then reloads the config as a change of the file would (`ConfigReloader.reload`), so that
 * the router applies the same difference as a hot reload: a new upstream connects, a removed one is drained (its calls
 * in flight finish, up to `shutdownGraceSeconds`) and closed; sessions get `list_changed`. Changes run one at a time.
 */
export class UpstreamRegistry {
  readonly #file: string;
  readonly #env: Record<string, string | undefined>;
  readonly #reload: () => Promise<void>;
  /** Whether only this machine can reach the router (loopback or stdio): see `adminRefusal`. */
  readonly localOnly: boolean;
  #queue: Promise<unknown> = Promise.resolve();

  /** `file`: the config file; `reload`: applies it with its overlay (`ConfigReloader.reload`). */
  constructor(deps: {
    file: string;
    reload: () => Promise<void>;
    localOnly: boolean;
    env?: Record<string, string | undefined>;
  }) {
    this.#file = deps.file;
    this.#reload = deps.reload;
    this.localOnly = deps.localOnly;
    this.#env = deps.env ?? process.env;
  }

  /**
   * Adds an upstream: `server` is an entry as in the config's `mcpServers` (`{command, args, env}` or
   * `{type, url, headers}`, with router options).
   * @throws RegistryError when an upstream of that name exists; ConfigError (naming each problem) when the config
   *   with it would not be valid
   */
  register(name: string, server: Record<string, unknown>): Promise<void> {
    return this.#change((text, overlay, names) => {
      if (names.includes(name)) throw new RegistryError(`An upstream named "${name}" exists; remove it first`);
      return withServer(overlay, name, server);
    });
  }

  /**
   * Removes an upstream, of the config or registered.
   * @throws RegistryError when there is no such upstream, or it is the management upstream itself
   */
  remove(name: string): Promise<void> {
    return this.#change((text, overlay, names) => {
      if (name === MANAGEMENT_UPSTREAM || !names.includes(name))
        throw new RegistryError(`There is no upstream named "${name}" to remove`);
      const servers = JSON.parse(text) as {mcpServers?: object; servers?: object};
      return withoutServer(overlay, name, Object.hasOwn(servers.mcpServers ?? servers.servers ?? {}, name));
    });
  }

  /** Validates the config with the changed overlay, writes the overlay, reloads. */
  #change(change: (text: string, overlay: Overlay, names: string[]) => Overlay): Promise<void> {
    const run = async () => {
      const text = await readFile(this.#file, 'utf8');
      const overlay = (await readOverlay(this.#file))?.overlay ?? EMPTY_OVERLAY;
      const names = parseRouterConfig(text, this.#env, this.#file, overlay).upstreams.map((u) => u.name);
      const changed = change(text, overlay, names);
      parseRouterConfig(text, this.#env, this.#file, changed);
      await writeOverlay(this.#file, changed);
      await this.#reload();
    };
    const done = this.#queue.then(run, run);
    this.#queue = done.catch(() => undefined);
    return done;
  }
}
