import type {ServerCapabilities} from '@modelcontextprotocol/sdk/types.js';
import {Authenticator} from './auth/authenticate.js';
import {ANONYMOUS, type Principal} from './auth/principal.js';
import {ToolSearch} from './catalog/search.js';
import {SharedCatalogs} from './catalog/shared.js';
import {COMPOSITE_UPSTREAM} from './composites/schema.js';
import {compositeTransport, type CompositeHost} from './composites/server.js';
import {diffUpstreams, type UpstreamDiff} from './config/diff.js';
import type {CatalogOptions, OutputLimits, RouterConfig, UpstreamConfig, UpstreamGroupConfig} from './config/schema.js';
import {JsonRpcCode, JsonRpcFailure} from './errors.js';
import type {Logger} from './log.js';
import {adminRefusal} from './management/admin.js';
import type {UpstreamRegistry} from './management/registry.js';
import {upstreamHealth, type UpstreamHealth} from './management/report.js';
import {managementTransport, type ManagementHost} from './management/server.js';
import {metricMethod, RouterMetrics} from './metrics.js';
import {auditLogger, type AuditRecord} from './policy/audit.js';
import {capResult, limitsFor, type Compaction} from './results/cap.js';
import {ResultStore} from './results/store.js';
import type {SessionIds} from './replicas/session-id.js';
import {tokenCounter} from './results/tokens.js';
import {AccessPolicy, GRANT_ALL, type Grant} from './policy/rules.js';
import {
  DownstreamSession,
  type ObservedCall,
  type DownstreamPeer,
  type Scope,
  type ServerIdentity,
  type SessionHost,
} from './session/downstream.js';
import {legacyPeer, type LegacyPeer} from './session/legacy.js';
import type {JsonObject, Message} from './upstream/connection.js';
import {callTimeouts} from './upstream/timeouts.js';
import {Upstream, type UpstreamEvents, type UpstreamStatus} from './upstream/upstream.js';
import {ROUTER_NAME, ROUTER_VERSION} from './version.js';
import {waitUntil} from './wait.js';

/**
 * Downstream transports, for metrics and logs: `modern` is Streamable HTTP of MCP 2026-07-28 (stateless), whose
 * sessions are the router's own, one per principal and scope; `internal` the sessions of `call_upstream_tool`.
 */
export type DownstreamTransport = 'sse' | 'streamableHttp' | 'stdio' | 'modern' | 'internal';

/** The body of `/readyz`. */
export interface ReadinessReport {
  ready: boolean;
  upstreams: UpstreamStatus[];
}

/** `mcp_router_upstream_circuit_state` values. */
const CIRCUIT_VALUES = {closed: 0, open: 1, halfOpen: 2} as const;

const AGGREGATE_CAPABILITIES: ServerCapabilities = {
  tools: {listChanged: true},
  prompts: {listChanged: true},
  resources: {subscribe: true, listChanged: true},
  completions: {},
  logging: {},
  // Tasks (MCP 2025-11-25 basic/utilities/tasks) are routed to the upstream that runs them.
  tasks: {list: {}, cancel: {}, requests: {tools: {call: {}}}},
};

/** The store of content cut from results, as `router.output` sizes it; with replicas its ids name this pod (`ids`). */
function newResultStore(config: RouterConfig, ids: SessionIds | undefined): ResultStore {
  const {keepBytes, keepSeconds} = config.router.output;
  return new ResultStore({
    maxBytes: keepBytes,
    ttlSeconds: keepSeconds,
    ...(ids && {newId: () => ids.newId('result')}),
  });
}

/**
 * The routing core: the upstreams of a config, the downstream sessions, and what passes between them. Transports
 * (HTTP, stdio) create sessions through `createSession` and know nothing of upstreams.
 */
