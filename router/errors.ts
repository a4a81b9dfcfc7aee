import {McpError} from '@modelcontextprotocol/sdk/types.js';

/**
 * Typed errors of the router, each with a stable `code`. One place (`router/http/errors.ts`) maps them to HTTP
 * statuses and JSON-RPC error codes.
 */
export class RouterError extends Error {
  static code = 'ROUTER_ERROR';

  get code(): string {
    return (this.constructor as typeof RouterError).code;
  }
}

/**
 * A client-supplied value made safe to quote in an error message: printable ASCII only (others become `?`), at most
 * 128 characters, in double quotes.
 */
export function quoted(input: string): string {
  const printable = input.replace(/[^\x20-\x7E]/g, '?');
  return `"${printable.length > 128 ? `${printable.slice(0, 128)}...` : printable}"`;
}

/** One problem in a config file: `path` is the JSON path (`mcpServers.github.url`), `message` the reason. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A config file that cannot be read, parsed or validated. `issues` lists every problem with its JSON path. */
export class ConfigError extends RouterError {
  static override code = 'CONFIG_INVALID';
  readonly issues: ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[]) {
    super(`Invalid config ${source}:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

/** The upstream is not connected (failed to start, died, or is reconnecting). Names the upstream. */
export class UpstreamUnavailableError extends RouterError {
  static override code = 'UPSTREAM_UNAVAILABLE';

  constructor(
    readonly upstream: string,
    /** Why, without the upstream's name (`failed to connect: ...`). */
    readonly reason: string,
  ) {
    super(`Upstream "${upstream}" is unavailable: ${reason}`);
  }
}

/**
 * The upstream could not be reached at all (its address refused or did not resolve): the request never got to it,
 * so sending it elsewhere is safe whatever it is.
 */
export class UpstreamUnreachableError extends UpstreamUnavailableError {
  static override code = 'UPSTREAM_UNREACHABLE';
}

/** A name (tool, prompt), URI or path segment that no upstream in the catalog serves. */
export class NotFoundError extends RouterError {
  static override code = 'NOT_FOUND';
}

/** The upstream answered a forwarded request with a JSON-RPC error; `rpcCode` and `data` are the upstream's. */
export class UpstreamError extends RouterError {
  static override code = 'UPSTREAM_ERROR';

  constructor(
    readonly upstream: string,
    readonly rpcCode: number,
    reason: string,
    readonly data?: unknown,
  ) {
    super(`Upstream "${upstream}": ${reason}`);
  }
}

/** A forwarded call got no response, nor progress, in time; or ran past its maximum. */
export class UpstreamTimeoutError extends RouterError {
  static override code = 'UPSTREAM_TIMEOUT';

  constructor(upstream: string, method: string, seconds: number, kind: 'idle' | 'total') {
    super(
      kind === 'idle'
        ? `Upstream "${upstream}" sent no response or progress for ${method} within ${seconds} s`
        : `Upstream "${upstream}" did not finish ${method} within the maximum of ${seconds} s`,
    );
  }
}

/** A request the router cannot route (ambiguous server-to-client request, unsupported method in the aggregate). */
export class UnroutableError extends RouterError {
  static override code = 'UNROUTABLE';
}

/**
 * A request without valid credentials (401 with `WWW-Authenticate: Bearer`, RFC 6750 section 3). `error` is the RFC 6750
 * error code: absent when no credentials were sent, `invalid_token` otherwise. The message never holds the token.
 */
export class AuthenticationError extends RouterError {
  static override code = 'UNAUTHENTICATED';

  constructor(
    message: string,
    readonly error?: 'invalid_token' | 'invalid_request',
    /** Set when the router, not the token, is at fault (an issuer's keys could not be fetched): worth a warning. */
    readonly fault?: string,
  ) {
    super(message);
  }
}

/**
 * The principal may not use what it asked for. On the JSON-RPC level the message says "Access denied" and names
 * only what the client sent, so that it cannot tell a denied name from one that does not exist.
 */
export class AccessDeniedError extends RouterError {
  static override code = 'ACCESS_DENIED';
}

/** JSON-RPC 2.0 error codes used by the router (MCP 2025-11-25 basic: error handling). */
export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** SDK 1.x `ErrorCode.ConnectionClosed`: the peer went away. */
  ConnectionClosed: -32000,
  /** SDK 1.x `ErrorCode.RequestTimeout`. */
  RequestTimeout: -32001,
  /** What the SDK's Streamable HTTP server answers, with 404, for an unknown `Mcp-Session-Id`. */
  SessionNotFound: -32001,
} as const;

/**
 * An error with a numeric JSON-RPC `code`, the shape the SDK's Protocol turns into a JSON-RPC error response
 * (`{code, message, data}`).
 */
export class JsonRpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/**
 * Rethrows a peer's JSON-RPC error answer so that it can be passed on to another peer as it was given: the SDK 1.x
 * `McpError` prefixes its message with `MCP error <code>: `, one more prefix at each hop; it becomes a
 * `JsonRpcFailure` with the same code, data and the peer's own message. Other errors are rethrown as they are.
 * @throws always
 */
export function passOn(error: unknown): never {
  if (error instanceof McpError)
    throw new JsonRpcFailure(error.code, error.message.replace(/^MCP error -?\d+: /, ''), error.data);
  throw error;
}

/** The one mapping from router errors to JSON-RPC errors. Unknown errors become InternalError without details. */
export function toJsonRpcFailure(error: unknown): JsonRpcFailure {
  if (error instanceof JsonRpcFailure) return error;
  if (error instanceof UpstreamError) return new JsonRpcFailure(error.rpcCode, error.message, error.data);
  if (error instanceof UpstreamTimeoutError) return new JsonRpcFailure(JsonRpcCode.RequestTimeout, error.message);
  if (error instanceof UpstreamUnavailableError)
    return new JsonRpcFailure(JsonRpcCode.InternalError, error.message, {upstream: error.upstream});
  if (error instanceof AccessDeniedError) return new JsonRpcFailure(JsonRpcCode.InvalidParams, error.message);
  if (error instanceof NotFoundError) return new JsonRpcFailure(JsonRpcCode.InvalidParams, error.message);
  if (error instanceof UnroutableError) return new JsonRpcFailure(JsonRpcCode.MethodNotFound, error.message);
  return new JsonRpcFailure(JsonRpcCode.InternalError, 'Internal error');
}
