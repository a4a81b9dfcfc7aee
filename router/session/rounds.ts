import type {ClientCapabilities} from '@modelcontextprotocol/sdk/types.js';
import {JsonRpcCode, JsonRpcFailure, quoted} from '../errors.js';
import {CLIENT_CAPABILITY_OF, type JsonObject, type Message} from '../upstream/connection.js';

/** The methods whose 2026-07-28 results may be `input_required` (MCP 2026-07-28 basic/patterns/mrtr). */
export const ROUND_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** An `input_required` result (MCP 2026-07-28): what the client must answer before it retries the request. */
export interface InputRequired {
  resultType: 'input_required';
  inputRequests: Record<string, Message>;
  requestState: string;
}

/** What one round of a held call ends with: the call's own result, or more input to ask for. */
export type RoundOutcome = {result: JsonObject} | {inputRequired: InputRequired};

interface Ask {
  request: Message;
  resolve(result: JsonObject): void;
  reject(error: Error): void;
}

/**
 * One call of a 2026-07-28 client held open across `input_required` rounds, to bridge a 2025-era upstream's
 * server-to-client requests (sampling, elicitation, roots) to a client that has none (MCP 2026-07-28
 * basic/patterns/mrtr): the upstream call goes on while its requests wait; each round ends with the call's result, or
 * with the requests not yet answered, as `inputRequests`, and `requestState` naming this call; the client's retry
 * carries the answers (`inputResponses`) and the same state.
 *
 * The state is the call's `id`: unguessable, and looked up only among the rounds of the principal's own session, so
 * a forged or stolen one leads nowhere. With replicas it names the pod that holds the call, signed
 * (`replicas/session-id.ts`), so that a retry landing on another pod is forwarded here (`http/forward.ts`). A call
 * whose client does not come back within `expiryMs` is aborted (its upstream call is cancelled) and its requests are
 * refused.
 */
export class HeldCall {
  readonly id: string;
  readonly #controller = new AbortController();
  readonly #asks = new Map<string, Ask>();
  readonly #capabilities: ClientCapabilities;
  #outcome: Promise<JsonObject> | undefined;
  #settled = false;
  #wake: (() => void) | undefined;
  /** Where the call's notifications (progress) go: the open round's response, none between rounds. */
  #relay: ((notification: Message) => Promise<void>) | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #asked = 0;

  /**
   * `capabilities`: what the client declared in the request's `_meta`; a request it cannot answer is refused. `id`:
   * the call's `requestState`, unguessable.
   */
  constructor(capabilities: ClientCapabilities, id: string) {
    this.#capabilities = capabilities;
    this.id = id;
  }

  /** Aborts when the call is given up (expired, or its round was cancelled): the upstream call is cancelled. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Starts the call: `outcome` is the upstream call, made with `signal` and with `ask` for its server requests. */
  start(outcome: Promise<JsonObject>): void {
    this.#outcome = outcome;
    const settle = () => {
      this.#settled = true;
      this.#wake?.();
    };
    outcome.then(settle, settle);
  }

  /**
   * A server-to-client request of the upstream, to show the client in the next round; resolves with its answer.
   * @throws JsonRpcFailure -32601 when the client did not declare the capability the request needs
   */
  ask(request: Message, signal: AbortSignal): Promise<JsonObject> {
    const needed = CLIENT_CAPABILITY_OF[request.method as keyof typeof CLIENT_CAPABILITY_OF];
    if (!needed || this.#capabilities[needed] === undefined) {
      const what = needed ?? 'this request';
      return Promise.reject(
        new JsonRpcFailure(
          JsonRpcCode.MethodNotFound,
          `The client does not support ${what} (${quoted(request.method)})`,
        ),
      );
    }
    const key = `${needed}-${++this.#asked}`;
    return new Promise<JsonObject>((resolve, reject) => {
      this.#asks.set(key, {request, resolve, reject});
      signal.addEventListener('abort', () => this.#asks.delete(key) && reject(new Error('cancelled by the upstream')));
      this.#wake?.();
    });
  }

  /** Gives the upstream's waiting requests the client's answers (`inputResponses` of a retry); others stay asked. */
  answer(responses: Record<string, unknown>): void {
    for (const [key, response] of Object.entries(responses)) {
      const ask = this.#asks.get(key);
      if (!ask || typeof response !== 'object' || response === null) continue;
      this.#asks.delete(key);
      ask.resolve(response as JsonObject);
    }
  }

  /** Sends a notification of the call (progress) on the open round's response; dropped between rounds. */
  notify(notification: Message): Promise<void> {
    return this.#relay?.(notification) ?? Promise.resolve();
  }

  /**
   * Waits for the end of a round: the call's result (or error), or requests for the client. A round whose `signal`
   * aborts (the client cancelled it) gives the call up; `relay` carries the call's notifications meanwhile. Between
   * rounds the call expires after `expiryMs` milliseconds.
   * @throws whatever the call failed with
   */
  async round(
    round: {signal: AbortSignal; relay(notification: Message): Promise<void>},
    expiryMs: number,
  ): Promise<RoundOutcome> {
    const {signal} = round;
    clearTimeout(this.#expiry);
    this.#relay = round.relay;
    const cancel = () => this.abort('cancelled by the client');
    signal.addEventListener('abort', cancel);
    try {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (this.ended || this.#asks.size > 0) resolve();
      });
    } finally {
      this.#wake = undefined;
      this.#relay = undefined;
      signal.removeEventListener('abort', cancel);
    }
    if (this.#settled) return {result: await (this.#outcome as Promise<JsonObject>)};
    if (this.#controller.signal.aborted) throw this.#controller.signal.reason;
    this.#expiry = setTimeout(() => this.abort('the client did not answer in time'), expiryMs).unref();
    const inputRequests: Record<string, Message> = {};
    for (const [key, ask] of this.#asks) inputRequests[key] = ask.request;
    return {inputRequired: {resultType: 'input_required', inputRequests, requestState: this.id}};
  }

  /** True once the call has ended (its last round returned the result, or it was given up). */
  get ended(): boolean {
    return this.#settled || this.#controller.signal.aborted;
  }

  /** Gives the call up: the upstream call is cancelled and its waiting requests are refused. */
  abort(reason: string): void {
    clearTimeout(this.#expiry);
    const error = new JsonRpcFailure(JsonRpcCode.InternalError, `The call was given up: ${reason}`);
    for (const ask of this.#asks.values()) ask.reject(error);
    this.#asks.clear();
    this.#controller.abort(error);
    this.#wake?.();
  }
}
