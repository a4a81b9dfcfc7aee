import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  InitializeRequestSchema,
  LATEST_PROTOCOL_VERSION,
  SetLevelRequestSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type ClientCapabilities,
  type Implementation,
  type JSONRPCMessage,
  type RequestId,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import {JsonRpcCode, JsonRpcFailure} from '../errors.js';
import type {JsonObject, Message} from '../upstream/connection.js';
import type {Call, DownstreamPeer, DownstreamSession, ServerIdentity} from './downstream.js';

/** Milliseconds a server-to-client request waits for its answer (the SDK's `DEFAULT_REQUEST_TIMEOUT_MSEC`). */
export const CLIENT_REQUEST_TIMEOUT_MS = 60_000;

/** A server-to-client request waiting for the client's answer. */
interface PendingRequest {
  settle(answer: {result: JsonObject} | {error: Error}): void;
}

/**
 * The client end of a 2025-era session (MCP 2024-11-05 to 2025-11-25: `initialize`, then a session on one transport,
 * SSE, Streamable HTTP with `Mcp-Session-Id`, stdio or in memory): the JSON-RPC server side of MCP's base protocol,
 * as the SDK 1.x `Server` keeps it (MCP 2025-11-25 basic, lifecycle and utilities), without its per-session tables
 * and handlers, its validation of each message (the transports parse every message as `JSONRPCMessageSchema`) or
 * its task machinery (the router serves tasks itself, `tasks.ts`):
 *
 * - `initialize` is answered with the version the client asked for when supported, else the latest, and the router's
 *   identity; `ping` with `{}`; `logging/setLevel` goes to the session's `setLogLevel`. Those three are checked against
 *   the SDK's schemas (-32602 naming what is wrong). Every other request goes to the session's `handle`, unchecked.
 * - A request's result or error is sent as the SDK sends it (`{result, jsonrpc, id}`; an error's `code` when it is an
 *   integer, else -32603); a request cancelled by `notifications/cancelled` aborts its `Call.signal` and gets no answer.
 * - `notifications/roots/list_changed` goes to the session's `rootsChanged`; other notifications are ignored.
 * - A server-to-client request (`request`, `Call.request`) gets a numeric id from 0, fails with -32001 after 60 s or
 *   when its signal aborts (the client is sent `notifications/cancelled`), and with -32000 when the transport closes.
 * - A notification the session's capabilities do not cover is dropped, as the SDK refuses it (`mayNotify`).
 * - A notification of the session (`notify`: a shared upstream's log message, a list change) before the client has been
 *   sent its `initialize` result is dropped: initialization is the first interaction (MCP 2025-11-25 basic/lifecycle),
 *   and a client that has not initialized has asked for nothing yet.
 * - When the transport closes, every request in flight is aborted and the session is closed.
 */
export class LegacyPeer implements DownstreamPeer {
  readonly era = 'legacy';
  readonly #session: DownstreamSession<LegacyPeer>;
  readonly #identity: ServerIdentity;
  #transport: Transport | undefined;
  #clientInfo: Implementation | undefined;
  #clientCapabilities: ClientCapabilities | undefined;
  /** The requests being answered, to cancel by id; made with the first request (the client's `initialize`). */
  #inFlight: Map<RequestId, AbortController> | undefined;
  /** Questions to the client awaiting its answer; made with the first, which most sessions never ask. */
  #pending: Map<number, PendingRequest> | undefined;
  #nextRequestId = 0;
  /** Set as the `initialize` result is sent: from then on `notify` sends. */
  #initialized = false;

  /** `identity`: what `initialize` answers, `logging` among its capabilities (`legacyPeer` adds it). */
  constructor(session: DownstreamSession<LegacyPeer>, identity: ServerIdentity) {
    this.#session = session;
    this.#identity = identity;
  }

  /**
   * Binds the session to its transport and starts it; the transport's first message is the client's `initialize`.
   * Handlers the transport already has (the app's, which forgets the session on close) run first, as the SDK's do.
   */
  async connect(transport: Transport): Promise<void> {
    this.#transport = transport;
    const {onmessage, onclose} = transport;
    transport.onmessage = (message, extra) => {
      onmessage?.(message, extra);
      this.#receive(message);
    };
    transport.onclose = () => {
      onclose?.();
      this.#closed();
    };
    await transport.start();
  }

  get id(): string | undefined {
    return this.#transport?.sessionId;
  }

