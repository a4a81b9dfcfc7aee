import type {IncomingMessage, ServerResponse} from 'node:http';
import type {Principal} from '../auth/principal.js';

/** The MCP endpoints of the router's HTTP app (see `createHttpApp`). */
export type McpEndpoint = 'mcp' | 'sse' | 'message' | 'upstreams';

/** An MCP endpoint and the upstream its path names (`/mcp/{upstream}`, `/sse/{upstream}`), if any. */
export interface McpRoute {
  endpoint: McpEndpoint;
  upstream?: string;
}

/** The endpoints by their path's first segment, and whether a second segment may name an upstream. */
const ENDPOINTS = new Map<string, {endpoint: McpEndpoint; scoped: boolean}>([
  ['mcp', {endpoint: 'mcp', scoped: true}],
  ['sse', {endpoint: 'sse', scoped: true}],
  ['message', {endpoint: 'message', scoped: false}],
  ['upstreams', {endpoint: 'upstreams', scoped: false}],
]);

/**
 * The MCP route of a request target (`req.url`: origin-form path and query), matched as express 5 matched the paths
 * `/mcp{/:upstream}`, `/sse{/:upstream}`, `/message` and `/upstreams`: case-insensitive, one trailing slash ignored,
 * the upstream segment percent-decoded. Undefined for any other path, and for an upstream segment that does not
 * decode.
 */
export function mcpRoute(target: string): McpRoute | undefined {
  let path = pathOf(target);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (!path.startsWith('/')) return undefined;
  const slash = path.indexOf('/', 1);
  const known = ENDPOINTS.get((slash === -1 ? path.slice(1) : path.slice(1, slash)).toLowerCase());
  if (!known) return undefined;
  if (slash === -1) return {endpoint: known.endpoint};
  const segment = path.slice(slash + 1);
  if (!known.scoped || segment === '' || segment.includes('/')) return undefined;
  try {
    return {endpoint: known.endpoint, upstream: decodeURIComponent(segment)};
  } catch {
    return undefined;
  }
}

/** An MCP request on Node's own request object; `body` is its parsed JSON once a phase has read it. */
export type McpRequest = IncomingMessage & {body?: unknown};

/** What the phases of one MCP request know of it: its route, and what earlier phases found. */
export interface McpExchange {
  readonly route: McpRoute;
  /** The authenticated principal (set by the authenticate phase; anonymous without `auth`). */
  principal?: Principal;
  /** A request naming what this pod holds, served here even while it drains (`http/forward.ts`). */
  heldHere?: boolean;
}

/** The path of a request target (`req.url`), without its query. */
export function pathOf(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

/**
 * The value of a query parameter of a request target; undefined when it is absent or given more than once (express's
 * query parser made that an array, which the MCP routes refused).
 */
export function queryValue(target: string, name: string): string | undefined {
  const query = target.indexOf('?');
  if (query === -1) return undefined;
  const values = new URLSearchParams(target.slice(query + 1)).getAll(name);
  return values.length === 1 ? values[0] : undefined;
}

/**
 * One phase of an MCP request (`createHttpApp`), on Node's own request and response: it answers, or calls `next()`
 * to pass on, or `next(error)` (or throws, or rejects) to end in the app's error handler. Connect-style middleware is
 * a phase that ignores `exchange`.
 */
export type McpPhase = (
  req: McpRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
  exchange: McpExchange,
) => unknown;

/**
 * Runs `phases` in order for one request; `done` is called after the last phase passes on (the app answers 404), or
 * with the error of any phase.
 */
export function runPhases(
  phases: readonly McpPhase[],
  exchange: McpExchange,
  req: McpRequest,
  res: ServerResponse,
  done: (error?: unknown) => void,
): void {
  const step =
    (index: number) =>
    (error?: unknown): void => {
      if (error !== undefined) return done(error);
      const phase = phases[index];
      if (!phase) return done();
      try {
        const result = phase(req, res, step(index + 1), exchange);
        if (result instanceof Promise) result.catch(done);
      } catch (thrown) {
        done(thrown);
      }
    };
  step(0)();
}
