import {randomUUID} from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  inputRequired,
  Server,
  type InputRequests,
  type ServerCapabilities as ModernCapabilities,
  type ServerContext,
  type ServerNotifier,
} from '@modelcontextprotocol/server';
import type {ClientCapabilities, Implementation, ServerCapabilities} from '@modelcontextprotocol/sdk/types.js';
import type {JsonObject, Message} from '../upstream/connection.js';
import {
  noServerRequests,
  type Call,
  type DownstreamPeer,
  type DownstreamSession,
  type ServerIdentity,
} from './downstream.js';
import type {SessionIds} from '../replicas/session-id.js';
import {HeldCall, ROUND_METHODS} from './rounds.js';

/** Milliseconds a call waits for its client to come back with the input it asked for (the SDK's own round timeout). */
const ROUND_EXPIRY_MS = 600_000;

/** The list-changed notifications of MCP, as the events of `subscriptions/listen` streams (MCP 2026-07-28). */
const LIST_CHANGED_EVENTS: Record<string, 'toolsChanged' | 'promptsChanged' | 'resourcesChanged'> = {
  'notifications/tools/list_changed': 'toolsChanged',
  'notifications/prompts/list_changed': 'promptsChanged',
  'notifications/resources/list_changed': 'resourcesChanged',
};

/**
 * The client end of the stateless era (MCP 2026-07-28): there is no session on the wire, no `initialize` and no
 * server-to-client request. The router keeps one `DownstreamSession` per principal and scope for these clients (the
 * catalog it built, its own sessions of `perSession` upstreams), and each HTTP request is served by an SDK 2.x `Server`
 * of its own that hands the request to that session (`modernServer`).
 *
 * - List changes and resource updates go to the open `subscriptions/listen` streams (`notifier`); a stream that asks
 *   for updates of resources subscribes the session to them while it is open (`listen`).
 * - Server-to-client requests of upstreams (sampling, elicitation, roots) during `tools/call`, `prompts/get` and
 *   `resources/read` become `input_required` rounds (`rounds.ts`): the call is held open, the client answers and
 *   retries with the `requestState`, and the answers go back to the upstream. Outside such a call, or when the
 *   client did not declare the capability, the upstream's request is refused with -32601 that says why.
 * - Log messages of upstreams outside a call are not passed on: logging is deprecated in 2026-07-28.
 */
export class ModernPeer implements DownstreamPeer {
  readonly era = 'modern';
  readonly id = undefined;
  /** Results go out through the SDK 2.x server, which serializes them. */
  readonly writesResultBytes = false;
  readonly #notifier: ServerNotifier;
  /** Open `subscriptions/listen` streams asking for each resource URI. */
  readonly #listeners = new Map<string, number>();
  /** Calls held open across `input_required` rounds, by their `requestState`. */
  readonly #held = new Map<string, HeldCall>();
  readonly #ids: Pick<SessionIds, 'newId'> | undefined;

  /** `ids`: with replicas, what signs each `requestState` with this pod as its owner; else it is a random UUID. */
  constructor(notifier: ServerNotifier, ids?: Pick<SessionIds, 'newId'>) {
    this.#notifier = notifier;
    this.#ids = ids;
  }

  clientInfo(): Implementation | undefined {
    return undefined;
  }

  /**
   * What the principal's own upstream sessions are told its clients support: every server-to-client request the
   * router bridges. Each request is checked against the capabilities of the client whose call it belongs to.
   */
  clientCapabilities(): ClientCapabilities {
    return {sampling: {}, elicitation: {form: {}, url: {}}, roots: {}};
  }

  notify(notification: Message): void {
    const event = LIST_CHANGED_EVENTS[notification.method];
    if (event) this.#notifier[event]();
    const uri = notification.params?.uri;
    if (notification.method === 'notifications/resources/updated' && typeof uri === 'string') {
      this.#notifier.resourceUpdated(uri);
    }
  }

