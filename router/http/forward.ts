import {Agent, request, type IncomingHttpHeaders, type ServerResponse} from 'node:http';
import type {Logger} from 'pino';
import {JsonRpcCode, quoted} from '../errors.js';
import type {RouterMetrics} from '../metrics.js';
import type {Peers} from '../replicas/peers.js';
import type {SessionIds} from '../replicas/session-id.js';
import {READ_RESULT_TOOL} from '../results/read.js';
import {RESULTS_URI_PREFIX} from '../results/store.js';
import {ROUND_METHODS} from '../session/rounds.js';
import {header, sendJson} from './node-io.js';
import {queryValue, type McpExchange, type McpPhase, type McpRequest, type McpRoute} from './routes.js';

/**
 * Set on a request one router pod forwards to another: the receiving pod serves it or answers 404, and never forwards
 * it again (no loops, even when two pods disagree about the endpoints). A client that sets it only loses forwarding.
 */
export const FORWARDED_HEADER = 'mcp-router-forwarded';

/** Where a request for a session goes, decided from its id alone (see `routeSession`). */
export type SessionRoute =
  | {kind: 'local'}
  | {kind: 'forward'; owner: string}
  | {kind: 'waitForOwner'; owner: string}
  | {kind: 'notFound'; reason: 'invalid_id' | 'not_ready_endpoint' | 'forwarded_twice' | 'draining'};

/**
 * Milliseconds a request waits for this pod's view of the endpoints to show a starting owner ready (ADR 0038): pods
 * watch the EndpointSlices each on their own, and a pod that just became ready may own a session (kube-proxy or a
 * leaving peer sent it the `initialize`) before every view has it ready.
 */
export const OWNER_READY_WAIT_MS = 2_000;

/** What a route to another pod checks: the view of the endpoints, and whether this request waited for it once. */
interface OwnerContext {
  peers: Pick<Peers, 'isReadyEndpoint' | 'isStarting'>;
  forwarded: boolean;
  /** Whether the request already waited `OWNER_READY_WAIT_MS` for its owner: it does so once. */
  waited: boolean;
}

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
  context: OwnerContext & {ids: Pick<SessionIds, 'owner' | 'ownerOf'>; draining: boolean},
): SessionRoute {
  const owner = context.ids.ownerOf(id);
  if (owner === undefined) return {kind: 'notFound', reason: 'invalid_id'};
  if (owner === context.ids.owner) return context.draining ? {kind: 'notFound', reason: 'draining'} : {kind: 'local'};
  return toOwner(owner, context);
}

/**
 * The route to another pod that owns what a request names (pure): only once, and only to a ready endpoint; an owner
 * that this view has starting is waited for once (`waitForOwner`), as other views may have it ready already.
 */