export class Router implements SessionHost, UpstreamEvents, ManagementHost, CompositeHost {
  readonly log: Logger;
  readonly metrics: RouterMetrics;
  /**
   * With replicas, the ids this pod signs for what it alone holds (`requestState`s, cut results), so that another pod
   * forwards a request that names one here (`replicas/session-id.ts`); undefined for a router on its own.
   */
  readonly ids: SessionIds | undefined;
  #config: RouterConfig;
  #upstreams = new Map<string, Upstream>();
  readonly #sessions = new Set<DownstreamSession>();
  /** Sessions the router opens for a caller (composite steps, `call_upstream_tool`): their results are not capped. */
  readonly #internal = new WeakSet<object>();
  readonly #subscriptions = new Map<string, number>();
  /** Open sessions per principal id, for `limits.maxSessionsPerPrincipal`. */
  readonly #sessionsPerPrincipal = new Map<string, number>();
  readonly #registry: UpstreamRegistry | undefined;
  #authenticator: Authenticator | undefined;
  #policy: AccessPolicy | undefined;
  readonly audit: (record: AuditRecord) => void;
  readonly catalogs = new SharedCatalogs();
  readonly toolSearch: ToolSearch;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Requests routed to each group so far, for `roundRobin`. */
  readonly #groupTurns = new Map<string, number>();
  #results: ResultStore;
  #draining = false;
  #started: Promise<void> | undefined;

  /**
   * `auditLog`: where audit lines go (default: a child of `log` with `component: "audit"`). `registry`: what
   * `register_upstream` and `remove_upstream` change, in local mode (used while `router.management.register`). `ids`:
   * with replicas, how ids are signed (the pods' shared keys and this pod's address).
   */
  constructor(
    config: RouterConfig,
    deps: {log: Logger; auditLog?: Logger; metrics?: RouterMetrics; registry?: UpstreamRegistry; ids?: SessionIds},
  ) {
    this.#config = config;
    this.ids = deps.ids;
    this.#registry = deps.registry;
    this.log = deps.log;
    this.metrics = deps.metrics ?? new RouterMetrics();
    this.audit = auditLogger(deps.auditLog ?? this.log.child({component: 'audit'}));
    this.#applyTrust(undefined, config);
    this.toolSearch = new ToolSearch(this.log);
    this.toolSearch.configure(config.router.catalog);
    this.#results = newResultStore(config, this.ids);
    for (const upstream of config.upstreams) this.#upstreams.set(upstream.name, this.#newUpstream(upstream));
  }

