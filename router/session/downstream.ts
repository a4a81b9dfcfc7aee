import {LRUCache} from 'lru-cache';
import type {
  ClientCapabilities,
  Implementation,
  LoggingLevel,
  ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import {
  resolveResource,
  type AggregateCatalog,
  type CatalogPart,
  type NamedEntry,
  type Route,
  type UpstreamCatalog,
} from '../catalog/aggregate.js';
import type {Principal} from '../auth/principal.js';
import {CALL_TOOL, DEFAULT_SEARCH_LIMIT, SEARCH_TOOL, searchModeTools, type ToolSearch} from '../catalog/search.js';
import {listResult, resultBytesOf} from '../catalog/serialized.js';
import type {SharedCatalogs} from '../catalog/shared.js';
import type {CatalogOptions, UpstreamGroupConfig} from '../config/schema.js';
import {
  AccessDeniedError,
  JsonRpcCode,
  JsonRpcFailure,
  quoted,
  NotFoundError,
  RouterError,
  toJsonRpcFailure,
  UnroutableError,
  UpstreamUnavailableError,
} from '../errors.js';
import type {Logger} from '../log.js';
import {argumentsDigest, failureOutcome, sessionTag, type AuditOutcome, type AuditRecord} from '../policy/audit.js';
import {GRANT_ALL, type Grant} from '../policy/rules.js';
import type {Compaction} from '../results/cap.js';
import {READ_RESULT_DEFINITION, READ_RESULT_TOOL, readRangeOf, readResult} from '../results/read.js';
import {isResultUri, type ResourceContents, type ResultStore} from '../results/store.js';
import {tokenCounter} from '../results/tokens.js';
import {
  CLIENT_CAPABILITY_OF,
  describe,
  type JsonObject,
  type Message,
  type UpstreamConnection,
} from '../upstream/connection.js';
import {CircuitOpenError} from '../upstream/breaker.js';
import {mayFailOver} from '../upstream/group.js';
import {mayRetry, withRetries, type CallFacts} from '../upstream/retry.js';
import type {Upstream} from '../upstream/upstream.js';
import {traceRequest, traceUpstreamCall, type EndRequest} from '../tracing.js';
import {SessionConnections} from './connections.js';
import {SessionGroups, type GroupHost} from './groups.js';
import {renameTaskIds, SessionTasks} from './tasks.js';

/** Which upstreams a session sees: all of them, prefixed (`/mcp`, `/sse`, stdio) or one, unchanged (`/mcp/{name}`). */
export type Scope = {kind: 'aggregate'} | {kind: 'upstream'; name: string};

/** Syslog severities in order (MCP 2025-11-25 server/utilities/logging). */
const LEVELS: LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** No upstream left out. */
const NONE_MISSING: ReadonlyMap<string, string> = new Map();

// Facts about one call in flight, kept beside the call and not in its session: a call belongs to one session, and an
// idle session then holds none of these tables.
/** The upstream each request in flight was routed to, for its audit line. */
const routedTo = new WeakMap<Call, string>();
/** What the output caps changed in the result of each `tools/call`, for its audit line. */
const cappedOf = new WeakMap<Call, Compaction>();
/** Calls the upstream has started work on (progress, a server-to-client request): never retried. */
const startedCalls = new WeakSet<Call>();
/** Calls whose request went out to an upstream: a group sends them to another member only when repeatable. */
const sentCalls = new WeakSet<Call>();

const LIST_CHANGED = [
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
];

/** What a session needs of the router that holds it. */
export interface SessionHost extends GroupHost {
  readonly log: Logger;
  readonly separator: string;
  /** The upstreams of a scope, in config order. */
  upstreams(scope: Scope): Upstream[];
  upstream(name: string): Upstream | undefined;
  /** The group of this name (`router.groups`), or undefined. */
  group(name: string): UpstreamGroupConfig | undefined;
  /** The group an upstream is a member of, or undefined. */
  groupOf(upstream: string): UpstreamGroupConfig | undefined;
  /** Counts a downstream subscription to a shared upstream's URI; true when it is the first (subscribe upstream). */
  retainSubscription(upstream: string, uri: string): boolean;
  /** Uncounts it; true when it was the last (unsubscribe upstream). */
  releaseSubscription(upstream: string, uri: string): boolean;
  /** Counts an attempt of a call to an upstream that failed and is tried again, for metrics. */
  observeRetry(upstream: string, method: string): void;
  /** Observes a finished forwarded call, for metrics. */
  observeCall(call: ObservedCall): void;
  /** Counts a call as in flight until `done` settles, so shutdown can wait for it. */
  track<T>(done: Promise<T>): Promise<T>;
  /** What a principal may use under the current access rules; `GRANT_ALL` without auth. */
  grantFor(principal: Principal): Grant;
  /** The catalogs of the router's sessions, shared by sessions that see the same thing. */
  readonly catalogs: SharedCatalogs;
  /** `search_tools` over a session's catalog (`router.catalog`: BM25, with an embedding model when one is named). */
  readonly toolSearch: ToolSearch;
  /** How the aggregate lists its tools (`router.catalog`); read on each request, as a reload may change it. */
  readonly catalogOptions: CatalogOptions;
  /** Writes one audit line. */
  audit(record: AuditRecord): void;
  /** Whether audit lines carry a digest of the arguments. */
  readonly auditDigest: boolean;
  /** Content the output caps cut from results (`router://results/{id}`), readable by the session it was cut for. */
  readonly results: ResultStore;
  /** Whether any upstream's results have output caps: the aggregate then lists `read_result`. */
  readonly outputCapped: boolean;
  /**
   * A `tools/call` result of `upstream` within its output caps; what is cut is kept for `owner` (a session). The
   * router's internal sessions (composite steps, `call_upstream_tool`) get results whole: their caller's session caps.
   */
  capResult(
    upstream: string,
    result: JsonObject,
    owner: object,
  ): Promise<{result: JsonObject; compaction?: Compaction}>;
  /** Whether `upstream`'s `tools/call` results have output caps for `owner` (then they are read, not passed on). */
  capsResults(upstream: string, owner: object): boolean;
}

export type CallOutcome = 'ok' | 'tool_error' | 'error' | 'cancelled';

/** A finished forwarded call; `passedBytes`, the size of a result passed on as the upstream's bytes (`bytesResult`). */
export interface ObservedCall {
  upstream: string;
  method: string;
  tool?: string;
  outcome: CallOutcome;
  seconds: number;
  passedBytes?: number;
}

/** The refusal of a server-to-client request toward a 2026-07-28 client (-32601). */
export function noServerRequests(method: string): JsonRpcFailure {
  return new JsonRpcFailure(
    JsonRpcCode.MethodNotFound,
    `${quoted(method)} cannot reach this client: MCP 2026-07-28 has no server-to-client requests, and the router ` +
      'asks for input only within one tools/call, prompts/get or resources/read in flight to that upstream',
  );
}

/** A catalog's tools with the router's `read_result` after them, one array per catalog version (its JSON is kept). */
const withReadResult = new WeakMap<readonly NamedEntry[], NamedEntry[]>();
function toolsWithReadResult(tools: readonly NamedEntry[]): NamedEntry[] {
  let listed = withReadResult.get(tools);
  if (listed === undefined) withReadResult.set(tools, (listed = [...tools, READ_RESULT_DEFINITION]));
  return listed;
}

/** Whether a request is a `tools/call` of the router's `call_tool` (search mode). */
function isCallTool(request: {method: string; params?: JsonObject}): boolean {
  return request.method === 'tools/call' && request.params?.name === CALL_TOOL;
}

/**
 * The `tools/call` that a `call_tool` call stands for: its `name` and `arguments`, with the outer request's `_meta`
 * (progress token) and task.
 * @throws JsonRpcFailure -32602 without a `name` string or with `arguments` that are not an object
 */
function unwrapCallTool(params: JsonObject): {method: string; params: JsonObject} {
  const {name, arguments: args} = (params.arguments ?? {}) as {name?: unknown; arguments?: unknown};
  if (typeof name !== 'string') throw new JsonRpcFailure(JsonRpcCode.InvalidParams, 'call_tool needs a tool name');
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)))
    throw new JsonRpcFailure(JsonRpcCode.InvalidParams, 'call_tool: arguments must be an object');
  const {arguments: _outer, name: _name, ...rest} = params;
  return {method: 'tools/call', params: {...rest, name, ...(args !== undefined && {arguments: args})}};
}

