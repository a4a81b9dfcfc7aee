import {hostname} from 'node:os';
import {randomUUID} from 'node:crypto';
import type {Logger} from 'pino';
import {isStatus, LEASES, type KubeClient, type KubeObject} from './kube.js';
import {messageOf} from './errors.js';

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with the semantics of client-go's leaderelection package:
 *
 * - A candidate takes the Lease when it does not exist, is released (no holder), or has not been renewed for
 *   `leaseDurationSeconds` as observed on this process's own clock (so clocks of different machines need not agree).
 * - The leader renews every `retryPeriodMs`; if it cannot renew within `renewDeadlineMs` it stops leading.
 * - Every write is a compare-and-swap on resourceVersion, so two candidates never both win.
 * - On `stop`, a leader releases the Lease (empty holder), so another candidate takes over at its next retry
 *   instead of waiting out the lease duration.
 */

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** Name of the Lease, e.g. kube-mcp-router-operator. */
  name: string;
  /** Who this candidate is; default `<hostname>_<uuid>`. */
  identity?: string;
  /** Seconds a Lease stays valid without renewal; default 15. */
  leaseDurationSeconds?: number;
  /** Milliseconds the leader keeps trying to renew before it gives up leading; default 10000. */
  renewDeadlineMs?: number;
  /** Milliseconds between attempts to acquire or renew; default 2000. */
  retryPeriodMs?: number;
  log: Logger;
  /** Called once this candidate leads. */
  onStartedLeading: () => void;
  /** Called when this candidate stops leading (lost the Lease, or `stop` while leading). */
  onStoppedLeading: () => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

type Lease = KubeObject & {spec?: LeaseSpec};

/** MicroTime as the Lease API serializes it: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  readonly identity: string;
  readonly #options: Required<Omit<LeaderElectionOptions, 'identity'>>;
  #leading = false;
  #stopped = false;
  #observed?: {record: string; at: number};
  #lastRenew = 0;
  #timer?: NodeJS.Timeout;
  #loop?: Promise<void>;
  #wake?: () => void;

  constructor(options: LeaderElectionOptions) {
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    this.#options = {
      leaseDurationSeconds: 15,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2000,
      ...options,
    };
  }

  /** Starts trying to acquire, then renewing, in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops; a leader releases the Lease first. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
    if (this.#leading) {
      await this.#release();
      this.#setLeading(false);
    }
  }

  async #run(): Promise<void> {
    const {log, name, namespace} = this.#options;
    log.info({identity: this.identity, lease: `${namespace}/${name}`}, 'Started leader election');
    while (!this.#stopped) {
      let held = false;
      try {
        held = await this.#tryAcquireOrRenew();
      } catch (error) {
        log.warn({err: messageOf(error)}, 'Failed to acquire or renew the Lease');
      }
      if (held) {
        this.#lastRenew = Date.now();
        if (!this.#leading) this.#setLeading(true);
      } else if (this.#leading && Date.now() - this.#lastRenew > this.#options.renewDeadlineMs) {
        log.error({identity: this.identity}, 'Lost the Lease: could not renew it within the renew deadline');
        this.#setLeading(false);
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, this.#options.retryPeriodMs);
      });
    }
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    const {log} = this.#options;
    if (leading) {
      log.info({identity: this.identity}, 'Acquired the Lease; leading');
      this.#options.onStartedLeading();
    } else {
      log.info({identity: this.identity}, 'Stopped leading');
      this.#options.onStoppedLeading();
    }
  }

  /** One attempt; true when this candidate holds the Lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const {client, namespace, name, leaseDurationSeconds} = this.#options;
    const now = new Date();
    const lease = await client.get<Lease>(LEASES, namespace, name);
    if (!lease) {
      try {
        await client.create(
          LEASES,
          namespace,
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {name, namespace},
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
          'kube-mcp-router',
        );
        return true;
      } catch (error) {
        if (isStatus(error, 409)) return false;
        throw error;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime]);
    if (this.#observed?.record !== record) this.#observed = {record, at: Date.now()};
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    const expired = this.#observed.at + duration < Date.now();
    if (holder !== '' && holder !== this.identity && !expired) return false;

    const mine = holder === this.identity;
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds,
        renewTime: microTime(now),
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      await client.replace(LEASES, next as Lease & {metadata: {name: string; namespace: string}}, 'kube-mcp-router');
      return true;
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw error;
    }
  }

  async #release(): Promise<void> {
    const {client, namespace, name, log} = this.#options;
    try {
      const lease = await client.get<Lease>(LEASES, namespace, name);
      if (!lease || lease.spec?.holderIdentity !== this.identity) return;
      await client.replace(
        LEASES,
        {
          ...lease,
          spec: {...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date())},
        } as Lease & {metadata: {name: string; namespace: string}},
        'kube-mcp-router',
      );
      log.info({identity: this.identity}, 'Released the Lease');
    } catch (error) {
      log.warn({err: messageOf(error)}, 'Failed to release the Lease');
    }
  }
}
