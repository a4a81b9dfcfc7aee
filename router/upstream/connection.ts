import {
  Client as ModernClient,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
} from '@modelcontextprotocol/client';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  McpError,
  type ClientCapabilities,
  type Implementation,
  type JSONRPCMessage,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import {z} from 'zod';
import type {UpstreamConfig} from '../config/schema.js';
import {EMPTY_CATALOG, type UpstreamCatalog} from '../catalog/aggregate.js';
import {toolFilter} from '../catalog/filter.js';
import {
  JsonRpcCode,
  JsonRpcFailure,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  UpstreamUnreachableError,
} from '../errors.js';
import type {Logger} from '../log.js';
import {redact, secretsOf} from './redact.js';
import {callTimeouts} from './timeouts.js';
import {createClientTransport, TappedTransport} from './transport.js';
import {bytesResult} from '../catalog/serialized.js';

/** Any JSON-RPC result, kept whole: the router passes results through without dropping unknown fields. */
const AnyResult = z.looseObject({});
export type JsonObject = Record<string, unknown>;

/** A request or notification as it travels: method and raw params. */
export interface Message {
  method: string;
  params?: JsonObject;
}

export interface ConnectionOptions {
  config: UpstreamConfig;
  /** The upstream's logger (its lines already carry `upstream`). */
  log: Logger;
  clientInfo: Implementation;
  /** Declared to the upstream; for perSession connections, the downstream client's own capabilities. */
  capabilities: ClientCapabilities;
  /** Server-to-client requests (sampling, elicitation, roots); resolves with the result or throws a JSON-RPC error. */
  onServerRequest: (request: Message, signal: AbortSignal) => Promise<JsonObject>;
  /** Notifications other than progress, after the catalog has been refreshed for `list_changed` ones. */
  onNotification: (notification: Message) => void;
  /** The connection closed without `close()` being called (the process died, the stream ended). */
  onLost: (reason: string) => void;
  /**
   * Largest message read from a stdio or Streamable HTTP upstream, in bytes (`router.limits.maxUpstreamMessageBytes`);
   * a larger one fails only its own call. Default 64 MiB.
   */
  maxMessageBytes?: number;
  /** The transport of the built-in upstream (`transport: builtin`): one end of an in-memory pair. */
  builtin?: () => Transport;
}

export interface ForwardOptions {
  /** Aborts the call; the upstream gets `notifications/cancelled` (MCP 2025-11-25 basic/utilities/cancellation). */
  signal?: AbortSignal;
  /** Receives every progress notification of the call, the last one included, before the result. */
  onProgress?: (params: JsonObject) => void;
  /**
   * Whether the router asks the upstream for progress when `onProgress` is absent (default true: its idle timeout then
   * restarts on progress). False passes the upstream no token unless the client asked for progress.
   */
  alwaysAskProgress?: boolean;
  /**
   * Return a 2026-07-28 upstream's `input_required` result as it is, for a 2026-07-28 client to answer and retry
   * (default false: the SDK fulfils it through `onServerRequest` and retries the call itself).
   */
  passInputRequired?: boolean;
  /**
   * Take a large result (64 KiB or more) as the bytes the upstream sent, unparsed (`bytesResult`), when the
   * transport can (stdio, Streamable HTTP) and it is a plain success response; else it is parsed as usual. For a
   * `tools/call` whose result goes to the client unchanged, over a transport that writes `messageJson`.
   */
  resultAsBytes?: boolean;
}

/** The server-to-client requests an upstream may make, and the client capability each needs (MCP 2025-11-25). */
export const CLIENT_CAPABILITY_OF = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
} as const satisfies Record<string, keyof ClientCapabilities>;

/**
 * What a connection needs of an SDK client: the `Client` of the 1.x line and of the 2.x line alike (the 2.x one
 * negotiates the era; see `UpstreamConnection`).
 */
interface McpClient {
  connect(transport: Transport, options?: {timeout?: number}): Promise<void>;
  request(
    request: Message,
    schema: typeof AnyResult,
    /** `allowInputRequired`: the 2.x `Client` returns an `input_required` result rather than fulfilling it. */
    options: {signal: AbortSignal; timeout: number; allowInputRequired?: boolean},
  ): Promise<JsonObject>;
  notification(notification: Message): Promise<void>;
  ping(options: {timeout: number}): Promise<unknown>;
  discover?(options: {timeout: number}): Promise<unknown>;
  getServerCapabilities(): ServerCapabilities | undefined;
  getServerVersion(): Implementation | undefined;
  getInstructions(): string | undefined;
  getNegotiatedProtocolVersion?(): string | undefined;
  close(): Promise<void>;
  readonly transport: Transport | undefined;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  fallbackNotificationHandler?: (notification: Message) => Promise<void>;
}