function toOwner(owner: string, context: OwnerContext): SessionRoute {
  const {peers, forwarded, waited} = context;
  if (forwarded) return {kind: 'notFound', reason: 'forwarded_twice'};
  if (peers.isReadyEndpoint(owner)) return {kind: 'forward', owner};
  if (peers.isStarting(owner) && !waited) return {kind: 'waitForOwner', owner};
  return {kind: 'notFound', reason: 'not_ready_endpoint'};
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
 * Where a request without a session id goes (pure). A leaving pod hands it to a ready peer, so that no session starts
 * on a pod that is going away (a 2025-era `initialize`) and no request is refused with 503 while it drains (a
 * 2026-07-28 request, stateless). What stays here: a request a peer forwarded, one that names what this pod holds
 * (`heldHere`: the retry of an `input_required` round, `session/rounds.ts`, or a cut result), and a
 * `subscriptions/listen` stream (`listens`), which would end with this pod, as a legacy SSE stream would (ADR 0031):
 * refused while draining, its client listens again through the Service.
 */
export function routeSessionless(context: {
  leaving: boolean;
  forwarded: boolean;
  heldHere: boolean;
  listens: boolean;
  peer: string | undefined;
}): SessionRoute {
  const {leaving, forwarded, heldHere, listens, peer} = context;
  return leaving && !forwarded && !heldHere && !listens && peer !== undefined
    ? {kind: 'forward', owner: peer}
    : {kind: 'local'};
}

/**
 * What a 2026-07-28 request without a session names that one pod alone holds: the `requestState` of an
 * `input_required` round (`session/rounds.ts`), or the id of content cut from a result (`router://results/{id}`).
 */
export interface HeldId {
  kind: 'requestState' | 'result';
  id: string;
}

/**
 * Whether a request without a session may name a held id, from its headers alone (pure): a 2026-07-28 POST (it has
 * `MCP-Protocol-Version`, MCP 2026-07-28 basic/transports) whose `Mcp-Method` is one that may be a round's retry or
 * read a cut result (or is absent). Only these bodies are read before the local phases.
 */
export function mayNameHeldId(method: string, headers: IncomingHttpHeaders): boolean {
  const rpcMethod = headers['mcp-method'];
  return (
    method === 'POST' &&
    headers['mcp-protocol-version'] !== undefined &&
    (typeof rpcMethod !== 'string' || ROUND_METHODS.has(rpcMethod))
  );
}

/**
 * The held id a 2026-07-28 request body names (pure): `params.requestState` of a retry (MCP 2026-07-28
 * basic/patterns/mrtr), else the id of a cut result that `resources/read` (`params.uri`) or the `read_result` tool
 * (`params.arguments.uri`) reads; undefined for any other body.
 */
export function heldIdOf(body: unknown): HeldId | undefined {
  const {method, params} = (body ?? {}) as {method?: unknown; params?: Record<string, unknown>};
  if (typeof params !== 'object' || params === null) return undefined;
  if (typeof params.requestState === 'string') return {kind: 'requestState', id: params.requestState};
  const args = params.arguments as {uri?: unknown} | undefined;
  const uri =
    method === 'resources/read'
      ? params.uri
      : method === 'tools/call' && params.name === READ_RESULT_TOOL
        ? args?.uri
        : undefined;
  if (typeof uri !== 'string' || !uri.startsWith(RESULTS_URI_PREFIX)) return undefined;
  return {kind: 'result', id: uri.slice(RESULTS_URI_PREFIX.length)};
}

/**
 * Where a request that names a held id goes (pure): to its owner when a current key signed it for another pod, that
 * pod is a current ready endpoint, and the request was not forwarded already; refused (`notFound`, answered in-band)
 * when the owner is not a ready endpoint or the request was forwarded once; else here. An id no key signed stays
 * here, as an unknown one always did: it may be a 2026-07-28 upstream's own `requestState`, which the router passes
 * on, and anything else is refused where it is looked up.
 */
export function routeHeld(
  held: HeldId,
  context: OwnerContext & {ids: Pick<SessionIds, 'owner' | 'ownerOf'>},
): SessionRoute {
  const owner = context.ids.ownerOf(held.id, held.kind);
  if (owner === undefined || owner === context.ids.owner) return {kind: 'local'};
  return toOwner(owner, context);
}

/**
 * The in-band refusal of a held id whose owner cannot be reached (pure): what the owner itself answers for an unknown
 * or expired one (-32602, MCP 2026-07-28 basic/patterns/mrtr for `requestState`; `Resource not found` for a cut
 * result), with the request's id.
 */
export function heldIdRefusal(held: HeldId, body: unknown): object {
  const id = (body as {id?: unknown}).id ?? null;
  const message =
    held.kind === 'requestState'
      ? 'Unknown or expired requestState'
      : `Resource not found: ${quoted(RESULTS_URI_PREFIX + held.id)}`;
  return {jsonrpc: '2.0', id, error: {code: JsonRpcCode.InvalidParams, message}};
}

/** The session id of an MCP request: `?sessionId=` of `POST /message` (HTTP+SSE), else `Mcp-Session-Id`. */
export function sessionIdOf(req: McpRequest, route: McpRoute): string | undefined {
  if (route.endpoint === 'message') return queryValue(req.url ?? '/', 'sessionId');
  return header(req, 'mcp-session-id');
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

function notFound(res: ServerResponse): void {
  if (res.headersSent) return;
  sendJson(res, 404, {
    jsonrpc: '2.0',
    error: {code: JsonRpcCode.SessionNotFound, message: 'Session not found'},
    id: null,
  });
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
 * and requests without a session go to a ready peer, save what must stay (`routeSessionless`).
 *
 * A 2026-07-28 request has no session, but may name what one pod holds for its client (`heldIdOf`: a round's
 * `requestState`, a cut result). Its body is read here, with `parseBody` (the app's JSON parser: its size and depth
 * limits, parsed once, the local phases reuse it), and it goes to the owner the same way (`routeHeld`), re-serialized
 * from the parse; a refusal is answered in-band (`heldIdRefusal`).
 */
export function forwardToOwner(options: {
  ids: SessionIds;
  peers: Peers;
  metrics: RouterMetrics;
  log: Logger;
  /** Whether the router drains (SIGTERM came). */
  draining: () => boolean;
  /** Parses a JSON body into `req.body`, or passes an error (413, bad JSON, too deep) to `next`. */
  parseBody: (req: McpRequest, res: ServerResponse, next: (error?: unknown) => void) => void;
}): McpPhase {
  const {ids, peers, metrics, log, parseBody} = options;
  // A connection per forward: a kept-alive one that the owner closes as idle (its keepAliveTimeout) while a request
  // is being written fails that request, and a forwarded body cannot be sent again.
  const agent = new Agent({keepAlive: false});
  const serve = (
    req: McpRequest,
    res: ServerResponse,
    next: () => void,
    exchange: McpExchange,
    parsed: boolean,
    waited = false,
  ) => {
    const id = sessionIdOf(req, exchange.route);
    const draining = options.draining();
    const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
    const leaving = isLeaving({ids, peers, draining});
    if (leaving) res.setHeader('Connection', 'close');
    const held = parsed ? heldIdOf(req.body) : undefined;
    const heldRoute = held && routeHeld(held, {ids, peers, forwarded, waited});
    const heldHere = held !== undefined && ids.ownerOf(held.id, held.kind) === ids.owner;
    const rpcMethod = req.headers['mcp-method'] ?? (parsed ? (req.body as {method?: unknown}).method : undefined);
    const route =
      id !== undefined
        ? routeSession(id, {ids, peers, forwarded, waited, draining})
        : heldRoute && heldRoute.kind !== 'local'
          ? heldRoute
          : routeSessionless({
              leaving,
              forwarded,
              heldHere,
              listens: rpcMethod === 'subscriptions/listen',
              peer: leaving ? peers.readyPeer(ids.owner) : undefined,
            });
    if (route.kind === 'local') {
      // What this pod holds stays reachable while it drains, as calls in flight finish: a round's retry completes it.
      if (heldHere) exchange.heldHere = true;
      return next();
    }
    if (route.kind === 'waitForOwner') {
      void peers.whenReady(route.owner, OWNER_READY_WAIT_MS).then(() => {
        if (!res.destroyed) serve(req, res, next, exchange, parsed, true);
      });
      return;
    }
    const refuse = (reason: string) => {
      metrics.forwardFailures.inc({reason});
      // Never the id: it is the client's credential to its session (or round, or result).
      if (reason !== 'invalid_id') log.info({reason}, 'Refused a request for what another pod holds (404)');
      if (res.headersSent) return;
      if (held) sendJson(res, 200, heldIdRefusal(held, req.body));
      else notFound(res);
    };
    if (route.kind === 'notFound') return refuse(route.reason);
    const transport = exchange.route.endpoint === 'message' ? 'sse' : 'streamableHttp';
    const started = performance.now();
    const {hostname, port} = new URL(`http://${route.owner}`);
    const body = parsed ? Buffer.from(JSON.stringify(req.body)) : undefined;
    const headers = {...endToEndHeaders(req.headers), [FORWARDED_HEADER]: '1'};
    if (body) {
      // The body as parsed (inflated when it came compressed): the owner parses the same value from it.
      delete headers['content-encoding'];
      headers['content-length'] = String(body.length);
    }
    const onward = request({
      host: hostname.replace(/^\[(.*)\]$/, '$1'),
      port,
      method: req.method,
      path: req.url,
      headers,
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
      log.warn({owner: route.owner, code: error.code}, 'Failed to forward a request to the pod that holds its state');
      refuse('unreachable');
    });
    // A client that goes away (an SSE stream closed) ends the forwarded request, and so the owner's stream.
    res.once('close', () => {
      if (!res.writableFinished) onward.destroy();
    });
    if (body) onward.end(body);
    else req.pipe(onward);
  };
  return (req, res, next, exchange) => {
    const sessionless = sessionIdOf(req, exchange.route) === undefined && exchange.route.endpoint === 'mcp';
    if (!sessionless || !mayNameHeldId(req.method ?? '', req.headers)) return serve(req, res, next, exchange, false);
    parseBody(req, res, (error?: unknown) => (error ? next(error) : serve(req, res, next, exchange, true)));
  };
}

/**
 * The middleware in front of `GET /sse` and `/sse/{upstream}` that keeps new legacy SSE sessions off a leaving pod
 * (`isLeaving`) while a ready peer exists: 307 to the same URL, with `Connection: close`, so that the client (its
 * EventSource follows redirects) opens the stream on a new connection, which kube-proxy sends to a pod that stays. The
 * stream is not forwarded: it is the session's whole life, and would be cut when this pod exits (ADR 0031). A
 * request that a peer forwarded, one on the last pod, and one whose `Host` is this pod's own address (the redirect
 * would lead back here) are served here.
 */
export function handOverSseOpenings(options: {
  ids: Pick<SessionIds, 'owner'>;
  peers: Pick<Peers, 'isReadyEndpoint' | 'synced' | 'readyPeer'>;
  draining: () => boolean;
}): McpPhase {
  const {ids, peers} = options;
  return (req, res, next) => {
    const leaving = isLeaving({ids, peers, draining: options.draining()});
    const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
    // A client that named this pod's own address would be sent straight back here.
    const addressedHere = req.headers.host === ids.owner;
    if (req.method !== 'GET' || !leaving || forwarded || addressedHere || peers.readyPeer(ids.owner) === undefined)
      return next();
    res.writeHead(307, {connection: 'close', location: req.url ?? '/', 'content-length': 0}).end();
  };
}
