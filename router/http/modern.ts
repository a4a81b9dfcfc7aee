import {toNodeHandler, toWebRequest} from '@modelcontextprotocol/node';
import {createMcpHandler, isLegacyRequest, type AuthInfo, type McpRequestContext} from '@modelcontextprotocol/server';
import type {ServerResponse} from 'node:http';
import {LRUCache} from 'lru-cache';
import type {Principal} from '../auth/principal.js';
import {toJsonRpcFailure} from '../errors.js';
import type {Router} from '../router.js';
import type {DownstreamSession, Scope} from '../session/downstream.js';
import {ModernPeer, modernServer} from '../session/modern.js';
import {waitUntil} from '../wait.js';
import {sendJson} from './node-io.js';
import type {McpRequest} from './routes.js';

/** What the HTTP app passes to the SDK's handler with each request (its `authInfo.extra`). */
interface Served {
  session: DownstreamSession<ModernPeer>;
}

/** The resource URIs a `subscriptions/listen` request asks updates for (MCP 2026-07-28); none for other bodies. */
export function listenedResources(body: unknown): string[] {
  const request = body as {method?: unknown; params?: {notifications?: {resourceSubscriptions?: unknown}}};
  if (request?.method !== 'subscriptions/listen') return [];
  const uris = request.params?.notifications?.resourceSubscriptions;
  return Array.isArray(uris) ? uris.filter((uri): uri is string => typeof uri === 'string') : [];
}

/** The key of a principal's session for a scope. */
function keyOf(scope: Scope, principal: Principal): string {
  return `${principal.id}\n${scope.kind === 'aggregate' ? '' : scope.name}`;
}

/** `true` for a request of the 2025 era (`initialize`, or no `_meta` envelope): the SDK's own classification. */
export async function isLegacy(req: McpRequest): Promise<boolean> {
  return isLegacyRequest(await toWebRequest(req, req.body), req.body);
}

/**
 * The 2026-07-28 leg of `/mcp` and `/mcp/{upstream}` (MCP 2026-07-28 basic/transports): stateless requests, each
 * with its protocol version and client capabilities in `_meta`, answered by the SDK 2.x handler in strict mode
 * (`legacy: 'reject'`: the 2025 leg beside it stays the router's own, sessionful one). It answers `server/discover`
 * and `subscriptions/listen` itself; the router publishes list changes and resource updates to its streams.
 *
 * The router keeps one session per principal and scope for these clients, made on the first request and closed after
 * `sessionIdleSeconds` without a request and with no `subscriptions/listen` stream open (once its calls in flight
 * end): it holds the catalog, the resource subscriptions of its streams and the principal's own sessions of
 * `perSession` upstreams, so that state kept by such an upstream lasts across the principal's requests.
 */
export class ModernEndpoint {
  readonly #router: Router;
  readonly #handler = createMcpHandler((ctx) => this.#server(ctx), {legacy: 'reject'});
  readonly #node = toNodeHandler(this.#handler);
  readonly #sessions: LRUCache<string, DownstreamSession<ModernPeer>>;
  /** Open `subscriptions/listen` streams per session: a session with one is never idle. */
  readonly #listening = new Map<DownstreamSession<ModernPeer>, number>();

  constructor(router: Router) {
    this.#router = router;
    this.#sessions = new LRUCache({
      ttl: router.options.sessionIdleSeconds * 1000,
      ttlAutopurge: true,
      updateAgeOnGet: true,
      dispose: (session) => void this.#retire(session),
    });
  }

  /**
   * The principal's session for a scope: the one it has, or a new one; undefined when the router may not open one
   * more (`limits.maxSessions`, `maxSessionsPerPrincipal`).
   */
  session(scope: Scope, principal: Principal): DownstreamSession<ModernPeer> | undefined {
    const key = keyOf(scope, principal);
    const existing = this.#sessions.get(key);
    if (existing) return existing;
    if (this.#router.sessionLimitReached(principal)) return undefined;
    const session = this.#router.createSession(
      scope,
      'modern',
      principal,
      () => new ModernPeer(this.#handler.notify, this.#router.ids),
    );
    this.#sessions.set(key, session, {ttl: this.#router.options.sessionIdleSeconds * 1000});
    return session;
  }

  /**
   * Serves one request of `session` (the body is already parsed and checked by the app). A `subscriptions/listen`
   * that asks for resource updates subscribes the session to those resources for as long as its stream is open; a
   * URI the principal may not read, or that no upstream serves, is refused in-band (-32602) before the stream opens.
   */
  async serve(req: McpRequest, res: ServerResponse, session: DownstreamSession<ModernPeer>): Promise<void> {
    if ((req.body as {method?: unknown} | undefined)?.method === 'subscriptions/listen')
      this.#keepWhileOpen(session, res);
    const uris = listenedResources(req.body);
    if (uris.length > 0) {
      try {
        const release = await session.peer.listen(session, uris);
        res.once('close', release);
      } catch (error) {
        const {code, message} = toJsonRpcFailure(error);
        sendJson(res, 200, {jsonrpc: '2.0', id: (req.body as {id?: unknown}).id ?? null, error: {code, message}});
        return;
      }
    }
    const served: Served = {session};
    // The SDK passes `authInfo` to the server factory untouched; the router's own principal is already resolved.
    const auth: AuthInfo = {token: '', clientId: session.principal.id, scopes: [], extra: {...served}};
    Object.assign(req, {auth});
    return this.#node(req, res, req.body);
  }

  /** Keeps `session` out of idle expiry until `res` closes (and then for `sessionIdleSeconds` more). */
  #keepWhileOpen(session: DownstreamSession<ModernPeer>, res: ServerResponse): void {
    const key = keyOf(session.scope, session.principal);
    const open = (this.#listening.get(session) ?? 0) + 1;
    this.#listening.set(session, open);
    if (open === 1 && this.#sessions.peek(key) === session) this.#sessions.set(key, session, {ttl: 0});
    res.once('close', () => {
      const left = (this.#listening.get(session) ?? 1) - 1;
      if (left > 0) return void this.#listening.set(session, left);
      this.#listening.delete(session);
      if (this.#sessions.peek(key) === session)
        this.#sessions.set(key, session, {ttl: this.#router.options.sessionIdleSeconds * 1000});
    });
  }

  #server(ctx: McpRequestContext) {
    const {session} = ctx.authInfo?.extra as unknown as Served;
    return modernServer(session, this.#router.identity(session.scope));
  }

  /** Closes a session that left the cache once its calls in flight have ended (at most `shutdownGraceSeconds`). */
  async #retire(session: DownstreamSession<ModernPeer>): Promise<void> {
    await waitUntil(() => session.idle, this.#router.options.shutdownGraceSeconds * 1000);
    await session.close();
  }

  /** Closes every session and the handler's open streams. */
  async close(): Promise<void> {
    this.#sessions.clear();
    await this.#handler.close();
  }
}