/** The era of MCP an upstream speaks with the router: `modern` is 2026-07-28, `legacy` 2024-11-05 to 2025-11-25. */
export type Era = 'modern' | 'legacy';

const LIST_METHODS = {
  tools: ['tools/list', 'tools'],
  prompts: ['prompts/list', 'prompts'],
  resources: ['resources/list', 'resources'],
  resourceTemplates: ['resources/templates/list', 'resourceTemplates'],
} as const;

/**
 * One MCP client session with one upstream: connects with the upstream's connect timeout, lists its catalog
 * (following `nextCursor` to the end), forwards requests with the call timeouts, and reports notifications.
 *
 * A Streamable HTTP upstream is reached with the SDK 2.x `Client` in `auto` mode: it asks `server/discover` first and
 * speaks 2026-07-28 with a server that answers it, 2025 otherwise (MCP 2026-07-28 basic/lifecycle). With a 2026-07-28
 * upstream, its `input_required` results are fulfilled through the same server-request handlers as a 2025 server's
 * requests (the SDK retries the call with the answers), and its list changes come on a `subscriptions/listen` stream.
 * stdio and SSE upstreams are reached with the SDK 1.x `Client`, as 2025-era servers.
 */
export class UpstreamConnection {
  readonly #options: ConnectionOptions;
  readonly #client: McpClient;
  readonly #transport: TappedTransport;
  /** The upstream's credentials and env values, kept out of every error text and log line (see `redact`). */
  readonly #secrets: string[];
  readonly #progress = new Map<string, (params: JsonObject) => void>();
  #nextToken = 0;
  #catalog: UpstreamCatalog = EMPTY_CATALOG;
  #listExtras: Partial<Record<keyof UpstreamCatalog, JsonObject>> = {};
  #closing = false;

  private constructor(options: ConnectionOptions) {
    this.#options = options;
    const {config} = options;
    this.#secrets = secretsOf(config);
    this.#client = config.transport === 'streamableHttp' ? modernClient(options) : legacyClient(options);
    const transport = createClientTransport(config, options.log, {
      ...(options.maxMessageBytes !== undefined && {maxMessageBytes: options.maxMessageBytes}),
      ...(options.builtin && {builtin: options.builtin}),
    });
    this.#transport = new TappedTransport(transport, (message) => this.#tap(message));
    this.#client.fallbackNotificationHandler = (notification) => this.#onNotification(notification);
    this.#client.onclose = () => {
      if (!this.#closing) options.onLost('the connection closed');
    };
    this.#client.onerror = (error) => options.log.debug({err: this.#describe(error)}, 'Upstream reported');
  }

