import {SSEServerTransport} from '@modelcontextprotocol/sdk/server/sse.js';
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {isInitializeRequest} from '@modelcontextprotocol/sdk/types.js';
import express, {type NextFunction, type Request, type Response} from 'express';
import {JsonRpcCode} from '../errors.js';
import type {Router} from '../router.js';
import type {Scope} from '../session/downstream.js';
import {SessionRegistry} from '../session/registry.js';
import {rejectOrigin, type OriginPolicy} from './security.js';

/** JSON-RPC error body for HTTP-level failures; `id` is null as the request's id is unknown (JSON-RPC 2.0 §5). */
function sendError(res: Response, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.status(status).json({jsonrpc: '2.0', error: {code, message}, id: null});
}

/**
 * The router's HTTP app (MCP 2025-11-25 basic/transports, and the 2024-11-05 HTTP+SSE transport):
 *
 * - `POST|GET|DELETE /mcp` and `/mcp/{upstream}`: Streamable HTTP; `Mcp-Session-Id` of an unknown session: 404.
 * - `GET /sse` and `/sse/{upstream}`, `POST /message?sessionId=`: legacy HTTP+SSE.
 * - `GET /healthz` (liveness), `/readyz` (JSON of each upstream; 503 until every upstream has been tried and while
 *   shutting down), `/metrics` (Prometheus text).
 *
 * MCP endpoints check Host and Origin (403), bodies above `maxBodyBytes` get 413, malformed JSON 400 (-32700).
 * Streamable HTTP sessions idle for `sessionIdleSeconds` are closed. `close()` stops that sweep.
 */
