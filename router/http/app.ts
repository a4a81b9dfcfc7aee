import {isInitializeRequest} from '@modelcontextprotocol/sdk/types.js';
import type {RequestListener, ServerResponse} from 'node:http';
import express, {type NextFunction, type Request, type Response} from 'express';
import {ANONYMOUS, type Principal} from '../auth/principal.js';
import {AuthenticationError, JsonRpcCode} from '../errors.js';
import {httpTraceContext} from '../tracing.js';
import {sessionTag} from '../policy/audit.js';
import {serveUpstreams} from '../management/http.js';
import type {Router} from '../router.js';
import type {Scope} from '../session/downstream.js';
import {SessionRegistry, type SessionEntry} from './registry.js';
import {bearerChallenge, METADATA_PATH, protectedResourceMetadata, requestOrigin} from './auth.js';
import {BodyError, jsonBodyKind, nestedDeeperThan, readJsonBody} from './body.js';
import {BoundedEventStore} from './event-store.js';
import type {Peers} from '../replicas/peers.js';
import type {SessionIds} from '../replicas/session-id.js';
import {forwardToOwner, handOverSseOpenings} from './forward.js';
import {isLegacy, ModernEndpoint} from './modern.js';
import {header, sendJson} from './node-io.js';
import {
  mcpRoute,
  pathOf,
  queryValue,
  runPhases,
  type McpEndpoint,
  type McpExchange,
  type McpPhase,
  type McpRequest,
  type McpRoute,
} from './routes.js';
import {rejectOrigin, type OriginPolicy} from './security.js';
import {NodeSseTransport} from './sse.js';
import {NodeStreamableTransport} from './streamable.js';

/** JSON-RPC error body for HTTP-level failures; `id` is null unless the failing request's id is known. */
function sendError(res: ServerResponse, status: number, code: number, message: string, id: unknown = null): void {
  if (res.headersSent) return;
  sendJson(res, status, {jsonrpc: '2.0', error: {code, message}, id});
}

/** Seconds a client is told to wait (`Retry-After`) when the router is full or shutting down. */
const RETRY_AFTER_SECONDS = '5';

/** Milliseconds a client waits before resuming a dropped stream (the SSE `retry` field of the priming event). */
const RESUME_RETRY_MS = 1000;

/** The principal of a request, set by the authenticate phase. */
function principalOf(exchange: McpExchange): Principal {
  return exchange.principal ?? ANONYMOUS;
}

/**
 * The router's HTTP app (MCP 2025-11-25 basic/transports, and the 2024-11-05 HTTP+SSE transport):
 *
 * - `POST|GET|DELETE /mcp` and `/mcp/{upstream}`: Streamable HTTP; `Mcp-Session-Id` of an unknown session: 404;
 *   any other method (`HEAD` too): 405.
 * - `GET /sse` and `/sse/{upstream}`, `POST /message?sessionId=`: legacy HTTP+SSE.
 * - `GET /healthz` (liveness), `/readyz` (JSON of each upstream; 503 until every upstream has been tried and while
 *   shutting down), `/metrics` (Prometheus text; not here when `metrics: false`, see `createMetricsApp`).
 * - With `auth`: `GET /.well-known/oauth-protected-resource[/path]` (RFC 9728).
 *
 * The MCP routes are matched by `mcpRoute` (path) and method, and their phases run by `runPhases` (`http/routes.ts`)
 * on Node's own request and response; express serves the rest. `listener` is the server's request listener. An MCP
 * request goes through these phases: refuse while draining (503, `Connection: close`; with replicas, not a request
 * that names a round or cut result this pod holds, see `http/forward.ts`), check Host and Origin (403), authenticate
 * (401 with `WWW-Authenticate: Bearer`; 403 when no access rule is for the principal or the upstream of the path is
 * not granted), resolve the scope, parse the body (413 above `maxBodyBytes`, 400/-32700 for
 * bad JSON, 400/-32600 nested deeper than `limits.maxJsonDepth`), find the session (404 for an unknown id or one of
 * another principal), refuse a request id still pending in the session (400/-32600), then hand over to the session.
 * A new session beyond `limits.maxSessions` or `maxSessionsPerPrincipal` gets 503 with `Retry-After`. Streamable HTTP
 * sessions keep their last events (`limits.replayEvents`, `replayBytes`), so that a client resumes a dropped stream
 * with `Last-Event-ID` (MCP 2025-11-25 basic/transports, Resumability and Redelivery).
 * Streamable HTTP sessions idle for `sessionIdleSeconds` are closed. `close()` stops that sweep. `settled(ms)` resolves
 * when every client request is answered and written (or after `ms`), so that shutdown closes no session under an
 * answer. With `replicas`, session ids carry this pod, signed, and a request of another pod's session is forwarded
 * there (`http/forward.ts`).
 */
