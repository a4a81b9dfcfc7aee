import {pino, type DestinationStream, type Logger} from 'pino';
import {redactUrl} from './upstream/redact.js';

export type {Logger};

/** Where the logger writes: a file descriptor (1 stdout, 2 stderr) or a stream. */
export type LogDestination = 1 | 2 | DestinationStream;

/** Fields redacted wherever they are logged, at the top level or one level down (`{upstream: {url}}`). */
const REDACTED_PATHS = ['headers', '*.headers', 'env', '*.env', 'url', '*.url'];

/** A `url` keeps its host and path, without userinfo; header and env values are replaced whole. */
function censor(value: unknown, path: string[]): unknown {
  if (path[path.length - 1] === 'url' && typeof value === 'string') return redactUrl(value);
  return '[redacted]';
}

/**
 * The router's root logger: pino JSON lines, without a `component`; the router logs through its child
 * `component: "router"` and audit lines go through `component: "audit"`, so that each line names its component once. In `--transport stdio` mode stdout carries MCP, so logs go to stderr (fd 2).
 * Header values and env values are redacted wherever they are logged, and the userinfo of a `url` field; free text
 * (error messages, an upstream's stderr) is redacted where it is logged, by `redact` in `router/upstream/redact.ts`.
 */
export function createLogger(options: {level?: string; destination?: LogDestination} = {}): Logger {
  const destination = options.destination ?? 1;
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: {},
      redact: {paths: REDACTED_PATHS, censor},
    },
    typeof destination === 'number' ? pino.destination({fd: destination, sync: false}) : destination,
  );
}
