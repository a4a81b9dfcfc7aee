/** A JSON-RPC message id as a map key: numbers and strings kept apart (`1` is not `"1"`). */
type IdKey = string;

function keyOf(id: unknown): IdKey | undefined {
  if (typeof id === 'number') return `n:${id}`;
  if (typeof id === 'string') return `s:${id}`;
  return undefined;
}

function messagesOf(body: unknown): Record<string, unknown>[] {
  const list = Array.isArray(body) ? body : [body];
  return list.filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null);
}

/**
 * The ids of a session's client requests still unanswered. JSON-RPC 2.0 lets a client reuse an id only once the
 * earlier request is answered; the SDK's transports key streams and handlers by id, so a second request with a
 * pending id would leave one of the two unanswered for ever. The router refuses the second instead.
 */
export class PendingRequestIds {
  readonly #pending = new Set<IdKey>();

  /** How many requests are unanswered. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Takes the requests of a body (one message or a batch) as pending and reads cancellations in it.
   * @returns the id of the first request whose id is already pending (or repeated in the batch): nothing is taken
   *   then, and the body must be refused; undefined when the body is accepted
   */
  admit(body: unknown): string | number | undefined {
    const messages = messagesOf(body);
    const keys: IdKey[] = [];
    for (const message of messages) {
      if (typeof message.method !== 'string' || !('id' in message)) continue;
      const key = keyOf(message.id);
      if (key === undefined) continue;
      if (this.#pending.has(key) || keys.includes(key)) return message.id as string | number;
      keys.push(key);
    }
    for (const key of keys) this.#pending.add(key);
    for (const message of messages) {
      if (message.method === 'notifications/cancelled') {
        this.settle((message.params as {requestId?: unknown} | undefined)?.requestId);
      }
    }
    return undefined;
  }

  /** Ids of the requests in a body, to settle when the HTTP exchange that carried them ends. */
  requestIds(body: unknown): unknown[] {
    return messagesOf(body)
      .filter((m) => typeof m.method === 'string' && 'id' in m)
      .map((m) => m.id);
  }

  /** The request with this id was answered (or cancelled, or its stream closed). */
  settle(id: unknown): void {
    const key = keyOf(id);
    if (key !== undefined) this.#pending.delete(key);
  }
}
