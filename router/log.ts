import {pino, type Logger} from 'pino';

export type {Logger};

/**
 * The router's logger: pino JSON lines. In `--transport stdio` mode stdout carries MCP, so logs go to stderr (fd 2).
 * Header values and env values are redacted wherever they are logged.
 */
export function createLogger(options: {level?: string; destination?: 1 | 2} = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: {component: 'router'},
      redact: {paths: ['headers', '*.headers', 'env', '*.env'], censor: '[redacted]'},
    },
    pino.destination({fd: options.destination ?? 1, sync: false}),
  );
}
