import {
  Server,
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
 * - List changes go to the open `subscriptions/listen` streams (`notifier`).
 * - Server-to-client requests of upstreams (sampling, elicitation, roots) are refused with -32601 that says why: the
 *   session declares no client capability to its own upstream sessions, so those that gate tools on them hide them;
 *   a shared upstream, initialized for 2025 clients too, may still ask.
 * - Log messages and resource updates of upstreams are not passed on: this era has no stream to carry them outside a
 *   call (logging is deprecated in 2026-07-28, and the router does not bridge `subscriptions/listen` filters to
 *   `resources/subscribe` yet).
 */
export class ModernPeer implements DownstreamPeer {
  readonly era = 'modern';
  readonly id = undefined;
  readonly #notifier: ServerNotifier;

  constructor(notifier: ServerNotifier) {
    this.#notifier = notifier;
  }

  clientInfo(): Implementation | undefined {
    return undefined;
  }

  clientCapabilities(): ClientCapabilities {
    return {};
  }

  notify(notification: Message): void {
    const event = LIST_CHANGED_EVENTS[notification.method];
    if (event) this.#notifier[event]();
  }

  request(request: Message): Promise<JsonObject> {
    return Promise.reject(noServerRequests(request.method));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * What a 2026-07-28 client is told of the router: the 2025 identity less what this era has no use for or the router
 * does not bridge yet: `tasks` (an extension in 2026-07-28) and `resources.subscribe` (replaced by
 * `subscriptions/listen`, whose list-changed events the router does send).
 */
export function modernCapabilities(capabilities: ServerCapabilities): ServerCapabilities {
  const {tasks: _tasks, resources, ...rest} = capabilities;
  if (!resources) return rest;
  const {subscribe: _subscribe, ...kept} = resources;
  return {...rest, resources: kept};
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
  server.fallbackRequestHandler = (request, ctx) =>
    session.handle({method: request.method, params: (request.params ?? {}) as JsonObject}, callOf(ctx));
  return server;
}

/** A 2026-07-28 request as the router's `Call`: related notifications go on its response; no server requests. */
function callOf(ctx: ServerContext): Call {
  const token = ctx.mcpReq._meta?.progressToken;
  return {
    signal: ctx.mcpReq.signal,
    ...(token !== undefined && {progressToken: token}),
    notify: (notification) => ctx.mcpReq.notify(notification as never),
  };
}
