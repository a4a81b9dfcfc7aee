import {BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, handleWhen} from 'cockatiel';
import type {CircuitBreakerOptions} from '../config/schema.js';
import {UpstreamTimeoutError, UpstreamUnavailableError} from '../errors.js';

/** A call refused at once because the upstream's circuit is open (or a trial call is under way). */
export class CircuitOpenError extends UpstreamUnavailableError {
  static override code = 'CIRCUIT_OPEN';
}

/** What `/readyz`, metrics and logs call a circuit's state. */
export type CircuitName = 'closed' | 'open' | 'halfOpen';

const NAMES: Record<CircuitState, CircuitName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'halfOpen',
  [CircuitState.Isolated]: 'open',
};

/** The failures that count against a circuit: the upstream could not be reached, or did not answer in time. */
export function isUpstreamFailure(error: unknown): boolean {
  return error instanceof UpstreamUnavailableError || error instanceof UpstreamTimeoutError;
}

/**
 * The circuit breaker of one upstream, with `cockatiel`: `consecutiveFailures` failures in a row open it; while open,
 * calls fail at once; after `halfOpenAfterSeconds` one trial call goes through, and closes it again when it succeeds.
 * Errors the upstream answers with (JSON-RPC errors, tool errors) and cancelled calls do not count. The state stays
 * `open` until the first call after `halfOpenAfterSeconds`, which is the trial. cockatiel 3 (Node 20); its 4.x needs
 * Node 22.
 */
export class UpstreamCircuit {
  readonly #upstream: string;
  readonly #options: CircuitBreakerOptions;
  readonly #policy;
  #openedAt = 0;

  /**
   * `onChange` hears every change of state (for metrics and `/readyz`); `onFailure` every failure that counts against
   * the circuit (for the upstream's last error).
   */
  constructor(
    upstream: string,
    options: CircuitBreakerOptions,
    events: {onChange: (state: CircuitName) => void; onFailure: (error: Error) => void},
  ) {
    this.#upstream = upstream;
    this.#options = options;
    this.#policy = circuitBreaker(handleWhen(isUpstreamFailure), {
      halfOpenAfter: options.halfOpenAfterSeconds * 1000,
      breaker: new ConsecutiveBreaker(options.consecutiveFailures),
    });
    this.#policy.onBreak(() => (this.#openedAt = Date.now()));
    this.#policy.onStateChange((state) => events.onChange(NAMES[state]));
    this.#policy.onFailure(({handled, reason}) => handled && 'error' in reason && events.onFailure(reason.error));
  }

  get state(): CircuitName {
    return NAMES[this.#policy.state];
  }

  /**
   * Runs one call through the circuit.
   * @throws CircuitOpenError (an UpstreamUnavailableError) at once while the circuit is open, saying when the upstream is tried again;
   *   otherwise whatever the call throws
   */
  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.#policy.execute(call);
    } catch (error) {
      if (!(error instanceof BrokenCircuitError)) throw error;
      if (this.state === 'halfOpen')
        throw new CircuitOpenError(this.#upstream, 'circuit half-open: a trial call is under way');
      const retry = new Date(this.#openedAt + this.#options.halfOpenAfterSeconds * 1000).toISOString();
      throw new CircuitOpenError(
        this.#upstream,
        `circuit open after ${this.#options.consecutiveFailures} failures in a row; tried again from ${retry}`,
      );
    }
  }
}
