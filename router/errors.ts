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
    reason: string,
  ) {
    super(`Upstream "${upstream}" is unavailable: ${reason}`);
  }
}

/** A name (tool, prompt), URI or path segment that no upstream in the catalog serves. */
export class NotFoundError extends RouterError {
  static override code = 'NOT_FOUND';
}
