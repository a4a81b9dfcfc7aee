import {Agent, request, type IncomingHttpHeaders} from 'node:http';
import type {Request, RequestHandler, Response} from 'express';
import type {Logger} from 'pino';
import {JsonRpcCode} from '../errors.js';
import type {RouterMetrics} from '../metrics.js';
import type {Peers} from '../replicas/peers.js';
import type {SessionIds} from '../replicas/session-id.js';

/**
 * Set on a request one router pod forwards to another: the receiving pod serves it or answers 404, and never forwards
 * it again (no loops, even when two pods disagree about the endpoints). A client that sets it only loses forwarding.
 */
export const FORWARDED_HEADER = 'mcp-router-forwarded';

/** Where a request for a session goes, decided from its id alone (see `routeSession`). */
export type SessionRoute =
  | {kind: 'local'}
  | {kind: 'forward'; owner: string}
  | {kind: 'notFound'; reason: 'invalid_id' | 'not_ready_endpoint' | 'forwarded_twice' | 'draining'};

/**
 * Where a request for session `id` goes (pure): here when this pod owns it; to its owner when the id is signed by a
 * current key, names another pod, and that pod is a current ready endpoint of the router's Service; else nowhere
 * (404, so that the client initializes again: MCP 2025-11-25 basic/transports, Session Management). A forged or
 * tampered id, or one signed by a retired key, is `invalid_id`, so a client can never steer a forward. While this pod
 * drains (after SIGTERM), its own sessions are over too: `draining`, so that their clients initialize again elsewhere
 * at once, as they do where other pods answer them (this pod is no ready endpoint any more).
 */
export function routeSession(
  id: string,
  context: {
    ids: Pick<SessionIds, 'owner' | 'ownerOf'>;
    peers: Pick<Peers, 'isReadyEndpoint'>;
    forwarded: boolean;
    draining: boolean;
  },
): SessionRoute {
  const owner = context.ids.ownerOf(id);
  if (owner === undefined) return {kind: 'notFound', reason: 'invalid_id'};
  if (owner === context.ids.owner) return context.draining ? {kind: 'notFound', reason: 'draining'} : {kind: 'local'};
  if (context.forwarded) return {kind: 'notFound', reason: 'forwarded_twice'};
  if (!context.peers.isReadyEndpoint(owner)) return {kind: 'notFound', reason: 'not_ready_endpoint'};
  return {kind: 'forward', owner};
}

/**
 * Whether this pod is leaving (pure): draining, or, once its peers are known, no ready endpoint of its Service.
 * Kubernetes marks a deleted pod's endpoint not ready at once, while the preStop sleep holds back SIGTERM; kube-proxy
 * then sends it no new connections, but clients' kept-alive connections still reach it.
 */
export function isLeaving(context: {
  ids: Pick<SessionIds, 'owner'>;
  peers: Pick<Peers, 'isReadyEndpoint' | 'synced'>;
  draining: boolean;
}): boolean {
  return context.draining || (context.peers.synced && !context.peers.isReadyEndpoint(context.ids.owner));
}

/**
 * Where a request without a session id goes (pure). One that opens a session (`opening`: no `MCP-Protocol-Version`
 * header, as a 2025-era `initialize` comes) starts it where it lands, so a leaving pod hands it to a ready peer: no
 * session starts on a pod that is going away, and none is refused with 503 while it drains. Everything else stays
 * here: a request a peer forwarded, and a 2026-07-28 request, which may be the retry of an `input_required` round this
 * pod holds (`session/rounds.ts`).
 */
export function routeSessionless(context: {
  leaving: boolean;
  opening: boolean;
  forwarded: boolean;
  peer: string | undefined;
}): SessionRoute {
  return context.leaving && context.opening && !context.forwarded && context.peer !== undefined
    ? {kind: 'forward', owner: context.peer}
    : {kind: 'local'};
}