  /** The router's SSE, Streamable HTTP and stdio transports write a result's own JSON; the in-memory one does not. */
  get writesResultBytes(): boolean {
    return (this.#transport as {writesResultBytes?: boolean} | undefined)?.writesResultBytes === true;
  }

  clientInfo(): Implementation | undefined {
    return this.#clientInfo;
  }

  clientCapabilities(): ClientCapabilities {
    return this.#clientCapabilities ?? {};
  }

  notify(notification: Message): void {
    if (this.#initialized) void this.#notify(notification);
  }

  request(request: Message, signal: AbortSignal): Promise<JsonObject> {
    return this.#request(request, signal);
  }

  close(): Promise<void> {
    return this.#transport?.close() ?? Promise.resolve();
  }

  #receive(message: JSONRPCMessage): void {
    // The transports parsed the message as one of JSON-RPC's four shapes: its keys say which.
    if ('method' in message) {
      if ('id' in message) queueMicrotask(() => void this.#answer(message.id, message.method, message.params));
      else queueMicrotask(() => this.#notified(message.method, message.params));
    } else if ('result' in message) {
      this.#pending?.get(Number(message.id))?.settle({result: message.result as JsonObject});
    } else if ('error' in message) {
      const {code, message: text, data} = message.error;
      this.#pending?.get(Number(message.id))?.settle({error: new JsonRpcFailure(code, text, data)});
    }
  }

  /** Runs one client request and sends its answer, unless it was cancelled meanwhile. */
  async #answer(id: RequestId, method: string, params: JsonObject | undefined): Promise<void> {
    const transport = this.#transport;
    const controller = new AbortController();
    (this.#inFlight ??= new Map()).set(id, controller);
    let answer: JSONRPCMessage;
    try {
      const result = await this.#dispatch(method, params ?? {}, this.#call(id, params, controller.signal));
      answer = {result, jsonrpc: '2.0', id} as JSONRPCMessage;
    } catch (error) {
      answer = {jsonrpc: '2.0', id, error: errorOf(error)};
    } finally {
      if (this.#inFlight?.get(id) === controller) this.#inFlight.delete(id);
    }
    if (controller.signal.aborted) return;
    if (method === 'initialize' && 'result' in answer) this.#initialized = true;
    await transport?.send(answer).catch(() => undefined);
  }

  async #dispatch(method: string, params: JsonObject, call: Call): Promise<JsonObject> {
    switch (method) {
      case 'initialize':
        return this.#initialize(params);
      case 'ping':
        return {};
      case 'logging/setLevel': {
        const parsed = SetLevelRequestSchema.safeParse({method, params});
        if (!parsed.success) throw invalidParams(method, parsed.error.issues);
        await this.#session.setLogLevel(parsed.data.params.level);
        return {};
      }
      default:
        return this.#session.handle({method, params}, call);
    }
  }

  /** MCP 2025-11-25 basic/lifecycle: the version the client asked for when supported, else the latest. */
  #initialize(params: JsonObject): JsonObject {
    const parsed = InitializeRequestSchema.safeParse({method: 'initialize', params});
    if (!parsed.success) throw invalidParams('initialize', parsed.error.issues);
    const {protocolVersion: requested, capabilities, clientInfo} = parsed.data.params;
    this.#clientCapabilities = capabilities;
    this.#clientInfo = clientInfo;
    const {serverInfo, capabilities: serverCapabilities, instructions} = this.#identity;
    return {
      protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION,
      capabilities: serverCapabilities,
      serverInfo,
      ...(instructions && {instructions}),
    } as JsonObject;
  }

  /** A request as the router's `Call`: related messages travel on the request's own response stream. */
  #call(id: RequestId, params: JsonObject | undefined, signal: AbortSignal): Call {
    const progressToken = (params?._meta as {progressToken?: string | number} | undefined)?.progressToken;
    return {
      signal,
      ...(progressToken !== undefined && {progressToken}),
      notify: async (notification) => {
        if (!signal.aborted) await this.#notify(notification, id);
      },
      request: (request, requestSignal) => {
        if (signal.aborted)
          return Promise.reject(new JsonRpcFailure(JsonRpcCode.ConnectionClosed, 'Request was cancelled'));
        return this.#request(request, requestSignal, id);
      },
    };
  }

  #notified(method: string, params: JsonObject | undefined): void {
    if (method === 'notifications/cancelled') {
      const requestId = params?.requestId as RequestId | undefined;
      if (requestId !== undefined) this.#inFlight?.get(requestId)?.abort(params?.reason);
    } else if (method === 'notifications/roots/list_changed') {
      this.#session.rootsChanged().catch(() => undefined);
    }
  }

