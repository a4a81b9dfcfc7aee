import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import type {ClientCapabilities, Implementation} from '@modelcontextprotocol/sdk/types.js';
import pRetry from 'p-retry';
import type {Principal} from '../auth/principal.js';
import {toolFilter} from '../catalog/filter.js';
import type {UpstreamConfig} from '../config/schema.js';
import {UpstreamUnavailableError} from '../errors.js';
import type {Logger} from '../log.js';
import {
  describe,
  UpstreamConnection,
  type ConnectionOptions,
  type Era,
  type JsonObject,
  type Message,
} from './connection.js';
import {UpstreamCircuit, type CircuitName} from './breaker.js';
import {redact, secretsOf} from './redact.js';
import {DEFAULT_MAX_MESSAGE_BYTES} from './transport.js';

/** `connecting` until the first handshake; `ready`; `down` after a failure, while reconnecting; `closed` at the end. */
export type UpstreamState = 'connecting' | 'ready' | 'down' | 'closed';

/** What `/readyz` reports of one upstream. */
export interface UpstreamStatus {
  name: string;
  transport: UpstreamConfig['transport'];
  session: UpstreamConfig['session'];
  state: UpstreamState;
  /** The state of its circuit breaker. */
  circuit: CircuitName;
  /** The era of MCP it speaks with the router (`modern`: 2026-07-28), once connected. */
  era?: Era;
  /** The protocol version negotiated with it, once connected. */
  protocolVersion?: string;
  /** Why it is down, when it is; without the upstream's credentials (URL userinfo, header and env values). */
  error?: string;
  /** The last failure to reach it or a call to it (down, unreachable, timed out), kept after it recovers; redacted. */
  lastError?: string;
  /** ISO 8601 time of the last state change. */
  since: string;
  /** While ready: how many of its tools the router exposes (after `tools` include/exclude). */
  tools?: number;
}

/** What the router learns from an upstream's router-wide connection. */
export interface UpstreamEvents {
  onStateChange(upstream: Upstream): void;
  /** The upstream's circuit breaker opened, half-opened or closed. */
  onCircuitChange?(upstream: Upstream): void;
  onNotification(upstream: Upstream, notification: Message): void;
  onServerRequest(upstream: Upstream, request: Message, signal: AbortSignal): Promise<JsonObject>;
}

/**
 * The downstream session a connection of the built-in upstream is opened for: the principal it serves, and the
 * session id its internal sessions act under, so that their audit lines are the caller's (`DownstreamSession` is one).
 */
export interface BuiltinCaller {
  readonly principal: Principal;
  /** The caller's session id, read when an internal session opens; undefined for stdio and 2026-07-28 clients. */
  readonly id: string | undefined;
}

/** The handlers of a downstream session's own connection to a perSession upstream. */
export type SessionConnectionHandlers = Pick<ConnectionOptions, 'onServerRequest' | 'onNotification' | 'onLost'>;

const RECONNECT = {minTimeout: 500, maxTimeout: 30_000, factor: 2};

/**
 * What the router declares to a `shared` upstream: every client capability it can route to a downstream session
 * (MCP 2025-11-25 client features), so that the upstream offers the features that need them (server-everything lists
 * its sampling, elicitation and roots tools). A request for a session whose client lacks the capability gets an error
 * from that session. A `perSession` upstream's router-wide connection is only a probe and declares none.
 */
const SHARED_CLIENT_CAPABILITIES: ClientCapabilities = {
  sampling: {},
  elicitation: {form: {}, url: {}},
  roots: {listChanged: true},
};

/**
 * One configured upstream at router level. It keeps one connection: the connection every session uses for a
 * `shared` upstream, or for a `perSession` upstream the probe that tells readiness and capabilities (sessions open
 * their own). A lost or failed connection is retried with exponential backoff (0.5 s to 30 s) until `close()`.
 */
export class Upstream {
  readonly config: UpstreamConfig;
  readonly #log: Logger;
  readonly #clientInfo: Implementation;
  readonly #events: UpstreamEvents;
  readonly #maxMessageBytes: number;
  readonly #secrets: string[];
  readonly #keepTool: (name: string) => boolean;
  readonly #stop = new AbortController();
  #connection: UpstreamConnection | undefined;
  #state: UpstreamState = 'connecting';
  #error: string | undefined;
  #lastError: string | undefined;
  #since = new Date();
  readonly #builtin: ((caller: BuiltinCaller | undefined) => Transport) | undefined;