/** The session id of an MCP request: `?sessionId=` of `POST /message` (HTTP+SSE), else `Mcp-Session-Id`. */
export function sessionIdOf(req: Request): string | undefined {
  if (req.baseUrl === '/message') return typeof req.query.sessionId === 'string' ? req.query.sessionId : undefined;
  return req.header('mcp-session-id');
}

// RFC 9110 section 7.6.1: connection-specific fields that a proxy does not pass on.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** `headers` without hop-by-hop fields (pure). */
export function endToEndHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

function notFound(res: Response): void {
  if (res.headersSent) return;
  res
    .status(404)
    .json({jsonrpc: '2.0', error: {code: JsonRpcCode.SessionNotFound, message: 'Session not found'}, id: null});
}

/**
 * The middleware in front of `/mcp`, `/mcp/{upstream}` and `POST /message` that serves a request of another pod's
 * session there (DESIGN.md, Several router replicas): the request goes, as raw HTTP with its body unread, to the
 * owning pod over the pod network, and the answer streams back as it comes (SSE included). Requests without a session
 * id, and those of this pod's sessions, go on to the local routes; `routeSession` decides. The owning pod
 * authenticates the request itself. Metrics: `mcp_router_forwarded_requests_total`,
 * `mcp_router_forward_duration_seconds` (until the owner's response headers), `mcp_router_forward_failures_total`.
 * An owner that cannot be reached before it answers means its sessions are gone: 404. While the pod is leaving
 * (`isLeaving`), each response closes its connection, so that clients reconnect through the Service to another pod,
 * and requests that open a session go to a ready peer (`routeSessionless`).
 */
export function forwardToOwner(options: {
  ids: SessionIds;
  peers: Peers;
  metrics: RouterMetrics;
  log: Logger;
  /** Whether the router drains (SIGTERM came). */
  draining: () => boolean;
}): RequestHandler {
  const {ids, peers, metrics, log} = options;
  // A connection per forward: a kept-alive one that the owner closes as idle (its keepAliveTimeout) while a request
  // is being written fails that request, and a forwarded body cannot be sent again.
  const agent = new Agent({keepAlive: false});
  return (req, res, next) => {
    const id = sessionIdOf(req);
    const draining = options.draining();
    const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
    const leaving = isLeaving({ids, peers, draining});
    if (leaving) res.set('Connection', 'close');
    const route =
      id === undefined
        ? routeSessionless({
            leaving,
            opening: req.headers['mcp-protocol-version'] === undefined,
            forwarded,
            peer: leaving ? peers.readyPeer(ids.owner) : undefined,
          })
        : routeSession(id, {ids, peers, forwarded, draining});
    if (route.kind === 'local') return next();
    if (route.kind === 'notFound') {
      metrics.forwardFailures.inc({reason: route.reason});
      return notFound(res);
    }
    const transport = req.baseUrl === '/message' ? 'sse' : 'streamableHttp';
    const started = performance.now();
    const {hostname, port} = new URL(`http://${route.owner}`);
    const onward = request({
      host: hostname.replace(/^\[(.*)\]$/, '$1'),
      port,
      method: req.method,
      path: req.originalUrl,
      headers: {...endToEndHeaders(req.headers), [FORWARDED_HEADER]: '1'},
      agent,
    });
    onward.on('response', (answer) => {
      metrics.forwardedRequests.inc({transport});
      metrics.forwardSeconds.observe({transport}, (performance.now() - started) / 1000);
      res.writeHead(answer.statusCode ?? 502, endToEndHeaders(answer.headers));
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    onward.on('error', (error: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy();
      metrics.forwardFailures.inc({reason: 'unreachable'});
      log.warn({owner: route.owner, code: error.code}, 'Failed to forward a request to the pod of its session');
      notFound(res);
    });
    // A client that goes away (an SSE stream closed) ends the forwarded request, and so the owner's stream.
    res.once('close', () => {
      if (!res.writableFinished) onward.destroy();
    });
    req.pipe(onward);
  };
}
