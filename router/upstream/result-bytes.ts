import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {scanResponse, type ScannedResponse} from './response-scan.js';

/**
 * Results smaller than this (bytes of the whole message) are parsed as before: passing them through saves less than
 * the scan and the extra writes cost.
 */
export const RESULT_BYTES_FROM = 64 * 1024;

/** Where the result of one request arrives when it came as bytes; empty when it was parsed instead. */
export interface ResultBytesSlot {
  response?: ScannedResponse;
}

/**
 * The requests of one upstream transport whose result the connection takes as the bytes the upstream sent
 * (`bytesResult`), not parsed: large `tools/call` results the router passes on unchanged.
 *
 * The connection asks before sending (`expect`, by the identity of the request's `params`, which the SDK's client
 * passes to its transport as they are on a 2025-era connection); the transport tells it what it sends (`sent`) and
 * gives it each large message before parsing it (`take`). A response taken reaches the SDK's client as an empty
 * result, which settles the request as usual; the connection then reads the slot. Anything not taken (a message
 * that is not one success response of an expected request, see `scanResponse`) is parsed as before.
 */
export class ResultBytes {
  readonly #expected = new WeakMap<object, ResultBytesSlot>();
  readonly #pending = new Map<string | number, ResultBytesSlot>();

  /** Asks for the result of the request that will be sent with `params` as bytes; read the slot once it settled. */
  expect(params: object): ResultBytesSlot {
    const slot: ResultBytesSlot = {};
    this.#expected.set(params, slot);
    return slot;
  }

  /** Lets go of a slot whose request settled (answered, failed or cancelled). */
  forget(params: object, slot: ResultBytesSlot): void {
    this.#expected.delete(params);
    for (const [id, pending] of this.#pending) if (pending === slot) this.#pending.delete(id);
  }

  /** Called by the transport as it sends a message, before any reply can arrive. */
  sent(message: JSONRPCMessage): void {
    if (!('method' in message) || !('id' in message) || !message.params) return;
    const slot = this.#expected.get(message.params);
    if (!slot) return;
    this.#expected.delete(message.params);
    this.#pending.set(message.id, slot);
  }

  /**
   * Takes a message's bytes (UTF-8 JSON) when they are the success response of a pending request and large enough.
   * @returns the message to give the SDK's client in their place (the response with an empty result), or undefined
   *   for the transport to parse the bytes as usual
   */
  take(bytes: Buffer): JSONRPCMessage | undefined {
    if (this.#pending.size === 0 || bytes.length < RESULT_BYTES_FROM) return undefined;
    const response = scanResponse(bytes);
    const slot = response && this.#pending.get(response.id);
    if (!response || !slot) return undefined;
    this.#pending.delete(response.id);
    slot.response = response;
    return {jsonrpc: '2.0', id: response.id, result: {}};
  }
}