  /**
   * Connects and lists the catalog.
   * @throws UpstreamUnavailableError naming the upstream when it does not start or answer within connectSeconds; its
   *   message never carries the upstream's credentials (URL userinfo, header values, env values)
   */
  static async open(options: ConnectionOptions): Promise<UpstreamConnection> {
    const connection = new UpstreamConnection(options);
    const {name, timeouts} = options.config;
    const deadline = timeouts.connectSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          await connection.#client.connect(connection.#transport, {timeout: deadline});
          await connection.refreshCatalog();
          await connection.#listen();
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeouts.connectSeconds} s`)), deadline);
        }),
      ]);
    } catch (error) {
      await connection.close();
      throw new UpstreamUnavailableError(name, `failed to connect: ${connection.#describe(error)}`);
    } finally {
      clearTimeout(timer);
    }
    return connection;
  }

  get name(): string {
    return this.#options.config.name;
  }

  /** The era the upstream speaks with the router, as negotiated on connecting. */
  get era(): Era {
    return this.#client.getNegotiatedProtocolVersion?.() === MODERN_VERSION ? 'modern' : 'legacy';
  }

  /** The protocol version negotiated on connecting (`2026-07-28`, `2025-11-25`, ...). */
  get protocolVersion(): string | undefined {
    return this.#client.getNegotiatedProtocolVersion?.() ?? this.#transport.protocolVersion;
  }

  /**
   * A 2026-07-28 upstream sends list changes only on a `subscriptions/listen` stream: open one for the kinds whose
   * lists it says may change; they reach `#onNotification` as a 2025 server's unsolicited ones do.
   */
  async #listen(): Promise<void> {
    if (this.era !== 'modern') return;
    const {tools, prompts, resources} = this.capabilities;
    const filter = {
      ...(tools?.listChanged && {toolsListChanged: true}),
      ...(prompts?.listChanged && {promptsListChanged: true}),
      ...(resources?.listChanged && {resourcesListChanged: true}),
    };
    if (Object.keys(filter).length > 0) await (this.#client as unknown as ModernClient).listen(filter);
  }

  get catalog(): UpstreamCatalog {
    return this.#catalog;
  }

  /**
   * What each list result carried besides its entries and `nextCursor` (`_meta`, fields of later spec revisions), from
   * its first page, so that a per-upstream path answers lists as the upstream does.
   */
  get listExtras(): Partial<Record<keyof UpstreamCatalog, JsonObject>> {
    return this.#listExtras;
  }

  get capabilities(): ServerCapabilities {
    return this.#client.getServerCapabilities() ?? {};
  }

  get serverInfo(): Implementation | undefined {
    return this.#client.getServerVersion();
  }

  get instructions(): string | undefined {
    return this.#client.getInstructions();
  }

  /** Lists every kind the upstream declares, following pagination; tools pass the upstream's tool filter. */
  async refreshCatalog(kinds: (keyof UpstreamCatalog)[] = ['tools', 'prompts', 'resources', 'resourceTemplates']) {
    const capabilities = this.capabilities;
    const keep = toolFilter(this.#options.config.tools);
    await Promise.all(
      kinds.map(async (kind) => {
        const declared = kind === 'resourceTemplates' ? capabilities.resources : capabilities[kind];
        let entries = declared ? await this.#listAll(kind) : [];
        if (kind === 'tools') entries = entries.filter((tool) => keep(String(tool.name)));
        // Each kind is written on its own, so refreshes that overlap (a list_changed during the first listing)
        // never put back an older list of another kind.
        this.#catalog = {...this.#catalog, [kind]: entries};
      }),
    );
  }

  /**
   * Every page of one list. An upstream that declares the capability but answers -32601 (Method not found) to the
   * list, as some do for `resources/templates/list`, has none of that kind: an empty list, not a failed upstream.
   */
  async #listAll(kind: keyof UpstreamCatalog): Promise<JsonObject[]> {
    const [method, field] = LIST_METHODS[kind];
    const entries: JsonObject[] = [];
    let cursor: string | undefined;
    const seen = new Set<string>();
    do {
      const first = cursor === undefined;
      const page = await this.forward({method, params: first ? {} : {cursor}}).catch((error: unknown) => {
        if (error instanceof UpstreamError && error.rpcCode === JsonRpcCode.MethodNotFound) return {} as JsonObject;
        throw error;
      });
      entries.push(...((page[field] as JsonObject[] | undefined) ?? []));
      if (first) {
        const {[field]: _entries, nextCursor: _next, ...extras} = page;
        this.#listExtras = {...this.#listExtras, [kind]: extras};
      }
      cursor = typeof page.nextCursor === 'string' ? page.nextCursor : undefined;
      if (cursor !== undefined && seen.has(cursor)) break; // an upstream that repeats a cursor would loop forever
      if (cursor !== undefined) seen.add(cursor);
    } while (cursor !== undefined);
    return entries;
  }

  /**
   * Forwards one request and resolves with the upstream's result, unchanged.
   *
   * The call carries a progress token of the router's (unless `alwaysAskProgress` is false and the client asked for
   * none), so the idle timeout (`callSeconds`) restarts on every progress notification, up to `maxCallSeconds` in all
   * (MCP 2025-11-25 basic/utilities/progress). A `tools/call` of a tool in `timeouts.tools` uses that tool's values.
   * A response over `maxMessageBytes` fails this call alone, with an UpstreamError (-32603) that names the limit:
   * `Upstream "fs": sent a message of 12582912 bytes, over maxUpstreamMessageBytes (1048576)`.
   * @throws UpstreamError (the upstream's JSON-RPC error, naming it), UpstreamTimeoutError, UpstreamUnavailableError;
   *   their messages never carry the upstream's credentials
   */
  async forward(message: Message, options: ForwardOptions = {}): Promise<JsonObject> {
    const {name} = this.#options.config;
    const timeouts = callTimeouts(this.#options.config.timeouts, message.method, message.params?.name);
    const controller = new AbortController();
    const abort = (reason: unknown) => controller.abort(reason);
    const onAbort = () => abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, {once: true});
    if (options.signal?.aborted) onAbort();
    let idle: NodeJS.Timeout;
    const restartIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => abort(new UpstreamTimeoutError(name, message.method, timeouts.callSeconds, 'idle')),
        timeouts.callSeconds * 1000,
      );
    };
    restartIdle();
    const total = setTimeout(
      () => abort(new UpstreamTimeoutError(name, message.method, timeouts.maxCallSeconds, 'total')),
      timeouts.maxCallSeconds * 1000,
    );
    const asks = options.onProgress !== undefined || options.alwaysAskProgress !== false;
    const token = `${name}:${++this.#nextToken}`;
    if (asks) {
      this.#progress.set(token, (params) => {
        restartIdle();
        options.onProgress?.(params);
      });
    }
    // The client's own token never goes up: progress comes back under the router's token, mapped to the call.
    const {_meta: given, ...rest} = message.params ?? {};
    const {progressToken: _client, ...meta} = (given as JsonObject | undefined) ?? {};
    if (asks) meta.progressToken = token;
    const params = Object.keys(meta).length > 0 ? {...rest, _meta: meta} : rest;
    const resultBytes = options.resultAsBytes ? this.#transport.resultBytes : undefined;
    const slot = resultBytes?.expect(params);
    try {
      const result = await this.#client.request({method: message.method, params} as never, AnyResult, {
        signal: controller.signal,
        timeout: timeouts.maxCallSeconds * 1000 + 1000,
        ...(options.passInputRequired && {allowInputRequired: true}),
      });
      const passed = slot?.response;
      return passed ? bytesResult(passed.result, passed) : result;
    } catch (error) {
      // The SDK turns an abort into an McpError; a timeout of the router's own stays what it is.
      const reason: unknown = controller.signal.reason;
      throw reason instanceof UpstreamTimeoutError ? reason : this.#upstreamError(error);
    } finally {
      if (slot) resultBytes?.forget(params, slot);
      clearTimeout(idle!);
      clearTimeout(total);
      this.#progress.delete(token);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  #upstreamError(error: unknown): Error {
    if (error instanceof UpstreamTimeoutError || error instanceof UpstreamUnavailableError) return error;
    // The router's own refusal of a 2026-07-28 upstream's input request (`onServerRequest`), which the SDK 2.x Client
    // throws as the call's error: the client's answer, not the upstream failing, so it must not open the circuit.
    if (error instanceof JsonRpcFailure) return error;
    const closed =
      (error instanceof McpError && error.code === JsonRpcCode.ConnectionClosed) ||
      (error instanceof SdkError && error.code === SdkErrorCode.ConnectionClosed);
    if (closed && this.#closing === false && !this.isOpen) {
      return new UpstreamUnavailableError(this.name, 'the connection closed during the call');
    }
    // A 2026-07-28 server answers some JSON-RPC errors with an HTTP status (404 for an unknown method): the SDK 2.x
    // Client throws those as HTTP errors, with the JSON-RPC error in the body. From a 2025 server, an HTTP error means
    // that its session is gone (404, or 400 from servers that say so): the upstream is unavailable on this session.
    const answered =
      this.era === 'modern' && error instanceof SdkHttpError ? jsonRpcErrorIn(error.data?.text) : undefined;
    if (answered) {
      return new UpstreamError(this.name, answered.code, redact(answered.message, this.#secrets), answered.data);
    }
    if (error instanceof McpError || error instanceof ProtocolError) {
      const reason = error.message.replace(/^MCP error -?\d+: /, '');
      return new UpstreamError(this.name, error.code, redact(reason, this.#secrets), error.data);
    }
    if (neverConnected(error)) return new UpstreamUnreachableError(this.name, this.#describe(error));
    return new UpstreamUnavailableError(this.name, this.#describe(error));
  }

  /** `describe(error)` with the upstream's secrets redacted. */
  #describe(error: unknown): string {
    return redact(describe(error), this.#secrets);
  }

  /**
   * Pings the upstream (MCP 2025-11-25 basic/utilities/ping).
   * @returns false when it did not answer within `timeoutMs` or the transport failed; true otherwise
   */
  async ping(timeoutMs: number): Promise<boolean> {
    try {
      // 2026-07-28 has no ping: `server/discover` is the cheapest request a server of that era must answer.
      if (this.era === 'modern') await this.#client.discover?.({timeout: timeoutMs});
      else await this.#client.ping({timeout: timeoutMs});
      return true;
    } catch (error) {
      // An error answer is an answer: the upstream is there.
      return (
        (error instanceof McpError &&
          error.code !== JsonRpcCode.RequestTimeout &&
          error.code !== JsonRpcCode.ConnectionClosed) ||
        error instanceof ProtocolError
      );
    }
  }

  get isOpen(): boolean {
    return this.#client.transport !== undefined;
  }

  /** Sends a notification to the upstream (e.g. `notifications/roots/list_changed`). */
  async notify(notification: Message): Promise<void> {
    await this.#client.notification(notification as never);
  }

  /** Closes the session: DELETE for Streamable HTTP (MCP 2025-11-25 basic/transports), then the transport. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const inner = this.#transport.inner as Transport & {terminateSession?: () => Promise<void>};
    if (inner.terminateSession && inner.sessionId !== undefined) await inner.terminateSession().catch(() => undefined);
    await this.#client.close().catch(() => undefined);
  }

  #tap(message: JSONRPCMessage): boolean {
    if (!('method' in message) || 'id' in message || message.method !== 'notifications/progress') return false;
    const params = (message.params ?? {}) as JsonObject;
    const handler = this.#progress.get(String(params.progressToken));
    if (!handler) return true; // progress for a call that already ended: nothing can use it
    handler(params);
    return true;
  }

  async #onNotification(notification: {method: string; params?: JsonObject}): Promise<void> {
    const kinds: Record<string, (keyof UpstreamCatalog)[]> = {
      'notifications/tools/list_changed': ['tools'],
      'notifications/prompts/list_changed': ['prompts'],
      'notifications/resources/list_changed': ['resources', 'resourceTemplates'],
    };
    const refresh = kinds[notification.method];
    if (refresh) {
      await this.refreshCatalog(refresh).catch((error) =>
        this.#options.log.warn({err: this.#describe(error)}, 'Failed to refresh the catalog'),
      );
    }
    this.#options.onNotification({
      method: notification.method,
      ...(notification.params && {params: notification.params}),
    });
  }
}

/** The JSON-RPC error of an HTTP error body, when the body is a JSON-RPC error response (pure). */
export function jsonRpcErrorIn(body: unknown): {code: number; message: string; data?: unknown} | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const {error} = JSON.parse(body) as {error?: {code?: unknown; message?: unknown; data?: unknown}};
    if (!error || typeof error.code !== 'number' || typeof error.message !== 'string') return undefined;
    return {code: error.code, message: error.message, ...(error.data !== undefined && {data: error.data})};
  } catch {
    return undefined;
  }
}

/** The protocol revision of the stateless era. */
const MODERN_VERSION = '2026-07-28';

/** A 1.x `Client`: 2025-era servers; their server-to-client requests go to `onServerRequest`. */
function legacyClient(options: ConnectionOptions): McpClient {
  const client = new Client(options.clientInfo, {capabilities: options.capabilities});
  client.fallbackRequestHandler = (request, extra) =>
    options.onServerRequest({method: request.method, ...(request.params && {params: request.params})}, extra.signal);
  return client as unknown as McpClient;
}

/**
 * A 2.x `Client` in `auto` mode: either era. Its server-to-client requests, and the embedded requests of a 2026-07-28
 * server's `input_required` results, go to `onServerRequest`.
 */
function modernClient(options: ConnectionOptions): McpClient {
  const client = new ModernClient(options.clientInfo, {
    capabilities: options.capabilities as never,
    versionNegotiation: {mode: 'auto'},
  });
  // The SDK refuses a handler for a capability the client did not declare.
  const methods = Object.keys(CLIENT_CAPABILITY_OF) as (keyof typeof CLIENT_CAPABILITY_OF)[];
  for (const method of methods.filter((m) => options.capabilities[CLIENT_CAPABILITY_OF[m]] !== undefined)) {
    client.setRequestHandler(
      method,
      (request, ctx) =>
        options.onServerRequest({method, params: (request.params ?? {}) as JsonObject}, ctx.mcpReq.signal) as never,
    );
  }
  return client as unknown as McpClient;
}

/** A short, safe description of an error for logs and messages. */
/** Socket errors that mean no connection was made, so no byte of a request went out (Node `error.code`). */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** True when an error, or one of its causes, says the connection was never made (fetch's `cause` chain). */
function neverConnected(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (NOT_CONNECTED.has((cause as NodeJS.ErrnoException).code ?? '')) return true;
  }
  return false;
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
