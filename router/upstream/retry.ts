import {ExponentialBackoff, handleWhen, retry} from 'cockatiel';
import type {RetryOptions} from '../config/schema.js';
import {CircuitOpenError, isUpstreamFailure} from './breaker.js';

/**
 * Requests that only read (MCP 2025-11-25): sending one twice changes nothing, so a failed attempt may be tried again
 * even when it may have reached the upstream (a timeout, a connection that closed during the call).
 */
const IDEMPOTENT_METHODS = new Set([
  'ping',
  'tools/list',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
  'tasks/get',
  'tasks/list',
]);

/** What the router knows of one call when an attempt of it has failed. */
export interface CallFacts {
  method: string;
  /** For `tools/call`: the annotations of the tool, as its upstream lists them (absent: the spec defaults). */
  annotations?: Record<string, unknown>;
  /** The upstream has reported progress, or sent a request, for this call: it has started work that a retry repeats. */
  started: boolean;
}

/**
 * True for a tool whose upstream says a second call does no more than the first (MCP 2025-11-25 server/tools:
 * `readOnlyHint` true, or `idempotentHint` true). The hints are the upstream's claims, hence `retries.toolCalls`.
 */
export function isRepeatableTool(annotations: Record<string, unknown> | undefined): boolean {
  return annotations?.readOnlyHint === true || annotations?.idempotentHint === true;
}

/**
 * Whether a failed attempt of a call may be tried again (pure). Only failures to reach the upstream or timeouts are
 * retried, never an answer of the upstream (a JSON-RPC error, a tool error) nor a refusal of an open circuit (which
 * exists to fail fast). Never after the upstream started work on the call (progress, a server-to-client request).
 * Only idempotent calls: the reads of `IDEMPOTENT_METHODS`, and with `retries.toolCalls` the tool calls of
 * `isRepeatableTool`; so a timeout, after which the call may have run, is retried only when running it again is
 * harmless.
 */
export function mayRetry(call: CallFacts, error: unknown, options: Pick<RetryOptions, 'toolCalls'>): boolean {
  if (error instanceof CircuitOpenError || !isUpstreamFailure(error) || call.started) return false;
  if (IDEMPOTENT_METHODS.has(call.method)) return true;
  return call.method === 'tools/call' && options.toolCalls && isRepeatableTool(call.annotations);
}

/** One retry about to happen: the attempt that failed (1 for the first), the wait before the next, in ms. */
export interface RetryEvent {
  attempt: number;
  delayMs: number;
  error: unknown;
}

/**
 * Runs `attempt` up to `options.maxAttempts` times, with cockatiel's exponential backoff (decorrelated jitter, from
 * `backoffSeconds` up to `maxBackoffSeconds`), while `retryable(error)` says so. Each attempt goes through the
 * upstream's circuit breaker on its own (the caller's `attempt` does that), so failures count there and an open
 * circuit stops the retries. Once `signal` aborts, nothing is tried again.
 * @throws the error of the last attempt
 */
export function withRetries<T>(
  options: RetryOptions,
  retryable: (error: unknown) => boolean,
  attempt: () => Promise<T>,
  hooks: {signal?: AbortSignal; onRetry?: (event: RetryEvent) => void} = {},
): Promise<T> {
  if (options.maxAttempts <= 1) return attempt();
  const policy = retry(handleWhen(retryable), {
    maxAttempts: options.maxAttempts - 1,
    backoff: new ExponentialBackoff({
      initialDelay: options.backoffSeconds * 1000,
      maxDelay: options.maxBackoffSeconds * 1000,
    }),
  });
  const {onRetry} = hooks;
  if (onRetry) {
    policy.onRetry(
      (event) => 'error' in event && onRetry({attempt: event.attempt, delayMs: event.delay, error: event.error}),
    );
  }
  return policy.execute(attempt, hooks.signal);
}