  #newUpstream(config: UpstreamConfig): Upstream {
    this.metrics.upstreamUp.set({upstream: config.name, transport: config.transport}, 0);
    this.metrics.upstreamCircuit.set({upstream: config.name}, 0);
    return new Upstream(config, {
      log: this.log,
      clientInfo: {name: ROUTER_NAME, version: ROUTER_VERSION},
      events: this,
      healthCheckSeconds: this.#config.router.healthCheckSeconds,
      maxMessageBytes: this.#config.router.limits.maxUpstreamMessageBytes,
      ...(config.transport === 'builtin' && {
        builtin: (session) =>
          config.name === COMPOSITE_UPSTREAM
            ? compositeTransport(this, session, config.composites ?? {})
            : managementTransport(this, session),
      }),
    });
  }

  /** Builds the authenticator and the access policy of a config; an unchanged `auth` keeps its cached JWKS. */
  #applyTrust(previous: RouterConfig | undefined, config: RouterConfig): void {
    const {auth, access} = config.router;
    if (JSON.stringify(previous?.router.auth) !== JSON.stringify(auth))
      this.#authenticator = auth && new Authenticator(auth);
    this.#policy = auth && new AccessPolicy(access ?? []);
    if (auth && !access?.length)
      this.log.warn('Configured auth without access rules: every principal is refused (403) until a rule names it');
  }

  /** Verifies requests' credentials; undefined when the config has no `auth` (every client is anonymous). */
  get authenticator(): Authenticator | undefined {
    return this.#authenticator;
  }

  /** The access policy; undefined without `auth`. */
  get policy(): AccessPolicy | undefined {
    return this.#policy;
  }

  grantFor(principal: Principal): Grant {
    return this.#policy ? this.#policy.grantFor(principal) : GRANT_ALL;
  }

  get auditDigest(): boolean {
    return this.#config.router.audit.digest;
  }

  /**
   * Whether one more session may open for a principal (`limits.maxSessions`, `limits.maxSessionsPerPrincipal`).
   * @returns undefined when it may, else the limit that is reached, for the 503
   */
  sessionLimitReached(principal: Principal): string | undefined {
    const {maxSessions, maxSessionsPerPrincipal} = this.#config.router.limits;
    if (this.#sessions.size >= maxSessions) return `the router holds its maximum of ${maxSessions} sessions`;
    if ((this.#sessionsPerPrincipal.get(principal.id) ?? 0) >= maxSessionsPerPrincipal)
      return `the principal holds its maximum of ${maxSessionsPerPrincipal} sessions`;
    return undefined;
  }

  /** True for the Upstream objects of the current config; events of replaced ones are ignored. */
  #isCurrent(upstream: Upstream): boolean {
    return this.#upstreams.get(upstream.name) === upstream;
  }

  /**
   * Applies a new config to the running router (hot reload): new upstreams connect, removed ones are drained and
   * closed, changed ones are replaced (the old one drained and closed); unchanged upstreams and every open session are
   * left as they are, and sessions get `list_changed`. Draining waits for the calls in flight to an upstream, at most
   * `shutdownGraceSeconds`.
   * @returns what changed; resolves when new upstreams have made their first connection attempt
   */
  async reconfigure(config: RouterConfig): Promise<UpstreamDiff> {
    const diff = diffUpstreams(this.#config.upstreams, config.upstreams);
    const replaced = [...diff.removed, ...diff.changed].map((u) => this.#upstreams.get(u.name) as Upstream);
    const previous = this.#upstreams;
    this.#applyTrust(this.#config, config);
    const {keepBytes, keepSeconds} = config.router.output;
    if (keepBytes !== this.#config.router.output.keepBytes || keepSeconds !== this.#config.router.output.keepSeconds)
      this.#results = newResultStore(config, this.ids);
    this.#config = config;
    this.toolSearch.configure(config.router.catalog);
    this.#upstreams = new Map(
      config.upstreams.map((u) => [
        u.name,
        diff.unchanged.includes(u.name) ? (previous.get(u.name) as Upstream) : this.#newUpstream(u),
      ]),
    );
    for (const upstream of diff.removed) {
      this.metrics.upstreamUp.remove({upstream: upstream.name, transport: upstream.transport});
      this.metrics.upstreamCircuit.remove({upstream: upstream.name});
      this.metrics.upstreamLatency.remove({upstream: upstream.name});
    }
    const names = replaced.map((u) => u.name);
    for (const session of this.#sessions) {
      session.retireConnections(names, this.#config.router.shutdownGraceSeconds * 1000);
      session.upstreamsChanged();
    }
    void Promise.all(replaced.map((u) => this.#retire(u)));
    await Promise.all([...diff.added, ...diff.changed].map((u) => this.#upstreams.get(u.name)?.start()));
    return diff;
  }

  /** Closes a removed or replaced upstream once no session has calls in flight to it, or at the grace deadline. */
  async #retire(upstream: Upstream): Promise<void> {
    const idle = () => [...this.#sessions].every((s) => s.inFlight(upstream.name) === 0);
    await waitUntil(idle, this.#config.router.shutdownGraceSeconds * 1000);
    await upstream.close();
    this.log.info({upstream: upstream.name}, 'Closed retired upstream');
  }

  get separator(): string {
    return this.#config.router.toolNameSeparator;
  }

  get catalogOptions(): CatalogOptions {
    return this.#config.router.catalog;
  }

  get results(): ResultStore {
    return this.#results;
  }

  get outputCapped(): boolean {
    const {output} = this.#config.router;
    return [...this.#upstreams.values()].some((u) => limitsFor(output, u.config.output) !== undefined);
  }

  capsResults(upstream: string, owner: object): boolean {
    return this.#outputLimits(upstream, owner) !== undefined;
  }

  /** The output caps on `upstream`'s results for `owner`, or undefined when none apply. */
  #outputLimits(upstream: string, owner: object): OutputLimits | undefined {
    // A step's result feeds the next step whole; only what the caller receives is capped, in its own session.
    if (this.#internal.has(owner)) return undefined;
    return limitsFor(this.#config.router.output, this.#upstreams.get(upstream)?.config.output);
  }

  async capResult(
    upstream: string,
    result: JsonObject,
    owner: object,
  ): Promise<{result: JsonObject; compaction?: Compaction}> {
    const limits = this.#outputLimits(upstream, owner);
    if (!limits) return {result};
    const {output} = this.#config.router;
    const tokens = limits.maxResultTokens === undefined ? undefined : await tokenCounter();
    const capped = capResult(result, limits, {
      ...(tokens && {tokens}),
      keepSeconds: output.keepSeconds,
      keep: (content) => this.#results.keep(owner, content),
    });
    const {compaction} = capped;
    if (compaction) {
      const actions = {cut: compaction.cut, media: compaction.media, minified: compaction.minified};
      for (const [action, count] of Object.entries(actions))
        if (count > 0) this.metrics.resultCaps.inc({upstream, action}, count);
      this.metrics.resultBytesSaved.inc({upstream}, Math.max(0, compaction.bytes - compaction.sentBytes));
    }
    return capped;
  }

  get options(): RouterConfig['router'] {
    return this.#config.router;
  }

  /**
   * Connects every upstream concurrently; resolves when each has made its first attempt, failed or not.
   * Calling it again returns the same promise.
   */
  start(): Promise<void> {
    this.#started ??= Promise.all([...this.#upstreams.values()].map((upstream) => upstream.start())).then(
      () => undefined,
    );
    return this.#started;
  }

  upstreams(scope: Scope): Upstream[] {
    if (scope.kind === 'aggregate') return [...this.#upstreams.values()];
    const upstream = this.#upstreams.get(scope.name);
    return upstream ? [upstream] : [];
  }

  upstream(name: string): Upstream | undefined {
    return this.#upstreams.get(name);
  }

  group(name: string): UpstreamGroupConfig | undefined {
    return this.#config.groups.find((group) => group.name === name);
  }

  groupOf(upstream: string): UpstreamGroupConfig | undefined {
    return this.#config.groups.find((group) => group.members.includes(upstream));
  }

  groupTurn(group: string): number {
    const turn = this.#groupTurns.get(group) ?? 0;
    this.#groupTurns.set(group, turn + 1);
    return turn;
  }

  async upstreamHealth(principal: Principal): Promise<UpstreamHealth[]> {
    const grant = this.grantFor(principal);
    const medians = await this.metrics.medianSeconds();
    return [...this.#upstreams.values()]
      .filter((upstream) => grant.upstream(upstream.name))
      .map((upstream) =>
        upstreamHealth(upstream.status, {
          group: this.groupOf(upstream.name)?.name,
          tools: upstream.connection?.catalog.tools.length ?? 0,
          inFlight: [...this.#sessions].reduce((sum, session) => sum + session.inFlight(upstream.name), 0),
          p50Seconds: medians.get(upstream.name),
        }),
      );
  }

  maxCallSeconds(upstream: string, tool: string): number | undefined {
    const timeouts = this.#upstreams.get(upstream)?.config.timeouts;
    return timeouts && callTimeouts(timeouts, 'tools/call', tool).maxCallSeconds;
  }

  get registry(): UpstreamRegistry | undefined {
    return this.#config.router.management.register ? this.#registry : undefined;
  }

  adminRefusal(principal: Principal): string | undefined {
    const {auth, management} = this.#config.router;
    return adminRefusal(principal, {
      auth: auth !== undefined,
      admins: management.admins,
      localOnly: this.#registry?.localOnly ?? false,
    });
  }

  /** True from the start of shutdown: the HTTP app answers new requests with 503. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Ready once every upstream has made its first connection attempt, until shutdown begins. */
  readiness(): ReadinessReport {
    const upstreams = [...this.#upstreams.values()].map((u) => u.status);
    return {ready: !this.#draining && upstreams.every((u) => u.state !== 'connecting'), upstreams};
  }

  /**
   * A new downstream session for a scope, registered until it closes; `bind` makes its client end (the era's binding).
   */
  createSession<P extends DownstreamPeer>(
    scope: Scope,
    transport: DownstreamTransport,
    principal: Principal,
    bind: (session: DownstreamSession<P>) => P,
  ): DownstreamSession<P> {
    const session = new DownstreamSession(this, scope, principal, bind);
    if (transport === 'internal') this.#internal.add(session);
    const labels = {transport, scope: scope.kind};
    this.#sessions.add(session);
    this.#sessionsPerPrincipal.set(principal.id, (this.#sessionsPerPrincipal.get(principal.id) ?? 0) + 1);
    this.metrics.sessions.inc(labels);
    session.onclose = () => {
      if (!this.#sessions.delete(session)) return;
      this.metrics.sessions.dec(labels);
      const left = (this.#sessionsPerPrincipal.get(principal.id) ?? 1) - 1;
      if (left > 0) this.#sessionsPerPrincipal.set(principal.id, left);
      else this.#sessionsPerPrincipal.delete(principal.id);
    };
    return session;
  }

  /** A new 2025-era session (SSE, Streamable HTTP with `Mcp-Session-Id`, stdio), to connect to its transport. */
  createLegacySession(
    scope: Scope,
    transport: Exclude<DownstreamTransport, 'modern'>,
    principal: Principal = ANONYMOUS,
  ): DownstreamSession<LegacyPeer> {
    return this.createSession(scope, transport, principal, legacyPeer(this.identity(scope)));
  }

  /**
   * What the router says of itself on a scope (MCP 2025-11-25 lifecycle): the aggregate declares every capability
   * the router routes; a single-upstream path declares what that upstream declared, and its `serverInfo`.
   */
  identity(scope: Scope): ServerIdentity {
    if (scope.kind === 'upstream') {
      const connection = this.#upstreams.get(scope.name)?.connection;
      const capabilities: ServerCapabilities = {...(connection?.capabilities ?? AGGREGATE_CAPABILITIES)};
      for (const kind of ['tools', 'prompts', 'resources'] as const) {
        if (capabilities[kind]) capabilities[kind] = {...capabilities[kind], listChanged: true};
      }
      // Content cut by the output caps is read with resources/read, which the router serves on every path.
      if (limitsFor(this.#config.router.output, this.#upstreams.get(scope.name)?.config.output))
        capabilities.resources ??= {listChanged: true};
      const instructions = connection?.instructions;
      return {
        serverInfo: connection?.serverInfo ?? {name: scope.name, version: ROUTER_VERSION},
        capabilities,
        ...(instructions !== undefined && {instructions}),
      };
    }
    const instructions = [...this.#upstreams.values()]
      .map((u) => [u.name, u.connection?.instructions] as const)
      .filter(([, text]) => text)
      .map(([name, text]) => `## ${name}\n${text}`)
      .join('\n\n');
    return {
      serverInfo: {name: ROUTER_NAME, version: ROUTER_VERSION},
      capabilities: AGGREGATE_CAPABILITIES,
      ...(instructions && {instructions}),
    };
  }

  #sessionsOf(upstream: Upstream): DownstreamSession[] {
    return [...this.#sessions].filter((s) => s.scope.kind === 'aggregate' || s.scope.name === upstream.name);
  }

  onStateChange(upstream: Upstream): void {
    if (!this.#isCurrent(upstream)) return;
    const labels = {upstream: upstream.name, transport: upstream.config.transport};
    this.metrics.upstreamUp.set(labels, upstream.state === 'ready' ? 1 : 0);
    for (const session of this.#sessionsOf(upstream)) session.upstreamsChanged();
  }

  onCircuitChange(upstream: Upstream): void {
    if (this.#isCurrent(upstream))
      this.metrics.upstreamCircuit.set({upstream: upstream.name}, CIRCUIT_VALUES[upstream.circuit.state]);
  }

  onNotification(upstream: Upstream, notification: Message): void {
    // A perSession upstream's router-wide connection is only a probe: sessions hear from their own connections.
    if (upstream.config.session !== 'shared' || !this.#isCurrent(upstream)) return;
    for (const session of this.#sessionsOf(upstream)) session.deliver(upstream.name, notification);
  }

  /**
   * A server-to-client request on a shared upstream goes to the one session with calls in flight to it; when no
   * session or several have, the upstream gets an error (DESIGN.md, Sessions). A `roots/list` outside any call (as
   * server-everything sends when it starts) is for no client: it gets an empty list (MCP 2025-11-25 client/roots).
   */
  async onServerRequest(upstream: Upstream, request: Message, signal: AbortSignal): Promise<JsonObject> {
    const candidates = this.#sessionsOf(upstream).filter((s) => s.inFlight(upstream.name) > 0);
    if (candidates.length === 0 && request.method === 'roots/list') return {roots: []};
    const [only] = candidates;
    if (candidates.length !== 1 || !only) {
      throw new JsonRpcFailure(
        JsonRpcCode.InternalError,
        `The router cannot tell which client ${request.method} from "${upstream.name}" is for ` +
          `(${candidates.length} sessions have calls in flight); use session: perSession for this upstream`,
      );
    }
    return only.serverRequest(upstream.name, request, signal);
  }

  retainSubscription(upstream: string, uri: string): boolean {
    const key = `${upstream}\n${uri}`;
    const count = (this.#subscriptions.get(key) ?? 0) + 1;
    this.#subscriptions.set(key, count);
    return count === 1;
  }

  releaseSubscription(upstream: string, uri: string): boolean {
    const key = `${upstream}\n${uri}`;
    const count = (this.#subscriptions.get(key) ?? 0) - 1;
    if (count > 0) this.#subscriptions.set(key, count);
    else this.#subscriptions.delete(key);
    return count === 0;
  }

  observeRetry(upstream: string, method: string): void {
    this.metrics.retries.inc({upstream, method: metricMethod(method)});
  }

  observeCall(call: ObservedCall): void {
    const {upstream, tool = '', outcome, seconds, passedBytes} = call;
    const method = metricMethod(call.method);
    this.metrics.calls.inc({upstream, method, tool, outcome});
    this.metrics.callSeconds.observe({upstream, method}, seconds);
    this.metrics.upstreamLatency.observe({upstream}, seconds);
    if (passedBytes === undefined) return;
    this.metrics.passedResults.inc({upstream});
    this.metrics.passedResultBytes.inc({upstream}, passedBytes);
  }

  track<T>(done: Promise<T>): Promise<T> {
    this.#inFlight.add(done);
    const forget = () => this.#inFlight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /**
   * Shutdown, step one: reports not ready and waits for the calls in flight, at most `graceMs` milliseconds.
   * @returns the number of calls still in flight at the deadline
   */
  async drain(graceMs: number): Promise<number> {
    this.#draining = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.#inFlight]), deadline]);
    clearTimeout(timer);
    return this.#inFlight.size;
  }

  /** Shutdown, step two: closes every session and every upstream (stdio children are stopped). */
  async close(): Promise<void> {
    this.#draining = true;
    await Promise.allSettled([...this.#sessions].map((s) => s.close()));
    await Promise.allSettled([...this.#upstreams.values()].map((u) => u.close()));
  }
}
