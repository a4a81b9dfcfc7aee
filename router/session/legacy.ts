import {Server} from '@modelcontextprotocol/sdk/server/index.js';
import type {RequestHandlerExtra} from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import {AjvJsonSchemaValidator} from '@modelcontextprotocol/sdk/validation/ajv';
import {
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  type ClientCapabilities,
  type Implementation,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import {z} from 'zod';
import {passOn} from '../errors.js';
import type {JsonObject, Message} from '../upstream/connection.js';
import type {Call, DownstreamPeer, DownstreamSession, ServerIdentity} from './downstream.js';

const AnyResult = z.looseObject({});

/**
 * The JSON Schema validator of every session's `Server`. The SDK makes one per `Server` otherwise: an Ajv instance with
 * its meta-schemas, 10-15 KiB of heap per session, for `elicitInput`, which the router never calls (it forwards an
 * upstream's elicitation as it is).
 */
const SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

/**
 * The client end of a 2025-era session (MCP 2024-11-05 to 2025-11-25: `initialize`, then a session on one transport):
 * an SDK 1.x `Server` per session, as that SDK requires, on SSE, Streamable HTTP with `Mcp-Session-Id`, or stdio.
 * Every request goes to the session's `handle`; `logging/setLevel` and `notifications/roots/list_changed` to the
 * session too.
 */
export class LegacyPeer implements DownstreamPeer {
  readonly era = 'legacy';
  readonly server: Server;

  constructor(session: DownstreamSession<LegacyPeer>, identity: ServerIdentity) {
    this.server = new Server(identity.serverInfo, {
      capabilities: {...identity.capabilities, logging: {}},
      jsonSchemaValidator: SCHEMA_VALIDATOR,
      ...(identity.instructions !== undefined && {instructions: identity.instructions}),
    });
    this.server.fallbackRequestHandler = (request, extra) =>
      session.handle({method: request.method, params: (request.params ?? {}) as JsonObject}, callOf(extra));
    this.server.setRequestHandler(SetLevelRequestSchema, async (request) => {
      await session.setLogLevel(request.params.level);
      return {};
    });
    this.server.setNotificationHandler(RootsListChangedNotificationSchema, () => session.rootsChanged());
    this.server.onclose = () => void session.close();
  }

  /** Binds the session to its transport; the transport's first message is the client's `initialize`. */
  connect(transport: Transport): Promise<void> {
    return this.server.connect(transport);
  }

  get id(): string | undefined {
    return this.server.transport?.sessionId;
  }

  /** The router's SSE, Streamable HTTP and stdio transports write a result's own JSON; the in-memory one does not. */
  get writesResultBytes(): boolean {
    return (this.server.transport as {writesResultBytes?: boolean} | undefined)?.writesResultBytes === true;
  }

  clientInfo(): Implementation | undefined {
    return this.server.getClientVersion();
  }

  clientCapabilities(): ClientCapabilities {
    return this.server.getClientCapabilities() ?? {};
  }

  notify(notification: Message): void {
    if (this.server.transport) this.server.notification(notification as never).catch(() => undefined);
  }

  request(request: Message, signal: AbortSignal): Promise<JsonObject> {
    return this.server.request(request as never, AnyResult, {signal}).catch(passOn);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** A 2025-era request as the router's `Call`: related messages travel on the request's own response stream. */
function callOf(extra: RequestHandlerExtra<ServerRequest, ServerNotification>): Call {
  return {
    signal: extra.signal,
    ...(extra._meta?.progressToken !== undefined && {progressToken: extra._meta.progressToken}),
    notify: (notification) => extra.sendNotification(notification as never),
    request: (request, signal) => extra.sendRequest(request as never, AnyResult, {signal}).catch(passOn),
  };
}

/** The binding for `Router.createSession`: a session whose client speaks 2025-era MCP. */
export function legacyPeer(identity: ServerIdentity): (session: DownstreamSession<LegacyPeer>) => LegacyPeer {
  return (session) => new LegacyPeer(session, identity);
}