/** The `_meta` key of the client's capabilities in a 2026-07-28 request (MCP 2026-07-28 basic/lifecycle). */
const CLIENT_CAPABILITIES_META_KEY = 'io.modelcontextprotocol/clientCapabilities';

/** The refusal of a retry whose `requestState` leads nowhere (-32602). */
export function unknownRequestState(): JsonRpcFailure {
  return new JsonRpcFailure(JsonRpcCode.InvalidParams, 'Unknown or expired requestState');
}

/** What the router says of itself to a client: `serverInfo`, capabilities and instructions (MCP lifecycle). */
export interface ServerIdentity {
  serverInfo: Implementation;
  capabilities: ServerCapabilities;
  instructions?: string;
}

/** One downstream request being handled: what routing needs of it, whichever era and SDK it came by. */
export interface Call {
  /** Aborts when the client cancels the request or its stream goes away. */
  readonly signal: AbortSignal;
  /** The client's progress token, when it asked for progress (`params._meta.progressToken`). */
  readonly progressToken?: string | number;
  /** What the client declared for this request (the `_meta` envelope of MCP 2026-07-28); the session's otherwise. */
  readonly clientCapabilities?: ClientCapabilities;
  /** Sends a notification related to this request (progress), on its response stream. */
  notify(notification: Message): Promise<void>;
  /**
   * Sends a server-to-client request related to this request, on its response stream; absent when the era has no
   * server-to-client requests (MCP 2026-07-28).
   */
  request?(request: Message, signal: AbortSignal): Promise<JsonObject>;
}

/** The client end of a session, as the binding of its era (`legacy.ts`, `modern.ts`) gives it. */
export interface DownstreamPeer {
  /** `legacy`: MCP 2024-11-05 to 2025-11-25 (sessions, `initialize`); `modern`: MCP 2026-07-28 (stateless). */
  readonly era: 'legacy' | 'modern';
  /** The transport's session id (SSE, Streamable HTTP of MCP 2025), or undefined (stdio, the stateless era). */
  readonly id: string | undefined;
  /** The client's `clientInfo`, passed on to the upstream sessions opened for it. */
  clientInfo(): Implementation | undefined;
  /** The capabilities the client declared: they decide which server-to-client requests reach it. */
  clientCapabilities(): ClientCapabilities;
  /**
   * Whether the client's transport writes a result's own JSON (`messageJson`): then a large `tools/call` result the
   * router does not change goes on as the bytes the upstream sent.
   */
  readonly writesResultBytes: boolean;
  /**
   * Sends a notification to the client on the session's own stream; dropped when there is none, and before the client
   * has been sent its `initialize` result (MCP 2025-11-25 basic/lifecycle).
   */
  notify(notification: Message): void;
  /** Sends a server-to-client request not related to any call, on the session's stream; rejects when there is none. */
  request(request: Message, signal: AbortSignal): Promise<JsonObject>;
  /** Ends the client's side (its transport). */
  close(): Promise<void>;
}