  readonly #healthCheckMs: number;
  /** Every call of a session to this upstream goes through it (see `UpstreamCircuit`). */
  readonly circuit: UpstreamCircuit;
  #healthCheck: NodeJS.Timeout | undefined;
  /** A health check asked for by `checkNow`, while it runs. */
  #checking: Promise<void> | undefined;
  #pending = 0;

  /**
   * `healthCheckSeconds`: seconds between pings of the router-wide connection. `maxMessageBytes`: the largest
   * message read from a stdio or Streamable HTTP upstream, in bytes (`router.limits.maxUpstreamMessageBytes`; default 64 MiB); a larger
   * one fails only its own call, on every connection of this upstream. `builtin`: for the built-in upstream, makes the
   * transport of a connection, for the session it is for (undefined: the router-wide connection).
   */
  constructor(
    config: UpstreamConfig,
    deps: {
      log: Logger;
      clientInfo: Implementation;
      events: UpstreamEvents;
      healthCheckSeconds: number;
      maxMessageBytes?: number;
      builtin?: (caller: BuiltinCaller | undefined) => Transport;
    },
  ) {
    this.config = config;
    this.#maxMessageBytes = deps.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#secrets = secretsOf(config);
    this.#keepTool = toolFilter(config.tools);
    this.#healthCheckMs = deps.healthCheckSeconds * 1000;
    this.#log = deps.log.child({upstream: config.name});
    this.#clientInfo = deps.clientInfo;
    this.#events = deps.events;
    this.#builtin = deps.builtin;
    this.circuit = new UpstreamCircuit(config.name, config.circuitBreaker, {
      onChange: (circuit) => {
        this.#log.warn({circuit}, 'Changed circuit state');
        this.#events.onCircuitChange?.(this);
      },
      onFailure: (error) => (this.#lastError = redact(error.message, this.#secrets)),
    });
  }

  get name(): string {
    return this.config.name;
  }

  get state(): UpstreamState {
    return this.#state;
  }

  get status(): UpstreamStatus {
    const connection = this.#connection;
    const protocolVersion = connection?.protocolVersion;
    const ready = this.#state === 'ready' ? connection : undefined;
    return {
      name: this.name,
      transport: this.config.transport,
      session: this.config.session,
      state: this.#state,
      circuit: this.circuit.state,
      ...(connection && {era: connection.era}),
      ...(protocolVersion !== undefined && {protocolVersion}),
      ...(this.#error !== undefined && {error: this.#error}),
      ...(this.#lastError !== undefined && {lastError: this.#lastError}),
      since: this.#since.toISOString(),
      ...(ready && {tools: ready.catalog.tools.filter((tool) => this.#keepTool(tool.name)).length}),
    };
  }

  /** Calls of every session in flight to it (what `leastPending` compares). */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Counts a call in flight to this upstream.
   * @returns the function to call once, when the call has settled
   */
  countCall(): () => void {
    this.#pending++;
    let settled = false;
    return () => {
      if (!settled) this.#pending--;
      settled = true;
    };
  }

  /** The router-wide connection when ready, else undefined. */
  get connection(): UpstreamConnection | undefined {
    return this.#state === 'ready' ? this.#connection : undefined;
  }

  /**
   * Connects in the background, retrying until it succeeds or `close()` is called.
   * @returns a promise that settles after the first attempt, whatever its outcome
   */
  start(): Promise<void> {
    let first: () => void = () => undefined;
    const firstAttempt = new Promise<void>((resolve) => (first = resolve));
    void this.#connectLoop(first);
    return firstAttempt;
  }

  async #connectLoop(firstAttemptDone: () => void): Promise<void> {
    await pRetry(
      async () => {
        let connection: UpstreamConnection | undefined = undefined;
        connection = await UpstreamConnection.open({
          config: this.config,
          log: this.#log,
          clientInfo: this.#clientInfo,
          capabilities: this.config.session === 'shared' ? SHARED_CLIENT_CAPABILITIES : {},
          onServerRequest: (request, signal) => this.#events.onServerRequest(this, request, signal),
          onNotification: (notification) => this.#events.onNotification(this, notification),
          onLost: (reason) => this.#lost(connection, reason),
          maxMessageBytes: this.#maxMessageBytes,
          ...this.#builtinFor(undefined),
        });
        if (this.#stop.signal.aborted) {
          await connection.close();
          return;
        }
        this.#connection = connection;
        this.#watch(connection);
        this.#log.info({tools: connection.catalog.tools.length}, 'Connected upstream');
        this.#setState('ready');
        firstAttemptDone();
      },
      {
        ...RECONNECT,
        retries: Number.POSITIVE_INFINITY,
        signal: this.#stop.signal,
        onFailedAttempt: ({error, attemptNumber}) => {
          const reason = redact(
            error instanceof UpstreamUnavailableError ? error.reason : describe(error),
            this.#secrets,
          );
          this.#log.warn({attempt: attemptNumber, err: reason}, 'Failed to connect upstream');
          this.#setState('down', reason);
          firstAttemptDone();
        },
      },
    ).catch(() => undefined); // rejected only by close()
  }

  /** Pings the connection every healthCheckSeconds: HTTP upstreams that die close no stream the router would see. */
  #watch(connection: UpstreamConnection): void {
    clearInterval(this.#healthCheck);
    this.#healthCheck = setInterval(() => void this.#check(connection), this.#healthCheckMs);
    this.#healthCheck.unref();
  }

  /** Pings the router-wide connection; one that does not answer is lost (and reconnected). */
  async #check(connection: UpstreamConnection): Promise<void> {
    if (this.#connection === connection && !(await connection.ping(this.#healthCheckMs))) {
      this.#lost(connection, 'it did not answer a ping');
      await connection.close();
    }
  }

  /**
   * Checks the upstream now instead of at the next health interval: a session's call found it unreachable, and
   * `/readyz`, the catalog and other sessions should know at once. Concurrent requests share one check.
   */
  checkNow(): void {
    const connection = this.#connection;
    if (!connection || this.#checking) return;
    this.#checking = this.#check(connection).finally(() => (this.#checking = undefined));
  }

  #lost(connection: UpstreamConnection | undefined, reason: string): void {
    if (connection === undefined || this.#connection !== connection || this.#stop.signal.aborted) return;
    clearInterval(this.#healthCheck);
    this.#connection = undefined;
    this.#log.warn({reason}, 'Lost upstream');
    this.#setState('down', reason);
    void this.#connectLoop(() => undefined);
  }

  #setState(state: UpstreamState, error?: string): void {
    const changed = state !== this.#state;
    this.#state = state;
    this.#error = error === undefined ? undefined : redact(error, this.#secrets);
    this.#lastError = this.#error ?? this.#lastError;
    if (changed) {
      this.#since = new Date();
      this.#events.onStateChange(this);
    }
  }

  /**
   * The connection calls use: the router-wide one.
   * @throws UpstreamUnavailableError naming the upstream and why, when it is not ready
   */
  requireConnection(): UpstreamConnection {
    const connection = this.connection;
    if (!connection) throw new UpstreamUnavailableError(this.name, this.#error ?? this.#state);
    return connection;
  }

  /**
   * Opens a connection of a downstream session's own to a perSession upstream, declaring the downstream client's
   * capabilities and info so server-to-client requests and capability-dependent catalogs work as for a direct client.
   * The built-in upstream serves the `caller` session: its principal (what it lists and allows depends on it), and its
   * session id for the calls it makes on the caller's behalf.
   * @throws UpstreamUnavailableError when the upstream is down or the connection fails
   */
  async openSessionConnection(
    clientInfo: Implementation | undefined,
    capabilities: ClientCapabilities,
    handlers: SessionConnectionHandlers,
    caller?: BuiltinCaller,
  ): Promise<UpstreamConnection> {
    this.requireConnection();
    return UpstreamConnection.open({
      config: this.config,
      log: this.#log,
      clientInfo: clientInfo ?? this.#clientInfo,
      capabilities,
      ...handlers,
      maxMessageBytes: this.#maxMessageBytes,
      ...this.#builtinFor(caller),
    });
  }

  /** The `builtin` connection option of the built-in upstream, for a caller; nothing for other upstreams. */
  #builtinFor(caller: BuiltinCaller | undefined): {builtin?: () => Transport} {
    const builtin = this.#builtin;
    return builtin ? {builtin: () => builtin(caller)} : {};
  }

  /** Stops reconnecting and closes the router-wide connection (a stdio child gets EOF, then SIGTERM, then SIGKILL). */
  async close(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#healthCheck);
    const connection = this.#connection;
    this.#connection = undefined;
    this.#setState('closed');
    await connection?.close();
  }
}
