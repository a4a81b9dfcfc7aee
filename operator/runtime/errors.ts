/**
 * Errors of the operator runtime. The reconciler contract: a thrown error means "retry with backoff"; a
 * `TerminalError` means "retrying will not help until the object changes": it is recorded (status, Event) and the key
 * is not requeued. A change to the object queues it again anyway.
 */
export class OperatorError extends Error {
  static code = 'OPERATOR_ERROR';

  get code(): string {
    return (this.constructor as typeof OperatorError).code;
  }
}

/** A reconcile failure that retries cannot fix; the object has to change. */
export class TerminalError extends OperatorError {
  static override code = 'TERMINAL';

  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** A command-line flag with a bad value; the message names the flag. */
export class FlagError extends OperatorError {
  static override code = 'FLAG_INVALID';
}

/** The message of an error-like value, for logs and status messages. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