export function createHttpApp(
  router: Router,
  options: {loopbackOnly: boolean; metrics?: boolean; replicas?: {ids: SessionIds; peers: Peers}},
): {listener: RequestListener; settled(timeoutMs: number): Promise<void>; close(): void} {
  // Router options are read on every request: a config reload changes them without a restart.
  const policy = (): OriginPolicy => {
    const {allowedHosts, allowedOrigins} = router.options;
    return {allowedOrigins, loopbackOnly: options.loopbackOnly, ...(allowedHosts && {allowedHosts})};
  };
  // Compressed bodies and other charsets, which the MCP routes rarely see, go through body-parser.
  const parsers = new Map<string, ReturnType<typeof express.json>>();
  const bodyParser = (limit: number, maxDepth: number): ReturnType<typeof express.json> => {
    const key = `${limit}/${maxDepth}`;
    let parser = parsers.get(key);
    if (!parser) {
      const verify = (_req: unknown, _res: unknown, body: Buffer) => {
        if (nestedDeeperThan(body, maxDepth)) throw new BodyError('entity.too.deep');
      };
      parser = express.json({limit, verify});
      parsers.set(key, parser);
    }
    return parser;
  };
  const json = (req: McpRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    // Read once: the forward middleware may have read it already (a 2026-07-28 request naming held state).
    if (req.body !== undefined) return next();
    const {maxBodyBytes, limits} = router.options;
    const kind = jsonBodyKind(req.headers);
    if (kind === 'none') return next();
    if (kind === 'other') return void bodyParser(maxBodyBytes, limits.maxJsonDepth)(req, res, next);
    readJsonBody(req, maxBodyBytes, limits.maxJsonDepth).then((body) => {
      req.body = body;
      next();
    }, next);
  };
  const serving =
    (transport: 'sse' | 'streamableHttp'): McpPhase =>
    (_req, res, next) =>
      router.options.transports[transport] ? next() : sendError(res, 404, JsonRpcCode.InvalidRequest, 'Not Found');
  const registry = new SessionRegistry(options.replicas?.ids);
  const modern = new ModernEndpoint(router);
  // Streamable HTTP clients that vanish without DELETE would leave their sessions open for ever: close idle ones.
  const sweep = setInterval(() => {
    for (const entry of registry.idle(Date.now(), router.options.sessionIdleSeconds * 1000)) {
      router.log.info({session: sessionTag(entry.transport.sessionId)}, 'Closing idle session');
      void entry.transport.close();
    }
  }, 1000).unref();
  const app = express();
  app.disable('x-powered-by');

  /** Refuse while draining (503), then check Host and Origin (403). */
  const admit: McpPhase = (req, res, next, exchange) => {
    if (router.draining && exchange.heldHere !== true) {
      res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
      return sendError(res, 503, JsonRpcCode.InvalidRequest, 'Service Unavailable: the router is shutting down');
    }
    const reason = rejectOrigin({host: req.headers.host, origin: req.headers.origin}, policy());
    if (reason) return sendError(res, 403, JsonRpcCode.InvalidRequest, `Forbidden: ${reason}`);
    next();
  };

  /** Authenticate: the principal of the request (anonymous without `auth`), or 401/403. */
  const authenticate: McpPhase = async (req, res, next, exchange) => {
    const authenticator = router.authenticator;
    if (!authenticator) return next();
    const metadataUrl = `${requestOrigin(req)}${METADATA_PATH}${pathOf(req.url ?? '/').replace(/\/$/, '')}`;
    let principal: Principal;
    try {
      principal = await authenticator.authenticate(req.headers.authorization);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      if (error.fault) router.log.warn({reason: error.fault}, 'Failed to verify a token');
      else router.log.debug({reason: error.message}, 'Refused a request without valid credentials');
      res.setHeader(
        'WWW-Authenticate',
        bearerChallenge(metadataUrl, error.error && {code: error.error, description: error.message}),
      );
      return sendError(res, 401, JsonRpcCode.InvalidRequest, `Unauthorized: ${error.message}`);
    }
    const upstream = exchange.route.upstream;
    const policyOf = router.policy;
    if (policyOf && (!policyOf.applies(principal) || (upstream && !router.grantFor(principal).upstream(upstream)))) {
      res.setHeader(
        'WWW-Authenticate',
        bearerChallenge(metadataUrl, {code: 'insufficient_scope', description: 'access denied'}),
      );
      return sendError(res, 403, JsonRpcCode.InvalidRequest, 'Forbidden: access denied');
    }
    exchange.principal = principal;
    next();
  };

  /** Resolve the scope: which upstreams the path names. Unknown upstream: 404. */
  const scopeOf = (route: McpRoute, res: ServerResponse): Scope | undefined => {
    const name = route.upstream;
    if (name === undefined) return {kind: 'aggregate'};
    if (router.upstream(name)) return {kind: 'upstream', name};
    sendError(res, 404, JsonRpcCode.InvalidRequest, 'Not Found: no upstream by that name');
    return undefined;
  };

  /** 503 with Retry-After when the principal may not open one more session. */
  const refuseWhenFull = (res: ServerResponse, principal: Principal): boolean => {
    const reached = router.sessionLimitReached(principal);
    if (!reached) return false;
    res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
    sendError(res, 503, JsonRpcCode.InvalidRequest, `Service Unavailable: ${reached}`);
    return true;
  };

  /** Hands a body to a session, unless it reuses a pending request id (400). */
  const admitted = (entry: SessionEntry, req: McpRequest, res: ServerResponse): boolean => {
    const duplicate = entry.pending.admit(req.body);
    if (duplicate !== undefined) {
      sendError(
        res,
        400,
        JsonRpcCode.InvalidRequest,
        'Invalid Request: a request with this id is still pending in this session',
        duplicate,
      );
      return false;
    }
    return true;
  };

  const postMcp: McpPhase = async (req, res, _next, exchange) => {
    const scope = scopeOf(exchange.route, res);
    if (!scope) return;
    const principal = principalOf(exchange);
    const id = header(req, 'mcp-session-id');
    if (id !== undefined) {
      const entry = registry.find<NodeStreamableTransport>(id, 'streamableHttp', principal.id, scope);
      if (!entry) return sendError(res, 404, JsonRpcCode.SessionNotFound, 'Session not found');
      if (!admitted(entry, req, res)) return;
      // A POST's requests end with its response: answered, or their stream closed with the connection.
      const ids = entry.pending.requestIds(req.body);
      res.once('close', () => ids.forEach((requestId) => entry.pending.settle(requestId)));
      registry.trackRequest(entry, res);
      return entry.transport.handleRequest(req, res, req.body);
    }
    if (await isLegacy(req).then((legacy) => !legacy)) {
      const session = modern.session(scope, principal);
      if (!session) return refuseWhenFull(res, principal);
      return modern.serve(req, res, session);
    }
    if (!isInitializeRequest(req.body)) {
      return sendError(res, 400, JsonRpcCode.InvalidRequest, 'Bad Request: Mcp-Session-Id header is required');
    }
    if (refuseWhenFull(res, principal)) return;
    const session = router.createLegacySession(scope, 'streamableHttp', principal);
    const {replayEvents, replayBytes} = router.options.limits;
    const transport: NodeStreamableTransport = new NodeStreamableTransport({
      newSessionId: () => registry.newId(),
      ...(replayEvents > 0 && {
        eventStore: new BoundedEventStore({maxEvents: replayEvents, maxBytes: replayBytes}),
        retryInterval: RESUME_RETRY_MS,
      }),
      onsessioninitialized: (sessionId) => {
        registry.add(sessionId, {session, transport, kind: 'streamableHttp'});
        router.log.info(
          {session: sessionTag(sessionId), principal: principal.name, transport: 'streamableHttp', scope},
          'Opened session',
        );
      },
    });
    transport.onclose = () => {
      registry.delete(transport.sessionId);
      router.log.info({session: sessionTag(transport.sessionId)}, 'Closed session');
    };
    await session.peer.connect(transport);
    await transport.handleRequest(req, res, req.body);
    if (transport.sessionId === undefined) await session.close(); // the initialize was refused
  };
  const existing: McpPhase = async (req, res, _next, exchange) => {
    const scope = scopeOf(exchange.route, res);
    if (!scope) return;
    const id = header(req, 'mcp-session-id');
    if (id === undefined)
      return sendError(res, 400, JsonRpcCode.InvalidRequest, 'Bad Request: Mcp-Session-Id header is required');
    const entry = registry.find<NodeStreamableTransport>(id, 'streamableHttp', principalOf(exchange).id, scope);
    if (!entry) return sendError(res, 404, JsonRpcCode.SessionNotFound, 'Session not found');
    registry.trackRequest(entry, res);
    await entry.transport.handleRequest(req, res);
  };
  const methodNotAllowed: McpPhase = (_req, res) => {
    res.setHeader('Allow', 'GET, POST, DELETE');
    sendError(res, 405, JsonRpcCode.InvalidRequest, 'Method Not Allowed');
  };
  const openSse: McpPhase = async (_req, res, _next, exchange) => {
    const scope = scopeOf(exchange.route, res);
    if (!scope) return;
    const principal = principalOf(exchange);
    if (refuseWhenFull(res, principal)) return;
    const transport = new NodeSseTransport('/message', res, registry.newId());
    const session = router.createLegacySession(scope, 'sse', principal);
    registry.add(transport.sessionId, {session, transport, kind: 'sse'});
    transport.onclose = () => {
      registry.delete(transport.sessionId);
      router.log.info({session: sessionTag(transport.sessionId)}, 'Closed session');
    };
    router.log.info(
      {session: sessionTag(transport.sessionId), principal: principal.name, transport: 'sse', scope},
      'Opened session',
    );
    await session.peer.connect(transport);
  };
  const postMessage: McpPhase = async (req, res, _next, exchange) => {
    const id = queryValue(req.url ?? '/', 'sessionId');
    // Absent or given more than once: either way, which session is meant is not known.
    if (id === undefined) {
      return sendError(res, 400, JsonRpcCode.InvalidRequest, 'Bad Request: one sessionId query parameter is required');
    }
    const entry = registry.find<NodeSseTransport>(id, 'sse', principalOf(exchange).id);
    if (!entry) return sendError(res, 404, JsonRpcCode.SessionNotFound, 'Session not found');
    if (!admitted(entry, req, res)) return;
    await entry.transport.handlePostMessage(req, res, req.body);
  };
  const upstreams: McpPhase = (_req, res, next, exchange) => serveUpstreams(router, principalOf(exchange), res, next);

  // Replicas: a request of another pod's session goes there before any local phase reads its body, even while this
  // pod drains (the owner checks Host, Origin and credentials itself); so does a 2026-07-28 request that names what
  // another pod holds (a round's requestState, a cut result), whose body is parsed here once.
  const replicas = options.replicas;
  const forward: McpPhase[] = replicas
    ? [
        forwardToOwner({
          ...replicas,
          metrics: router.metrics,
          log: router.log,
          draining: () => router.draining,
          parseBody: json,
        }),
      ]
    : [];
  const handOver: McpPhase[] = replicas ? [handOverSseOpenings({...replicas, draining: () => router.draining})] : [];
  const streamable = [...forward, httpTraceContext, admit, serving('streamableHttp')];
  const sse = [httpTraceContext, admit, serving('sse')];
  /** The phases of each endpoint's methods; another method of `/mcp` gets 405, of the others the app's 404. */
  const chains: Record<McpEndpoint, {[method: string]: readonly McpPhase[]; other: readonly McpPhase[]}> = {
    mcp: {
      POST: [...streamable, authenticate, json, postMcp],
      GET: [...streamable, authenticate, existing],
      DELETE: [...streamable, authenticate, existing],
      other: [...streamable, methodNotAllowed],
    },
    sse: {GET: [...handOver, ...sse, authenticate, openSse], other: [...handOver, ...sse]},
    message: {POST: [...forward, ...sse, authenticate, json, postMessage], other: [...forward, ...sse]},
    upstreams: {GET: [httpTraceContext, admit, authenticate, upstreams], other: [httpTraceContext, admit]},
  };
  app.get('/healthz', (_req, res) => void res.json({status: 'ok'}));
  app.get('/readyz', (_req, res) => {
    const report = router.readiness();
    // Replicas: not ready before the peers are known, or a forward of the first requests would find no owner.
    const peers = options.replicas && {peers: options.replicas.peers.synced ? 'synced' : 'syncing'};
    res.status(report.ready && peers?.peers !== 'syncing' ? 200 : 503).json({...report, ...peers});
  });
  if (options.metrics !== false) app.get('/metrics', metricsHandler(router));
  app.get([METADATA_PATH, `${METADATA_PATH}/{*path}`], (req, res) => {
    const auth = router.options.auth;
    if (!auth) return sendError(res, 404, JsonRpcCode.InvalidRequest, 'Not Found');
    const path = req.path.slice(METADATA_PATH.length);
    res.json(protectedResourceMetadata(auth, router.authenticator?.issuers ?? [], requestOrigin(req), path));
  });

  /** Answers a request that failed: a body refused (its `type`, as body-parser names them), or 500. */
  const answerFailure = (error: {type?: string; status?: number}, res: ServerResponse): void => {
    if (error.type === 'entity.parse.failed')
      return sendError(res, 400, JsonRpcCode.ParseError, 'Parse error: invalid JSON');
    if (error.type === 'entity.too.deep') {
      const depth = router.options.limits.maxJsonDepth;
      return sendError(
        res,
        400,
        JsonRpcCode.InvalidRequest,
        `Invalid Request: JSON nested deeper than ${depth} levels`,
      );
    }
    if (error.type === 'entity.too.large') {
      const limit = router.options.maxBodyBytes;
      return sendError(res, 413, JsonRpcCode.InvalidRequest, `Request body larger than ${limit} bytes`);
    }
    router.log.error({err: error}, 'Failed to handle an HTTP request');
    sendError(res, error.status ?? 500, JsonRpcCode.InternalError, 'Internal error');
  };
  const notFound = (res: ServerResponse) => sendError(res, 404, JsonRpcCode.InvalidRequest, 'Not Found');
  app.use((_req, res) => notFound(res));
  app.use((error: {type?: string; status?: number}, _req: Request, res: Response, _next: NextFunction) =>
    answerFailure(error, res),
  );
  // The MCP routes are matched here, by path and method, and served on Node's own request and response; express
  // serves the rest. Its router and app cost a request more than all of the router's own phases
  // (docs/benchmarks.md, "The MCP routes without express").
  const listener: RequestListener = (req, res) => {
    // While draining, keep-alive connections are not kept: each client reconnects, to another pod when there is one.
    // A response that started before (a call's stream) leaves its connection open: the client may already be sending
    // its next request on it, which closing it from this side would cut; that request is answered with this header.
    if (router.draining) res.setHeader('Connection', 'close');
    const route = mcpRoute(req.url ?? '/');
    if (!route) return void app(req, res);
    const chain = chains[route.endpoint];
    runPhases(chain[req.method ?? ''] ?? chain.other, {route}, req, res, (error) =>
      error === undefined ? notFound(res) : answerFailure(error as {type?: string; status?: number}, res),
    );
  };
  return {
    listener,
    settled: (timeoutMs) => registry.settled(timeoutMs),
    close: () => {
      clearInterval(sweep);
      void modern.close();
    },
  };
}

function metricsHandler(router: Router): express.RequestHandler {
  return async (_req, res) => {
    res.type(router.metrics.registry.contentType).send(await router.metrics.registry.metrics());
  };
}

/** The app of `--metrics-port`: `GET /metrics` only, so that scraping never needs the MCP port. */
export function createMetricsApp(router: Router): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(router));
  app.use((_req, res) => sendError(res, 404, JsonRpcCode.InvalidRequest, 'Not Found'));
  return app;
}