  /**
   * A `subscriptions/listen` stream of the principal asks for updates of these resources (MCP 2026-07-28
   * server/resources): the session subscribes to each URI while at least one open stream asks for it.
   * @returns a function that ends this stream's interest
   * @throws what the session's `subscribe` throws for a URI the principal may not read; nothing stays subscribed
   */
  async listen(session: DownstreamSession<ModernPeer>, uris: string[]): Promise<() => void> {
    const started: string[] = [];
    const release = () => {
      for (const uri of started.splice(0)) {
        const left = (this.#listeners.get(uri) ?? 1) - 1;
        if (left > 0) this.#listeners.set(uri, left);
        else {
          this.#listeners.delete(uri);
          void session.subscribe(uri, false).catch(() => undefined);
        }
      }
    };
    try {
      for (const uri of new Set(uris)) {
        const count = this.#listeners.get(uri) ?? 0;
        if (count === 0) await session.subscribe(uri, true);
        this.#listeners.set(uri, count + 1);
        started.push(uri);
      }
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  request(request: Message): Promise<JsonObject> {
    return Promise.reject(noServerRequests(request.method));
  }

  /**
   * Serves the first round of a call that may need the client's input: the call's result, or `input_required`.
   * `run` makes the call with the `Call` it is given, whose server-to-client requests become the rounds' input.
   */
  hold(ctx: ServerContext, run: (call: Call) => Promise<JsonObject>): Promise<JsonObject> {
    const capabilities = envelopeCapabilities(ctx);
    const held = new HeldCall(capabilities, this.#ids?.newId('requestState') ?? randomUUID());
    this.#held.set(held.id, held);
    held.signal.addEventListener('abort', () => this.#held.delete(held.id));
    const token = ctx.mcpReq._meta?.progressToken;
    held.start(
      run({
        signal: held.signal,
        clientCapabilities: capabilities,
        ...(token !== undefined && {progressToken: token}),
        notify: (notification) => held.notify(notification),
        request: (request, signal) => held.ask(request, signal),
      }),
    );
    return this.#round(held, ctx);
  }

  /** Whether `state` is the `requestState` of a call this session holds. */
  holds(state: string): boolean {
    return this.#held.has(state);
  }

  /** Serves a retry of a held call (`requestState` of an earlier `input_required`), with the client's answers. */
  resume(state: string, ctx: ServerContext): Promise<JsonObject> {
    const held = this.#held.get(state) as HeldCall;
    held.answer(ctx.mcpReq.inputResponses ?? {});
    return this.#round(held, ctx);
  }

  async #round(held: HeldCall, ctx: ServerContext): Promise<JsonObject> {
    const round = {
      signal: ctx.mcpReq.signal,
      relay: (notification: Message) => ctx.mcpReq.notify(notification as never),
    };
    try {
      const outcome = await held.round(round, ROUND_EXPIRY_MS);
      if ('result' in outcome) return outcome.result;
      const {inputRequests, requestState} = outcome.inputRequired;
      return inputRequired({inputRequests: inputRequests as InputRequests, requestState}) as unknown as JsonObject;
    } finally {
      if (held.ended) this.#held.delete(held.id);
    }
  }

  /** Gives up every held call (their upstream calls are cancelled). */
  close(): Promise<void> {
    for (const held of this.#held.values()) held.abort('the session closed');
    return Promise.resolve();
  }
}

/**
 * What a 2026-07-28 client is told of the router: the 2025 identity less `tasks`, an extension in 2026-07-28 that the
 * router does not offer this era.
 */
export function modernCapabilities(capabilities: ServerCapabilities): ServerCapabilities {
  const {tasks: _tasks, ...rest} = capabilities;
  return rest;
}

/**
 * The SDK 2.x `Server` that serves one 2026-07-28 request of `session`: the SDK answers `server/discover` and the
 * envelope checks; every other request goes to the session's `handle`, with the request's own stream for progress.
 */
export function modernServer(session: DownstreamSession<ModernPeer>, identity: ServerIdentity): Server {
  const server = new Server(identity.serverInfo, {
    // The two SDK lines type the same JSON differently (`experimental` values).
    capabilities: modernCapabilities(identity.capabilities) as ModernCapabilities,
    ...(identity.instructions !== undefined && {instructions: identity.instructions}),
  });
  server.fallbackRequestHandler = async (request, ctx) => {
    const state = ctx.mcpReq.requestState();
    if (typeof state === 'string' && session.peer.holds(state)) return session.peer.resume(state, ctx);
    // A retry of a 2026-07-28 upstream's round goes back to it as the client sent it (the SDK lifts these two out).
    const {inputResponses} = ctx.mcpReq;
    const params = {
      ...(request.params as JsonObject | undefined),
      ...(inputResponses !== undefined && {inputResponses}),
      ...(typeof state === 'string' && {requestState: state}),
    };
    const message = {method: request.method, params};
    if (!ROUND_METHODS.has(request.method)) return session.handle(message, callOf(ctx));
    return session.peer.hold(ctx, (call) => session.handle(message, call));
  };
  return server;
}

/** A 2026-07-28 request as the router's `Call`: related notifications go on its response; no server requests. */
function callOf(ctx: ServerContext): Call {
  const token = ctx.mcpReq._meta?.progressToken;
  return {
    signal: ctx.mcpReq.signal,
    clientCapabilities: envelopeCapabilities(ctx),
    ...(token !== undefined && {progressToken: token}),
    notify: (notification) => ctx.mcpReq.notify(notification as never),
  };
}

/** The capabilities a 2026-07-28 request declares in its `_meta` envelope (validated by the SDK); none when absent. */
function envelopeCapabilities(ctx: ServerContext): ClientCapabilities {
  // The SDK types the envelope's keys loosely.
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  return (envelope?.[CLIENT_CAPABILITIES_META_KEY] ?? {}) as ClientCapabilities;
}