/**
 * One downstream session: one SSE stream, one Streamable HTTP session, or the stdio peer. It owns its client end (the
 * era's peer: `legacy.ts`, `modern.ts`), its catalog view, its own connections to `perSession` upstreams, its
 * subscriptions and log level. Requests are routed without any lock held across an upstream call.
 *
 * A session belongs to one principal: it sees only what the access rules grant it, and calls to anything else fail
 * with "Access denied" (the same answer as for a name that does not exist, so that nothing is revealed). Every routed
 * request gives one audit line.
 */
export class DownstreamSession<P extends DownstreamPeer = DownstreamPeer> {
  readonly scope: Scope;
  readonly principal: Principal;
  /** The client end, bound by the era's binding (`legacy.ts`, `modern.ts`). */
  readonly peer: P;
  readonly #host: SessionHost;
  // What an idle session holds is kept small (ADR 0030): the tables below are made on first use.
  #tasks: SessionTasks | undefined;
  #connections: SessionConnections | undefined;
  /** Subscribed URIs as the client knows them, and where each leads. */
  #subscriptions: Map<string, Route> | undefined;
  /** The calls in flight, by upstream. */
  #inFlight: Map<string, Set<Call>> | undefined;
  #groups: SessionGroups | undefined;
  #catalog: Promise<AggregateCatalog> | undefined;
  /** Upstreams of the scope left out of the last catalog (down, or this session could not connect), and why. */
  #missing: ReadonlyMap<string, string> = NONE_MISSING;
  #logLevel: LoggingLevel | undefined;
  /** `dynamic` mode: the tools this session's searches found (see `#foundTools`). */
  #found: LRUCache<string, true> | undefined;
  /** `sessionTag` of the id it was made for, made on the first audit line: a SHA-256 per request cost 1-2% of a call. */
  #tag: {id: string | undefined; tag: string} | undefined;
  #closed = false;
  onclose?: () => void;

  /** `bind` makes the session's client end; it is called once, with the session. */
  constructor(host: SessionHost, scope: Scope, principal: Principal, bind: (session: DownstreamSession<P>) => P) {
    this.#host = host;
    this.scope = scope;
    this.principal = principal;
    this.peer = bind(this);
  }