export function createHttpApp(router: Router, options: {loopbackOnly: boolean}): {app: express.Express; close(): void} {
  // Router options are read on every request: a config reload changes them without a restart.
  const policy = (): OriginPolicy => {
    const {allowedHosts, allowedOrigins} = router.options;
    return {allowedOrigins, loopbackOnly: options.loopbackOnly, ...(allowedHosts && {allowedHosts})};
  };
  const parsers = new Map<number, express.RequestHandler>();
  const json: express.RequestHandler = (req, res, next) => {
    const limit = router.options.maxBodyBytes;
    if (!parsers.has(limit)) parsers.set(limit, express.json({limit}));
    (parsers.get(limit) as express.RequestHandler)(req, res, next);
  };
  const serving =
    (transport: 'sse' | 'streamableHttp'): express.RequestHandler =>
    (_req, res, next) =>
      router.options.transports[transport] ? next() : sendError(res, 404, JsonRpcCode.InvalidRequest, 'Not Found');
  const registry = new SessionRegistry();
  // Streamable HTTP clients that vanish without DELETE would leave their sessions open for ever: close idle ones.
  const sweep = setInterval(() => {
    for (const entry of registry.idle(Date.now(), router.options.sessionIdleSeconds * 1000)) {
      router.log.info({session: entry.transport.sessionId}, 'Closing idle session');
      void entry.transport.close();
    }
  }, 1000).unref();
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => void res.json({status: 'ok'}));
  app.get('/readyz', (_req, res) => {
    const report = router.readiness();
    res.status(report.ready ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(router.metrics.registry.contentType).send(await router.metrics.registry.metrics());
  });

  const mcp = express.Router();
  mcp.use((req, res, next) => {
    const reason = rejectOrigin({host: req.headers.host, origin: req.headers.origin}, policy());
    if (reason) return sendError(res, 403, JsonRpcCode.InvalidRequest, `Forbidden: ${reason}`);
    next();
  });

  /** Parse the route: which scope the path names. Unknown upstream: 404. */
  const scopeOf = (req: Request, res: Response): Scope | undefined => {
    const name = req.params.upstream as string | undefined;
    if (name === undefined) return {kind: 'aggregate'};
    if (router.upstream(name)) return {kind: 'upstream', name};
    sendError(res, 404, JsonRpcCode.InvalidRequest, 'Not Found: no upstream by that name');
    return undefined;
  };

  mcp.use('/mcp', serving('streamableHttp'));
  mcp.post('/mcp{/:upstream}', json, async (req, res) => {
    const scope = scopeOf(req, res);
    if (!scope) return;
    const id = req.header('mcp-session-id');
    if (id !== undefined) {
      const entry = registry.find<StreamableHTTPServerTransport>(id, 'streamableHttp', scope);
      if (!entry) return sendError(res, 404, JsonRpcCode.SessionNotFound, 'Session not found');
      registry.trackRequest(entry, res);
      return entry.transport.handleRequest(req, res, req.body);
    }
    if (!isInitializeRequest(req.body)) {
      return sendError(res, 400, JsonRpcCode.InvalidRequest, 'Bad Request: Mcp-Session-Id header is required');
    }
    const session = router.createSession(scope, 'streamableHttp');
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => registry.newId(),
      onsessioninitialized: (sessionId) => {
        registry.add(sessionId, {session, transport, kind: 'streamableHttp'});
        router.log.info({session: sessionId, transport: 'streamableHttp', scope}, 'Opened session');
      },
    });
    transport.onclose = () => {
      registry.delete(transport.sessionId);
      router.log.info({session: transport.sessionId}, 'Closed session');
    };
    await session.connect(transport);
    await transport.handleRequest(req, res, req.body);
    if (transport.sessionId === undefined) await session.close(); // the initialize was refused
  });
  const existing = async (req: Request, res: Response) => {
    const scope = scopeOf(req, res);
    if (!scope) return;
    const id = req.header('mcp-session-id');
    if (id === undefined)
      return sendError(res, 400, JsonRpcCode.InvalidRequest, 'Bad Request: Mcp-Session-Id header is required');
    const entry = registry.find<StreamableHTTPServerTransport>(id, 'streamableHttp', scope);
    if (!entry) return sendError(res, 404, JsonRpcCode.SessionNotFound, 'Session not found');
    registry.trackRequest(entry, res);
    await entry.transport.handleRequest(req, res);
  };
  mcp.get('/mcp{/:upstream}', existing);
  mcp.delete('/mcp{/:upstream}', existing);
  mcp.all('/mcp{/:upstream}', (_req, res) => {
    res.set('Allow', 'GET, POST, DELETE');
    sendError(res, 405, JsonRpcCode.InvalidRequest, 'Method Not Allowed');
  });

  mcp.use(['/sse', '/message'], serving('sse'));
  mcp.get('/sse{/:upstream}', async (req, res) => {
    const scope = scopeOf(req, res);
    if (!scope) return;
    const transport = new SSEServerTransport('/message', res);
    const session = router.createSession(scope, 'sse');
    registry.add(transport.sessionId, {session, transport, kind: 'sse'});
    transport.onclose = () => {
      registry.delete(transport.sessionId);
      router.log.info({session: transport.sessionId}, 'Closed session');
    };
    router.log.info({session: transport.sessionId, transport: 'sse', scope}, 'Opened session');
    await session.connect(transport);
  });
  mcp.post('/message', json, async (req, res) => {
    const id = req.query.sessionId;
    if (typeof id !== 'string')
      return sendError(res, 400, JsonRpcCode.InvalidRequest, 'Bad Request: sessionId is required');
    const entry = registry.find<SSEServerTransport>(id, 'sse');
    if (!entry) return sendError(res, 404, JsonRpcCode.SessionNotFound, 'Session not found');
    await entry.transport.handlePostMessage(req, res, req.body);
  });

  app.use(mcp);
  app.use((_req, res) => sendError(res, 404, JsonRpcCode.InvalidRequest, 'Not Found'));
  app.use((error: {type?: string; status?: number}, _req: Request, res: Response, _next: NextFunction) => {
    if (error.type === 'entity.parse.failed')
      return sendError(res, 400, JsonRpcCode.ParseError, 'Parse error: invalid JSON');
    if (error.type === 'entity.too.large') {
      const limit = router.options.maxBodyBytes;
      return sendError(res, 413, JsonRpcCode.InvalidRequest, `Request body larger than ${limit} bytes`);
    }
    router.log.error({err: error}, 'Failed to handle an HTTP request');
    sendError(res, error.status ?? 500, JsonRpcCode.InternalError, 'Internal error');
  });
  return {app, close: () => clearInterval(sweep)};
}
