import type {EventStore} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {jsonBytes, messageJson} from '../catalog/serialized.js';

/** An event store that may be given the size of a message's JSON, so that a message is serialized only once. */
export interface SizedEventStore extends EventStore {
  storeEvent(streamId: string, message: JSONRPCMessage, bytes?: number): Promise<string>;
}

interface StoredEvent {
  id: string;
  streamId: string;
  message: JSONRPCMessage;
  bytes: number;
}

/**
 * The events a Streamable HTTP session sent, kept so that a client whose stream dropped can resume it with
 * `Last-Event-ID` and miss nothing (MCP 2025-11-25 basic/transports, Resumability and Redelivery). One store per
 * session, bounded: at most `maxEvents` events and `maxBytes` bytes of JSON; the oldest go first, and an event larger
 * than `maxBytes` is not kept. Event ids are `<stream id>.<sequence>` and never repeat within a session.
 */
export class BoundedEventStore implements SizedEventStore {
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  /** In the order they were stored, oldest first. */
  #events: StoredEvent[] = [];
  #bytes = 0;
  #sequence = 0;

  constructor(limits: {maxEvents: number; maxBytes: number}) {
    this.#maxEvents = limits.maxEvents;
    this.#maxBytes = limits.maxBytes;
  }

  /**
   * Keeps `message` as the next event of `streamId`; `bytes`, the length of its JSON when the caller has already
   * serialized it (the transport does, to write it), saves serializing it again.
   * @returns the event's id
   */
  async storeEvent(streamId: string, message: JSONRPCMessage, bytes?: number): Promise<string> {
    return this.#store(streamId, message, bytes ?? jsonBytes(messageJson(message)));
  }

  #store(streamId: string, message: JSONRPCMessage, bytes: number): string {
    const id = `${streamId}.${++this.#sequence}`;
    if (bytes > this.#maxBytes || this.#maxEvents === 0) return id;
    this.#events.push({id, streamId, message, bytes});
    this.#bytes += bytes;
    let drop = 0;
    while (this.#events.length - drop > this.#maxEvents || this.#bytes > this.#maxBytes) {
      this.#bytes -= (this.#events[drop] as StoredEvent).bytes;
      drop++;
    }
    if (drop > 0) this.#events = this.#events.slice(drop);
    return id;
  }

  /** The stream of a stored event; undefined for an id unknown or evicted, which the SDK answers with 400. */
  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.#events.find((event) => event.id === eventId)?.streamId;
  }

  /**
   * Sends the events of `lastEventId`'s stream stored after it, in order.
   * @returns the stream id, for the SDK to continue that stream
   * @throws Error when the id is not one of this store's (unknown, or already evicted: the client cannot resume)
   */
  async replayEventsAfter(
    lastEventId: string,
    {send}: {send: (eventId: string, message: JSONRPCMessage) => Promise<void>},
  ): Promise<string> {
    const index = this.#events.findIndex((event) => event.id === lastEventId);
    if (index < 0) throw new Error('Last-Event-ID is unknown or too old to resume from');
    const {streamId} = this.#events[index] as StoredEvent;
    for (const event of this.#events.slice(index + 1)) {
      if (event.streamId === streamId) await send(event.id, event.message);
    }
    return streamId;
  }
}