  /** The tasks this session created, with their ids as its client knows them. */
  get #taskIds(): SessionTasks {
    const {scope} = this;
    const host = this.#host;
    this.#tasks ??= new SessionTasks((upstream, taskId) =>
      scope.kind === 'aggregate' ? `${host.upstream(upstream)?.config.prefix}${host.separator}${taskId}` : taskId,
    );
    return this.#tasks;
  }

  /** The session's connections to upstreams (the shared ones, and its own of `perSession` upstreams). */
  get #upstreamConnections(): SessionConnections {
    this.#connections ??= new SessionConnections((upstream) => this.#openConnection(upstream));
    return this.#connections;
  }

  /** The members of groups this session keeps to. */
  get #members(): SessionGroups {
    this.#groups ??= new SessionGroups(this.#host);
    return this.#groups;
  }

  /**
   * Handles one client request: routes it, writes its audit line, and turns failures into JSON-RPC errors.
   * @throws JsonRpcFailure, always (an unexpected error is logged and becomes -32603 "Internal error")
   */
  async handle(given: {method: string; params?: JsonObject}, call: Call): Promise<JsonObject> {
    // In search mode, call_tool is the call of the tool it names: routed, audited and counted as that call.
    const request = this.#searching && isCallTool(given) ? unwrapCallTool(given.params ?? {}) : given;
    return traceRequest(request, (end) => this.#handleAudited(request, call, end));
  }

  async #handleAudited(request: Message, call: Call, end: EndRequest): Promise<JsonObject> {
    const params = request.params ?? {};
    const started = performance.now();
    let outcome: AuditOutcome = 'ok';
    let failure: unknown;
    try {
      const result = await this.#handle({method: request.method, params}, call);
      if (result.isError === true) outcome = 'error';
      return result;
    } catch (error) {
      failure = error;
      outcome = failureOutcome(error, call.signal.aborted);
      if (!(error instanceof JsonRpcFailure) && !(error instanceof RouterError)) {
        this.#host.log.error({err: error, method: request.method}, 'Failed to handle a request');
      }
      throw toJsonRpcFailure(error);
    } finally {
      end(this.#audit(request.method, params, call, outcome, started), failure);
    }
  }

  /** `logging/setLevel`: the session's level, passed on to its own upstream sessions. */
  async setLogLevel(level: LoggingLevel): Promise<void> {
    this.#logLevel = level;
    await this.#upstreamConnections.each((c) => c.forward({method: 'logging/setLevel', params: {level}}));
  }

  /** `notifications/roots/list_changed` from the client, passed on to its own upstream sessions. */
  rootsChanged(): Promise<void> {
    return this.#upstreamConnections.each((c) => c.notify({method: 'notifications/roots/list_changed'}));
  }

  /** Writes the audit line of a request, and returns it. */
  #audit(method: string, params: JsonObject, call: Call, outcome: AuditOutcome, started: number): AuditRecord {
    const ref = (params.ref ?? {}) as JsonObject;
    const name = params.name ?? params.uri ?? ref.name ?? ref.uri;
    const upstream = routedTo.get(call);
    const args = params.arguments ?? (method === 'completion/complete' ? params.argument : undefined);
    const output = cappedOf.get(call);
    const record: AuditRecord = {
      principal: this.principal.name,
      session: this.#sessionTag(),
      method,
      ...(typeof name === 'string' && {name}),
      ...(upstream !== undefined && {upstream}),
      outcome,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      ...(this.#host.auditDigest && args !== undefined && {digest: argumentsDigest(args)}),
      ...(output && {output}),
    };
    this.#host.audit(record);
    return record;
  }

  /** True when this session lists and finds tools by search (`router.catalog.mode`, aggregate only). */
  get #searching(): boolean {
    return this.scope.kind === 'aggregate' && this.#host.catalogOptions.mode !== 'full';
  }

  /**
   * `dynamic` mode: the tools searches found, least recently found or called first out, at most
   * `router.catalog.dynamicTools`; they join the session's list until they leave this.
   */
  #foundTools(): LRUCache<string, true> {
    this.#found ??= new LRUCache({max: this.#host.catalogOptions.dynamicTools});
    return this.#found;
  }

  /** `dynamic` mode: adds found tools to the session's list, and says so (`list_changed`) when it changed. */
  #addFound(names: string[]): void {
    if (this.#host.catalogOptions.mode !== 'dynamic' || names.length === 0) return;
    const found = this.#foundTools();
    const before = [...found.keys()].sort().join('\n');
    for (const name of names) found.set(name, true);
    if ([...found.keys()].sort().join('\n') !== before) this.#send({method: 'notifications/tools/list_changed'});
  }

  /**
   * `search_tools`: the best matches in the session's catalog, as full definitions, in `structuredContent` and text.
   * @throws JsonRpcFailure -32602 without a `query` string, or with a `limit` that is not an integer from 1 to 50
   */
  async #search(params: JsonObject): Promise<JsonObject> {
    const {query, limit = DEFAULT_SEARCH_LIMIT} = (params.arguments ?? {}) as {query?: unknown; limit?: unknown};
    if (typeof query !== 'string' || query.trim() === '')
      throw new JsonRpcFailure(JsonRpcCode.InvalidParams, 'search_tools needs a query (a string)');
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 50)
      throw new JsonRpcFailure(JsonRpcCode.InvalidParams, 'search_tools: limit must be an integer from 1 to 50');
    const tools = await this.#host.toolSearch.search(await this.#view(), query, limit);
    this.#addFound(tools.map((tool) => tool.name));
    return {content: [{type: 'text', text: JSON.stringify({tools})}], structuredContent: {tools}};
  }

  /** What this session's principal may use, under the rules in force now (they change on a config reload). */
  get #grant(): Grant {
    return this.#host.grantFor(this.principal);
  }

  /** The transport's session id (SSE, Streamable HTTP of MCP 2025), or undefined (stdio, the stateless era). */
  get id(): string | undefined {
    return this.peer.id;
  }

  /** `sessionTag(this.id)`, made again only when the id is not the one it was made for. */
  #sessionTag(): string {
    const id = this.id;
    if (this.#tag === undefined || this.#tag.id !== id) this.#tag = {id, tag: sessionTag(id)};
    return this.#tag.tag;
  }

  /** True when the session has no call in flight to any upstream. */
  get idle(): boolean {
    return [...(this.#inFlight?.values() ?? [])].every((calls) => calls.size === 0);
  }

  /** Number of calls of this session in flight to `upstream`. */
  inFlight(upstream: string): number {
    return this.#inFlight?.get(upstream)?.size ?? 0;
  }

  async #handle(message: Required<Message>, call: Call): Promise<JsonObject> {
    const {method, params} = message;
    switch (method) {
      case 'tools/list':
        if (this.#searching) {
          const found = new Set<string>(this.#found?.keys());
          const tools = searchModeTools(await this.#view(), this.#host.catalogOptions.pinned, found);
          return {tools: this.#readsResults ? [...tools, READ_RESULT_DEFINITION] : tools};
        }
        return this.#list('tools');
      case 'prompts/list':
        return this.#list('prompts');
      case 'resources/list':
        return this.#list('resources');
      case 'resources/templates/list':
        return this.#list('resourceTemplates');
      case 'tools/call':
      case 'prompts/get': {
        if (this.#searching && method === 'tools/call' && params.name === SEARCH_TOOL) return this.#search(params);
        if (this.#readsResults && method === 'tools/call' && params.name === READ_RESULT_TOOL)
          return this.#readResult(params);
        if (method === 'tools/call') this.#found?.get(String(params.name)); // a call keeps a found tool listed
        const kind = method === 'tools/call' ? 'tool' : 'prompt';
        const route = await this.#routeName(kind, String(params.name));
        const forwarded = await this.#forward(route, {method, params: {...params, name: route.target}}, call);
        const result = method === 'tools/call' ? await this.#withinCaps(route.upstream, forwarded, call) : forwarded;
        if (params.task === undefined) return result;
        const upstream = routedTo.get(call) ?? route.upstream; // a group's member
        return renameTaskIds(result, (taskId) => this.#taskIds.adopt(upstream, taskId));
      }
      case 'tasks/get':
      case 'tasks/result':
      case 'tasks/cancel':
        return this.#taskRequest(message, call);
      case 'tasks/list':
        return this.#listTasks(call);
      case 'resources/read':
        if (isResultUri(String(params.uri))) return {contents: [this.#keptResult(String(params.uri))]};
        return this.#forward(await this.#routeUri(String(params.uri)), message, call, 'uri');
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return this.#subscription(method, String(params.uri), call);
      case 'completion/complete':
        return this.#complete(params, call);
      default:
        // Under access rules an unlisted method could reach anything: only the methods above are routed.
        if (this.scope.kind === 'upstream' && this.#grant !== GRANT_ALL)
          throw new AccessDeniedError(`Access denied: method ${quoted(method)}`);
        if (this.scope.kind === 'upstream')
          return this.#forward({upstream: this.scope.name, target: ''}, message, call);
        throw new UnroutableError(`Method ${quoted(method)} is not supported by the aggregate endpoint`);
    }
  }

  /** A `tools/call` result within the output caps of its upstream; what they changed goes on the call's audit line. */
  async #withinCaps(upstream: string, result: JsonObject, call: Call): Promise<JsonObject> {
    const capped = await this.#host.capResult(upstream, result, this);
    if (capped.compaction) cappedOf.set(call, capped.compaction);
    return capped.result;
  }

  /**
   * Content the output caps cut from one of this session's results (`router://results/{id}`).
   * @throws NotFoundError (-32602, as for any unknown resource) when the id is unknown, expired or another session's
   */
  #keptResult(uri: string): ResourceContents {
    const contents = this.#host.results.read(this, uri);
    if (!contents) throw new NotFoundError(`Resource not found: ${quoted(uri)}`);
    return contents;
  }

  /** True when the session lists `read_result` (aggregate, output caps on). */
  get #readsResults(): boolean {
    return this.scope.kind === 'aggregate' && this.#host.outputCapped;
  }

  /**
   * `read_result`: a range of content cut from one of this session's results.
   * @throws JsonRpcFailure -32602 for bad arguments; NotFoundError as `resources/read` of the same URI
   */
  async #readResult(params: JsonObject): Promise<JsonObject> {
    const range = readRangeOf(params.arguments);
    const contents = this.#keptResult(range.uri);
    return readResult(contents, range, range.unit === 'tokens' ? await tokenCounter() : undefined);
  }

  /**
   * A list as the session sees it. On a per-upstream path it keeps what the upstream's list result carried besides
   * its entries (`_meta`, unknown fields), so that the upstream behaves as itself.
   */
  async #list(kind: keyof UpstreamCatalog): Promise<JsonObject> {
    const view = await this.#view();
    const entries = kind === 'tools' && this.#readsResults ? toolsWithReadResult(view.tools) : view[kind];
    const upstream = this.scope.kind === 'upstream' ? this.#host.upstream(this.scope.name) : undefined;
    const extras = upstream
      ? await this.#upstreamConnections.get(upstream).then(
          (c) => c.listExtras[kind],
          () => undefined,
        )
      : undefined;
    // Without extras (the aggregate, and most upstreams) the result carries its JSON, made once per catalog version.
    return extras === undefined || Object.keys(extras).length === 0
      ? listResult(kind, entries)
      : {...extras, [kind]: entries};
  }

  /** A request about one task of this session, sent to the upstream that runs it, ids renamed both ways. */
  async #taskRequest({method, params}: Required<Message>, call: Call): Promise<JsonObject> {
    const route = this.#taskIds.resolve(String(params.taskId));
    if (!route) throw new JsonRpcFailure(JsonRpcCode.InvalidParams, `Unknown task ${quoted(String(params.taskId))}`);
    const result = await this.#forward(
      {upstream: route.upstream, target: ''},
      {method, params: {...params, taskId: route.taskId}},
      call,
    );
    // A task's result is the result of its tools/call: the same output caps apply.
    const capped = method === 'tasks/result' ? await this.#withinCaps(route.upstream, result, call) : result;
    return renameTaskIds(capped, (taskId) => this.#taskIds.idOf(route.upstream, taskId));
  }

  /** `tasks/list`: this session's tasks, from every upstream it has tasks on (never other sessions' tasks). */
  async #listTasks(call: Call): Promise<JsonObject> {
    const lists = await Promise.all(
      this.#taskIds.upstreams().map(async (upstream) => {
        const listed = await this.#forward({upstream, target: ''}, {method: 'tasks/list', params: {}}, call);
        return renameTaskIds(listed, (taskId) => this.#taskIds.idOf(upstream, taskId)).tasks as JsonObject[];
      }),
    );
    return {tasks: lists.flat()};
  }

  async #routeName(kind: 'tool' | 'prompt', name: string): Promise<Route> {
    const pick = (catalog: AggregateCatalog) => (kind === 'tool' ? catalog.toolRoutes : catalog.promptRoutes).get(name);
    const route = pick(await this.#view()) ?? pick(await this.#view(true));
    if (route) return route;
    const missing = this.#missingUpstreamOf(name);
    if (missing) throw new UpstreamUnavailableError(missing, this.#missing.get(missing) as string);
    if (this.#grant !== GRANT_ALL) throw new AccessDeniedError(`Access denied: ${kind} ${quoted(name)}`);
    throw new NotFoundError(`Unknown ${kind} ${quoted(name)}`);
  }

  /**
   * The upstream left out of the catalog that a name belongs to: on a per-upstream path that upstream, on the
   * aggregate the one whose prefix the name has (the longest). Its names are known but unavailable while it is down.
   */
  #missingUpstreamOf(name: string): string | undefined {
    if (this.scope.kind === 'upstream') return this.#missing.has(this.scope.name) ? this.scope.name : undefined;
    let found: {upstream: string; length: number} | undefined;
    for (const upstream of this.#missing.keys()) {
      const prefix = `${this.#host.groupOf(upstream)?.prefix ?? this.#host.upstream(upstream)?.config.prefix}${this.#host.separator}`;
      if (name.startsWith(prefix) && prefix.length > (found?.length ?? 0)) found = {upstream, length: prefix.length};
    }
    return found?.upstream;
  }

  async #routeUri(uri: string): Promise<Route> {
    const route =
      this.scope.kind === 'upstream'
        ? {upstream: this.scope.name, target: uri}
        : (resolveResource(await this.#view(), uri) ?? resolveResource(await this.#view(true), uri));
    const grant = this.#grant;
    if (grant !== GRANT_ALL && !(route && grant.resource(route.upstream, route.target)))
      throw new AccessDeniedError(`Access denied: resource ${quoted(uri)}`);
    if (!route) throw new NotFoundError(`No upstream serves the resource ${quoted(uri)}`);
    return route;
  }

  async #complete(params: JsonObject, call: Call): Promise<JsonObject> {
    const ref = (params.ref ?? {}) as JsonObject;
    if (ref.type === 'ref/prompt') {
      const route = await this.#routeName('prompt', String(ref.name));
      return this.#forward(
        route,
        {method: 'completion/complete', params: {...params, ref: {...ref, name: route.target}}},
        call,
      );
    }
    const route = await this.#routeUri(String(ref.uri));
    return this.#forward(
      route,
      {method: 'completion/complete', params: {...params, ref: {...ref, uri: route.target}}},
      call,
    );
  }

  /**
   * Subscribes the session to updates of a resource, or ends that, as `resources/subscribe` and
   * `resources/unsubscribe` do (the stateless era's `subscriptions/listen` asks for it).
   * @throws AccessDeniedError or NotFoundError for a URI the session may not read or that no upstream serves
   */
  async subscribe(uri: string, subscribed: boolean): Promise<void> {
    const call: Call = {signal: new AbortController().signal, notify: () => Promise.resolve()};
    await this.#subscription(subscribed ? 'resources/subscribe' : 'resources/unsubscribe', uri, call);
  }

  async #subscription(method: string, uri: string, call: Call): Promise<JsonObject> {
    const subscriptions = (this.#subscriptions ??= new Map());
    const route = subscriptions.get(uri) ?? (await this.#memberRoute(await this.#routeUri(uri)));
    const shared = this.#host.upstream(route.upstream)?.config.session === 'shared';
    const subscribe = method === 'resources/subscribe';
    if (subscribe ? subscriptions.has(uri) : !subscriptions.has(uri)) return {};
    // A shared upstream is subscribed once for all sessions: only the first subscribe and the last unsubscribe go up.
    let forward = !shared;
    if (subscribe) {
      subscriptions.set(uri, route);
      if (shared) forward = this.#host.retainSubscription(route.upstream, route.target);
    } else {
      subscriptions.delete(uri);
      if (shared) forward = this.#host.releaseSubscription(route.upstream, route.target);
    }
    if (!forward) return {};
    return this.#forward(route, {method, params: {uri: route.target}}, call);
  }

  /**
   * Forwards a request along a route; `field` names the param that carries the route's target. A failed attempt is
   * tried again, with backoff, where the upstream's `retries` and `mayRetry` allow it.
   */
  async #forward(route: Route, message: Message, call: Call, field?: 'uri'): Promise<JsonObject> {
    const group = this.#host.group(route.upstream);
    if (group) return this.#forwardToGroup(group, route, message, call, field);
    const upstream = this.#host.upstream(route.upstream);
    if (!upstream) throw new NotFoundError(`Unknown upstream "${route.upstream}"`);
    const params = field ? {...message.params, [field]: route.target} : message.params;
    const started = performance.now();
    const tool = message.method === 'tools/call' ? route.target : undefined;
    let outcome: CallOutcome = 'error';
    let passedBytes: number | undefined;
    routedTo.set(call, route.upstream);
    const inFlight = (this.#inFlight ??= new Map());
    const calls = inFlight.get(route.upstream) ?? new Set<Call>();
    inFlight.set(route.upstream, calls.add(call));
    const settled = upstream.countCall();
    const facts: CallFacts = {method: message.method, started: false};
    const {retries} = upstream.config;
    try {
      const result = await withRetries(
        retries,
        (error) => mayRetry({...facts, started: startedCalls.has(call)}, error, retries),
        () => this.#attempt(upstream, {method: message.method, ...(params && {params})}, call, facts),
        {
          signal: call.signal,
          onRetry: ({attempt, delayMs, error}) => {
            const {name} = upstream;
            this.#host.log.info(
              {upstream: name, method: message.method, attempt, delayMs, err: describe(error)},
              'Retrying a call',
            );
            this.#host.observeRetry(name, message.method);
          },
        },
      );
      outcome = result.isError === true ? 'tool_error' : 'ok';
      passedBytes = resultBytesOf(result);
      return result;
    } catch (error) {
      if (call.signal.aborted) outcome = 'cancelled';
      throw error;
    } finally {
      calls.delete(call);
      // Dropped when idle: no call in flight holds these then.
      if (calls.size === 0 && inFlight.get(route.upstream) === calls) inFlight.delete(route.upstream);
      if (inFlight.size === 0 && this.#inFlight === inFlight) this.#inFlight = undefined;
      settled();
      const seconds = (performance.now() - started) / 1000;
      this.#host.observeCall({
        upstream: route.upstream,
        method: message.method,
        ...(tool && {tool}),
        outcome,
        seconds,
        ...(passedBytes !== undefined && {passedBytes}),
      });
    }
  }

  /** The members of a group to try for a request (`SessionGroups.order`), by the tool or prompt it names. */
  async #membersFor(group: UpstreamGroupConfig, message: Message): Promise<string[]> {
    const kind = message.method === 'tools/call' ? 'tools' : message.method === 'prompts/get' ? 'prompts' : undefined;
    if (!kind) return this.#members.order(group, {});
    const name = String(message.params?.name);
    const exposing = (await this.#view()).groups.get(group.name)?.[kind].get(name) ?? [];
    return this.#members.order(group, {exposing, ...(kind === 'tools' && {tool: name})});
  }

  /**
   * Forwards a request to a group: to its members in the order of `#membersFor`, on to the next while `mayFailOver`
   * allows it. A perSession member that answered becomes the session's sticky member.
   * @throws UpstreamUnavailableError naming the group when no member lists the name; else the last member's error
   */
  async #forwardToGroup(
    group: UpstreamGroupConfig,
    route: Route,
    message: Message,
    call: Call,
    field?: 'uri',
  ): Promise<JsonObject> {
    const members = await this.#membersFor(group, message);
    if (members.length === 0) throw new UpstreamUnavailableError(group.name, 'no member of the group lists it');
    let failure: unknown;
    for (const member of members) {
      sentCalls.delete(call);
      try {
        const result = await this.#forward({upstream: member, target: route.target}, message, call, field);
        this.#members.answered(group, member);
        return result;
      } catch (error) {
        const repeatable = mayRetry({method: message.method, started: startedCalls.has(call)}, error, {
          toolCalls: false,
        });
        if (call.signal.aborted || !mayFailOver(error, {sent: sentCalls.has(call), repeatable})) throw error;
        this.#members.forget(member);
        failure = error;
      }
    }
    throw failure;
  }

  /** A route to a group as a route to the member this session uses for it (subscriptions stay with one member). */
  async #memberRoute(route: Route): Promise<Route> {
    const group = this.#host.group(route.upstream);
    if (!group) return route;
    const [member] = await this.#membersFor(group, {method: 'resources/subscribe'});
    return {upstream: member ?? route.upstream, target: route.target};
  }

  /**
   * One attempt of a forwarded request, through the upstream's circuit breaker. For a `tools/call` it notes the tool's
   * annotations in `facts`, from the connection's catalog, for the retry decision.
   */
  async #attempt(upstream: Upstream, message: Message, call: Call, facts: CallFacts): Promise<JsonObject> {
    const token = call.progressToken;
    const aggregate = this.scope.kind === 'aggregate';
    try {
      return await upstream.circuit.run(async () => {
        const connection = await this.#upstreamConnections.get(upstream);
        // The state of a round the router did not hold: only a 2026-07-28 upstream, which gave it out, knows it.
        if (message.params?.requestState !== undefined && connection.era === 'legacy') throw unknownRequestState();
        if (message.method === 'tools/call') {
          const name = message.params?.name;
          facts.annotations ??= connection.catalog.tools.find((t) => t.name === name)?.annotations as JsonObject;
        }
        sentCalls.add(call);
        return this.#host.track(
          traceUpstreamCall(upstream.name, message, (traced) =>
            connection.forward(connection.era === 'modern' ? this.#enveloped(traced, call) : traced, {
              signal: call.signal,
              // A per-upstream path passes the upstream what the client sent: a progress token only when it asked.
              alwaysAskProgress: aggregate,
              // A 2026-07-28 client answers a 2026-07-28 upstream's input_required rounds itself, its keys and state kept.
              passInputRequired: this.peer.era === 'modern',
              // A result that reaches the client unchanged need not be parsed: not one of a task, or under caps.
              resultAsBytes:
                message.method === 'tools/call' &&
                message.params?.task === undefined &&
                this.peer.writesResultBytes &&
                !this.#host.capsResults(upstream.name, this),
              ...((token !== undefined || aggregate) && {
                onProgress: (progress: JsonObject) => {
                  startedCalls.add(call);
                  if (token === undefined) return;
                  void call
                    .notify({method: 'notifications/progress', params: {...progress, progressToken: token}})
                    .catch(() => undefined);
                },
              }),
            }),
          ),
        );
      });
    } catch (error) {
      if (error instanceof UpstreamUnavailableError && !(error instanceof CircuitOpenError)) {
        // The next call opens a new upstream session; if the upstream itself is gone, /readyz, the catalog and the
        // other sessions learn it now, not at the next health check.
        if (upstream.config.session === 'perSession') this.#upstreamConnections.drop(upstream.name);
        upstream.checkNow();
      }
      throw error;
    }
  }

  /**
   * A request to a 2026-07-28 upstream, with the capabilities of the client it is for in its `_meta` envelope, so
   * that the upstream asks that client only for what it supports (MCP 2026-07-28 basic/lifecycle): the upstream
   * connection itself may serve many clients.
   */
  #enveloped(message: Message, call: Call): Message {
    const params = message.params ?? {};
    const capabilities = call.clientCapabilities ?? this.peer.clientCapabilities();
    const meta = {...(params._meta as JsonObject | undefined), [CLIENT_CAPABILITIES_META_KEY]: capabilities};
    return {method: message.method, params: {...params, _meta: meta}};
  }

  /**
   * Stops using this session's own connections to upstreams that were removed or replaced: later calls open new ones;
   * the old ones close when the session's calls in flight to them end, or after `graceMs` milliseconds.
   */
  retireConnections(names: string[], graceMs: number): void {
    this.#upstreamConnections.retire(names, graceMs, (name) => this.inFlight(name) === 0);
  }

  async #openConnection(upstream: Upstream): Promise<UpstreamConnection> {
    const connection = await upstream.openSessionConnection(
      this.peer.clientInfo(),
      this.peer.clientCapabilities(),
      {
        onServerRequest: (request, signal) => this.serverRequest(upstream.name, request, signal),
        onNotification: (notification) => this.deliver(upstream.name, notification),
        onLost: (reason) => {
          this.#host.log.warn({upstream: upstream.name, session: this.#sessionTag(), reason}, 'Lost upstream session');
          this.#upstreamConnections.drop(upstream.name);
          this.#members.forget(upstream.name);
          this.upstreamsChanged();
        },
      },
      this,
    );
    if (this.#closed) {
      await connection.close();
      throw new UnroutableError('The session closed');
    }
    if (this.#logLevel) {
      await connection.forward({method: 'logging/setLevel', params: {level: this.#logLevel}}).catch(() => undefined);
    }
    return connection;
  }

  /** The session's catalog, built once and again after any change; `fresh` forces a rebuild. */
  #view(fresh = false): Promise<AggregateCatalog> {
    if (fresh || !this.#catalog) {
      const building = this.#buildCatalog();
      this.#catalog = building;
      building.catch(() => this.#catalog === building && (this.#catalog = undefined));
    }
    return this.#catalog;
  }

  async #buildCatalog(): Promise<AggregateCatalog> {
    const grant = this.#grant;
    const granted = this.#host.upstreams(this.scope).filter((u) => grant.upstream(u.name));
    const missing = new Map<string, string>();
    for (const upstream of granted) {
      if (upstream.state !== 'ready') missing.set(upstream.name, upstream.status.error ?? upstream.state);
    }
    const upstreams = granted.filter((u) => u.state === 'ready');
    const parts = await Promise.all(
      upstreams.map(async (upstream): Promise<CatalogPart | undefined> => {
        try {
          const connection = await this.#upstreamConnections.get(upstream);
          const catalog = this.#host.catalogs.filtered(upstream.name, connection.catalog, grant);
          const group = this.scope.kind === 'aggregate' ? this.#host.groupOf(upstream.name) : undefined;
          return {
            upstream: upstream.name,
            prefix: upstream.config.prefix,
            catalog,
            ...(group && {group: {name: group.name, prefix: group.prefix}}),
          };
        } catch (error) {
          this.#host.log.warn({upstream: upstream.name, err: describe(error)}, 'Left an upstream out of the catalog');
          missing.set(upstream.name, error instanceof UpstreamUnavailableError ? error.reason : describe(error));
          upstream.checkNow();
          return undefined;
        }
      }),
    );
    this.#missing = missing;
    const naming =
      this.scope.kind === 'aggregate'
        ? ({kind: 'prefixed', separator: this.#host.separator} as const)
        : ({kind: 'unchanged'} as const);
    return this.#host.catalogs.aggregate(
      parts.filter((p) => p !== undefined),
      naming,
    );
  }

  /** An upstream came, went or changed its lists: rebuild the catalog and tell the client (`list_changed`). */
  upstreamsChanged(methods: string[] = LIST_CHANGED): void {
    this.#catalog = undefined;
    for (const method of methods) this.#send({method});
  }

  /**
   * Delivers a notification from one of the session's upstreams: `list_changed` (after the catalog refresh),
   * logging messages at or above the session's level, and `resources/updated` for subscribed URIs.
   */
  deliver(upstream: string, notification: Message): void {
    const {method, params = {}} = notification;
    if (LIST_CHANGED.includes(method)) return this.upstreamsChanged([method]);
    if (method === 'notifications/message') {
      const level = LEVELS.indexOf(params.level as LoggingLevel);
      if (this.#logLevel && level < LEVELS.indexOf(this.#logLevel)) return;
      const logger =
        this.scope.kind === 'aggregate'
          ? {logger: params.logger ? `${upstream}/${String(params.logger)}` : upstream}
          : {};
      return this.#send({method, params: {...params, ...logger}});
    }
    if (method === 'notifications/tasks/status') {
      const id = this.#taskIds.idOf(upstream, String(params.taskId));
      if (id !== undefined) this.#send({method, params: {...params, taskId: id}});
      return;
    }
    if (method === 'notifications/resources/updated') {
      for (const [uri, route] of this.#subscriptions ?? []) {
        if (route.upstream === upstream && route.target === params.uri) this.#send({method, params: {...params, uri}});
      }
      return;
    }
    if (this.#host.upstream(upstream)?.config.session === 'perSession') this.#send(notification);
  }

  /**
   * Sends a server-to-client request (sampling, elicitation, roots) from an upstream to this session's client. It goes
   * with the session's one call in flight to that upstream, when there is exactly one, so that on Streamable HTTP it
   * travels on that call's response stream (MCP 2025-11-25 basic/transports); otherwise on the session's stream.
   * A request the session's client did not declare the capability for is refused with -32601, naming it.
   */
  serverRequest(upstream: string, request: Message, signal: AbortSignal): Promise<JsonObject> {
    const calls = this.#inFlight?.get(upstream);
    for (const call of calls ?? []) startedCalls.add(call);
    const only = calls?.size === 1 ? [...calls][0] : undefined;
    const outgoing = {method: request.method, params: request.params ?? {}};
    // A 2026-07-28 client is asked within its call (input_required rounds), which checks what it declared.
    if (this.peer.era === 'modern')
      return only?.request ? only.request(outgoing, signal) : Promise.reject(noServerRequests(request.method));
    const needed = CLIENT_CAPABILITY_OF[request.method as keyof typeof CLIENT_CAPABILITY_OF];
    if (needed && this.peer.clientCapabilities()[needed] === undefined) {
      return Promise.reject(
        new JsonRpcFailure(
          JsonRpcCode.MethodNotFound,
          `The client of this session does not support ${needed} (${quoted(request.method)})`,
        ),
      );
    }
    return only?.request ? only.request(outgoing, signal) : this.peer.request(outgoing, signal);
  }

  #send(notification: Message): void {
    if (!this.#closed) this.peer.notify(notification);
  }

  /** Closes the session: its own upstream connections, its shared subscriptions, its transport. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const route of this.#subscriptions?.values() ?? []) {
      if (
        this.#host.upstream(route.upstream)?.config.session === 'shared' &&
        this.#host.releaseSubscription(route.upstream, route.target)
      ) {
        this.#host
          .upstream(route.upstream)
          ?.connection?.forward({method: 'resources/unsubscribe', params: {uri: route.target}})
          .catch(() => undefined);
      }
    }
    this.#subscriptions = undefined;
    this.#host.results.forget(this);
    await this.#connections?.close();
    await this.peer.close().catch(() => undefined);
    this.onclose?.();
  }
}