  async #notify(notification: Message, relatedRequestId?: RequestId): Promise<void> {
    const transport = this.#transport;
    if (!transport || !mayNotify(notification.method, this.#identity.capabilities, this.clientCapabilities())) return;
    const message = {...notification, jsonrpc: '2.0'} as JSONRPCMessage;
    await transport.send(message, relatedRequestId === undefined ? undefined : {relatedRequestId}).catch(() => {});
  }

  /**
   * Sends a server-to-client request and waits for the client's result.
   * @throws JsonRpcFailure: the client's error; -32001 after `CLIENT_REQUEST_TIMEOUT_MS` or when `signal` aborts;
   *   -32000 when the transport closes first; -32603 for a result that is not an object
   */
  #request(request: Message, signal: AbortSignal, relatedRequestId?: RequestId): Promise<JsonObject> {
    const transport = this.#transport;
    if (!transport) return Promise.reject(new Error('Not connected'));
    if (signal.aborted) return Promise.reject(signal.reason);
    const id = this.#nextRequestId++;
    const options = relatedRequestId === undefined ? undefined : {relatedRequestId};
    const pending = (this.#pending ??= new Map());
    return new Promise<JsonObject>((resolve, reject) => {
      const settle = (answer: {result: JsonObject} | {error: Error}) => {
        pending.delete(id);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if ('error' in answer) return reject(answer.error);
        const {result} = answer;
        if (typeof result === 'object' && result !== null && !Array.isArray(result)) return resolve(result);
        reject(new JsonRpcFailure(JsonRpcCode.InternalError, `The client answered ${request.method} with no object`));
      };
      const cancel = (reason: unknown) => {
        settle({
          error:
            reason instanceof JsonRpcFailure ? reason : new JsonRpcFailure(JsonRpcCode.RequestTimeout, String(reason)),
        });
        const cancelled = {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: {requestId: id, reason: String(reason)},
        };
        transport.send(cancelled as JSONRPCMessage, options).catch(() => undefined);
      };
      const onAbort = () => cancel(signal.reason);
      const timer = setTimeout(
        () =>
          cancel(
            new JsonRpcFailure(JsonRpcCode.RequestTimeout, 'Request timed out', {timeout: CLIENT_REQUEST_TIMEOUT_MS}),
          ),
        CLIENT_REQUEST_TIMEOUT_MS,
      );
      signal.addEventListener('abort', onAbort, {once: true});
      pending.set(id, {settle});
      const message = {...request, jsonrpc: '2.0', id} as JSONRPCMessage;
      transport.send(message, options).catch((error: Error) => settle({error}));
    });
  }

  /** The transport closed: requests in flight stop, the client's answers will not come, the session closes. */
  #closed(): void {
    if (!this.#transport) return; // some transports report their close twice (the SDK's in-memory pair)
    this.#transport = undefined;
    for (const controller of this.#inFlight?.values() ?? []) controller.abort();
    this.#inFlight = undefined;
    const closed = new JsonRpcFailure(JsonRpcCode.ConnectionClosed, 'Connection closed');
    for (const pending of [...(this.#pending?.values() ?? [])]) pending.settle({error: closed});
    void this.#session.close();
  }
}

/**
 * Whether a notification may go to the client, as the SDK 1.x `Server` checks it (`assertNotificationCapability`):
 * log messages need the server's `logging`, resource notifications its `resources`, list changes of tools and
 * prompts their capability, `notifications/elicitation/complete` the client's URL elicitation; others always may.
 */
export function mayNotify(method: string, server: ServerCapabilities, client: ClientCapabilities): boolean {
  switch (method) {
    case 'notifications/message':
      return server.logging !== undefined;
    case 'notifications/resources/updated':
    case 'notifications/resources/list_changed':
      return server.resources !== undefined;
    case 'notifications/tools/list_changed':
      return server.tools !== undefined;
    case 'notifications/prompts/list_changed':
      return server.prompts !== undefined;
    case 'notifications/elicitation/complete':
      return (client.elicitation as {url?: object} | undefined)?.url !== undefined;
    default:
      return true;
  }
}

/** The JSON-RPC error of a failed request, as the SDK's Protocol sends it: an integer `code`, else -32603. */
function errorOf(error: unknown): {code: number; message: string; data?: unknown} {
  const {code, message, data} = (error ?? {}) as {code?: unknown; message?: unknown; data?: unknown};
  return {
    code: Number.isSafeInteger(code) ? (code as number) : JsonRpcCode.InternalError,
    message: typeof message === 'string' ? message : 'Internal error',
    ...(data !== undefined && {data}),
  };
}

/** -32602 naming the request and what its params lack, from zod's issues. */
function invalidParams(method: string, issues: {path: PropertyKey[]; message: string}[]): JsonRpcFailure {
  // The schemas are the whole request's: a path starts with `params`.
  const what = issues.map((issue) => `${issue.path.slice(1).map(String).join('.') || 'params'}: ${issue.message}`);
  return new JsonRpcFailure(JsonRpcCode.InvalidParams, `Invalid ${method} request: ${what.join('; ')}`);
}

/** The binding for `Router.createSession`: a session whose client speaks 2025-era MCP. */
export function legacyPeer(identity: ServerIdentity): (session: DownstreamSession<LegacyPeer>) => LegacyPeer {
  // Log messages of upstreams reach every 2025-era client (`logging/setLevel` picks the level).
  const served = {...identity, capabilities: {...identity.capabilities, logging: {}}};
  return (session) => new LegacyPeer(session, served);
}
