import {createHash} from 'node:crypto';
import {AccessDeniedError, UpstreamTimeoutError} from '../errors.js';
import type {Logger} from '../log.js';
import type {Compaction} from '../results/cap.js';

/** How a routed request ended, as the audit line says it. */
export type AuditOutcome = 'ok' | 'error' | 'denied' | 'timeout' | 'cancelled';

/**
 * One audit line: who asked what of which upstream, and how it ended. `session` is a tag of the session id (see
 * `sessionTag`), never the id itself; `name` is the aggregated name (or URI) the client used; `digest` is the SHA-256 of
 * the request's arguments, only when `router.audit.digest` asks for it; `output` counts what the output caps changed. Arguments and results are never logged.
 */
export interface AuditRecord {
  principal: string;
  session: string;
  method: string;
  name?: string;
  upstream?: string;
  outcome: AuditOutcome;
  durationMs: number;
  digest?: string;
  /** What the output caps did to a `tools/call` result (`router/results/cap.ts`), when they changed it. */
  output?: Compaction;
}

/** The fixed `msg` of audit lines, so that a log pipeline can select them. */
export const AUDIT_MESSAGE = 'Routed request';

/** The outcome of a request that failed with `error` (pure); `aborted` when the client cancelled it. */
export function failureOutcome(error: unknown, aborted: boolean): AuditOutcome {
  if (aborted) return 'cancelled';
  if (error instanceof AccessDeniedError) return 'denied';
  if (error instanceof UpstreamTimeoutError) return 'timeout';
  return 'error';
}

/**
 * A short, stable tag of a session id for logs at info level: the first 12 hex digits of its SHA-256. It tells lines of
 * one session apart without giving away the id, which is a bearer credential for the session.
 */
export function sessionTag(id: string | undefined): string {
  return id === undefined ? 'stdio' : createHash('sha256').update(id).digest('hex').slice(0, 12);
}

/** `sha256:` and the hex SHA-256 of a JSON value (the arguments of a request). */
export function argumentsDigest(value: unknown): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(value ?? null))
    .digest('hex')}`;
}

/** Writes audit lines to `log` (a logger with `component: "audit"`, so that they can be shipped apart). */
export function auditLogger(log: Logger): (record: AuditRecord) => void {
  return (record) => log.info(record, AUDIT_MESSAGE);
}
