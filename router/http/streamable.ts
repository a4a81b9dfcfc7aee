import {randomUUID} from 'node:crypto';
import type {IncomingMessage, OutgoingHttpHeaders, ServerResponse} from 'node:http';
import {isJsonContentType} from '@modelcontextprotocol/sdk/shared/mediaType.js';
import type {Transport, TransportSendOptions} from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  isInitializeRequest,
  JSONRPCMessageSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type InitializeRequest,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import {jsonBytes, messageJson, type MessageJson} from '../catalog/serialized.js';
import type {SizedEventStore} from './event-store.js';
import {header, readBody, sendJsonError, sendJsonMessage, sseHeaders, writeSseData} from './node-io.js';

/** Milliseconds between SSE keep-alive comments on an open stream (the SDK's default). */
const KEEP_ALIVE_MS = 15_000;
/** Most messages in one JSON-RPC batch (the SDK's limit). */
const MAX_BATCH_SIZE = 100;
/** Largest body this transport reads itself, when no parsed body is given (the SDK's default, 4 MiB). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** The stream id of the session's GET stream. */
const STANDALONE = '_GET_stream';

/** One open SSE response of the session: a POST's answer stream or the GET stream. */
interface SseStream {
  res: ServerResponse;
  keepAlive?: NodeJS.Timeout;
  /** Events a resume already wrote, not to write twice. */
  replayed?: Set<string>;
  /**
   * A POST of one request whose answer shape is not chosen yet: its response, when it comes first and within the
   * turn of the event loop that read the request, is the whole body as JSON; anything else starts the SSE stream.
   */
  undecided?: {protocolVersion: string};
  /** The priming event being written, which the stream's other events wait for. */
  primed?: Promise<void>;
}

/** Options of `NodeStreamableTransport`. */
export interface NodeStreamableOptions {
  /** Makes the session id when the client's `initialize` arrives (the router's `SessionRegistry.newId`). */
  newSessionId: () => string;
  /** Called with the new id before the `initialize` goes to the server. */
  onsessioninitialized?: (sessionId: string) => void;
  /** Keeps sent events for `Last-Event-ID` resumption; without it, streams are not resumable. */
  eventStore?: SizedEventStore;
  /** Milliseconds a client waits before resuming (the SSE `retry` of the priming event). */
  retryInterval?: number;
}

/**
 * The server end of one Streamable HTTP session (MCP 2025-11-25 basic/transports), on Node's own request and
 * response: no web Request/Response per message. It keeps the SDK 1.x `StreamableHTTPServerTransport`'s protocol
 * semantics in stateful SSE mode, status by status: 406 without the right `Accept`, 415 without JSON, 400/-32700 for
 * a body that is not JSON-RPC, 400/-32600 for a batch over 100 or a second `initialize`, 400 without `Mcp-Session-Id`
 * or with an unsupported `MCP-Protocol-Version`, 404/-32001 for another or a closed session, 409 for a second GET
 * stream or a stream resumed twice, 202 for notifications and responses. A POST of one request whose response is
 * ready within the turn of the event loop that read it, and is the first message for it (what the router answers
 * itself: `initialize`, `ping`, lists), gets that response as its whole body, `application/json` with a
 * `Content-Length` (ADR 0040); other requests are answered on an SSE stream that ends with their last response,
 * preceded by a priming event (id, `retry`) when events are stored and the client speaks 2025-11-25 or later;
 * `Last-Event-ID` on GET replays a stream (400 for an unknown id, 500 when the store fails); DELETE closes the
 * session (200). It does not do the SDK's JSON response mode (every answer as JSON), stateless mode, DNS rebinding
 * checks (the app checks Host and Origin) or `closeSSEStream` callbacks, which the router does not use.
 */
export class NodeStreamableTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  sessionId?: string;
  /** `send` writes a result's own JSON (`messageJson`), bytes included. */
  readonly writesResultBytes = true;

  readonly #options: NodeStreamableOptions;
  readonly #streams = new Map<string, SseStream>();
  readonly #requestStreams = new Map<RequestId, string>();
  readonly #responses = new Map<RequestId, JSONRPCMessage>();
  /** Request streams whose client holds a `Last-Event-ID` cursor, so that a stored response is replayed on resume. */
  readonly #resumable = new Set<string>();
  #started = false;
  #initialized = false;
  #closed = false;

  constructor(options: NodeStreamableOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('Transport already started');
    this.#started = true;
  }

  /**
   * Serves one HTTP request of the session: POST (with the body already parsed, or read here up to 4 MiB), GET (the
   * session's stream, or a resumed one) or DELETE.
   */
  async handleRequest(req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void> {
    if (this.#closed) return this.#refuse(res, 404, -32001, 'Session not found');
    if (req.method === 'POST') return this.#post(req, res, parsedBody);
    if (req.method === 'GET') return this.#get(req, res);
    return this.#delete(req, res);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, stream] of this.#streams) this.#end(id, stream);
    this.#streams.clear();
    this.#responses.clear();
    this.#resumable.clear();
    this.onclose?.();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    // Messages sent come from the session's peer (`LegacyPeer`), well-formed: their keys say what they are.
    const isResponse = 'result' in message || 'error' in message;
    const requestId = isResponse ? (message.id as RequestId) : options?.relatedRequestId;
    const store = this.#options.eventStore;
    // Serialized once, for the store's count and the stream (a large result is costly to serialize).
    const json = messageJson(message);
    const bytes = store && jsonBytes(json);
    if (requestId === undefined) {
      if (isResponse) {
        throw new Error('Cannot send a response on a standalone SSE stream unless resuming a previous client request');
      }
      // Stored even while no GET stream is open, to be replayed when one resumes.
      const eventId = store ? await store.storeEvent(STANDALONE, message, bytes) : undefined;
      const stream = this.#streams.get(STANDALONE);
      if (stream && (eventId === undefined || !stream.replayed?.has(eventId))) this.#write(stream, json, eventId);
      return;
    }
    const streamId = this.#requestStreams.get(requestId);
    if (streamId === undefined) throw new Error(`No connection established for request ID: ${String(requestId)}`);
    let stream = this.#streams.get(streamId);
    if (stream?.undecided) {
      if (isResponse && this.#answerInJson(streamId, stream, requestId, json)) return;
      this.#startStream(streamId, stream);
    }
    if (stream?.primed) await stream.primed;
    let eventId: string | undefined;
    if (store) {
      eventId = await store.storeEvent(streamId, message, bytes);
      // A resume that completed meanwhile replaced the stream: write to the live one.
      stream = this.#streams.get(streamId);
    }
    let related: RequestId[] | undefined;
    if (isResponse) {
      this.#responses.set(requestId, message);
      related = [...this.#requestStreams].filter(([, id]) => id === streamId).map(([id]) => id);
    }
    // After the last response of a stream, the stream ends, in the same write as that response (`end(chunk)`).
    // (Corking the response by hand for one write lost the end on Node.js 22: the response stayed buffered.)
    const last = related !== undefined && related.every((id) => this.#responses.has(id));
    if (stream && (eventId === undefined || !stream.replayed?.has(eventId))) {
      if (this.#write(stream, json, eventId, last) && eventId !== undefined) this.#resumable.add(streamId);
    }
    if (!last || related === undefined) return;
    for (const id of related) {
      this.#responses.delete(id);
      this.#requestStreams.delete(id);
    }
    if (stream) {
      this.#end(streamId, stream);
      this.#resumable.delete(streamId);
      return;
    }
    // close() ran while the store awaited, or the stream dropped: a stored response is replayed on resume.
    if (this.#closed) return;
    if (store && this.#resumable.delete(streamId)) return;
    throw new Error(`No connection established for request ID: ${String(requestId)}`);
  }

  async #post(req: IncomingMessage, res: ServerResponse, parsedBody: unknown): Promise<void> {
    const accept = req.headers.accept;
    if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) {
      const message = 'Not Acceptable: Client must accept both application/json and text/event-stream';
      return this.#refuse(res, 406, -32000, message);
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      return this.#refuse(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    let raw = parsedBody;
    if (raw === undefined) {
      try {
        const text = await readBody(req, MAX_BODY_BYTES);
        if (text === undefined) {
          const message = `Payload Too Large: Request body must not exceed ${MAX_BODY_BYTES} bytes`;
          return this.#refuse(res, 413, -32000, message);
        }
        raw = JSON.parse(text);
      } catch {
        return this.#refuse(res, 400, -32700, 'Parse error: Invalid JSON');
      }
    }
    if (Array.isArray(raw) && raw.length > MAX_BATCH_SIZE) {
      return this.#refuse(res, 400, -32600, `Invalid Request: Batch must not exceed ${MAX_BATCH_SIZE} messages`);
    }
    let messages: JSONRPCMessage[];
    try {
      messages = (Array.isArray(raw) ? raw : [raw]).map((message) => JSONRPCMessageSchema.parse(message));
    } catch {
      return this.#refuse(res, 400, -32700, 'Parse error: Invalid JSON-RPC message');
    }
    if (this.#closed) return this.#refuse(res, 404, -32001, 'Session not found');
    const initialize = messages.find(isInitialize);
    if (initialize) {
      if (this.#initialized) return this.#refuse(res, 400, -32600, 'Invalid Request: Server already initialized');
      if (messages.length > 1) {
        return this.#refuse(res, 400, -32600, 'Invalid Request: Only one initialization request is allowed');
      }
      this.sessionId = this.#options.newSessionId();
      this.#initialized = true;
      this.#options.onsessioninitialized?.(this.sessionId);
    } else if (!this.#admits(req, res)) return;
    if (this.#closed) return this.#refuse(res, 404, -32001, 'Session not found');
    const extra: MessageExtraInfo = {requestInfo: {headers: req.headers}};
    if (!messages.some(isRequest)) {
      for (const message of messages) this.onmessage?.(message, extra);
      res.writeHead(202).end();
      return;
    }
    const streamId = randomUUID();
    const version = initialize
      ? initialize.params.protocolVersion
      : (header(req, 'mcp-protocol-version') ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION);
    const requests = messages.filter(isRequest);
    const stream: SseStream = requests.length === 1 ? {res, undecided: {protocolVersion: version}} : {res};
    this.#streams.set(streamId, stream);
    for (const message of requests) this.#requestStreams.set(message.id, streamId);
    res.once('close', () => this.#dropped(streamId, stream));
    try {
      if (!stream.undecided) await this.#prime(stream, streamId, version);
      for (const message of messages) this.onmessage?.(message, extra);
    } catch (error) {
      this.#streams.delete(streamId);
      this.#resumable.delete(streamId);
      for (const message of messages) if (isRequest(message)) this.#requestStreams.delete(message.id);
      this.onerror?.(error as Error);
      if (res.headersSent) res.end();
      else sendJsonError(res, 400, -32700, 'Parse error', String(error));
      return;
    }
    // The responses may all have been written already; a stream still open starts now (the SDK sends its head
    // before the first event too) and gets keep-alives. A single request not answered in this turn of the event
    // loop starts its stream after it, with its priming event, so that a client of a long call can resume it.
    if (stream.undecided) {
      setImmediate(() => {
        if (stream.undecided && this.#streams.get(streamId) === stream) this.#startStream(streamId, stream);
      });
    } else if (this.#streams.get(streamId) === stream) this.#begin(stream);
  }

  /**
   * Writes a single request's response as the POST's whole JSON body (MCP 2025-11-25 basic/transports: the server
   * answers a POST of requests with either an SSE stream or one JSON object), when it is that stream's first message.
   * Not stored for replay: the client has it whole, or has nothing to resume from.
   * @returns false when the stream is closed, and the response goes the SSE way
   */
  #answerInJson(streamId: string, stream: SseStream, requestId: RequestId, json: MessageJson): boolean {
    if (stream.res.writableEnded || stream.res.destroyed) return false;
    stream.undecided = undefined;
    this.#requestStreams.delete(requestId);
    this.#streams.delete(streamId);
    sendJsonMessage(stream.res, json, this.sessionId === undefined ? {} : {'mcp-session-id': this.sessionId});
    return true;
  }

  /** Starts the SSE stream of a POST whose answer shape was undecided: its head, priming event and keep-alives. */
  #startStream(streamId: string, stream: SseStream): void {
    const protocolVersion = stream.undecided?.protocolVersion ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
    stream.undecided = undefined;
    stream.primed = this.#prime(stream, streamId, protocolVersion).then(
      () => {
        if (this.#streams.get(streamId) === stream) this.#begin(stream);
      },
      (error: Error) => {
        this.onerror?.(error);
        this.#end(streamId, stream);
      },
    );
  }

  async #get(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!req.headers.accept?.includes('text/event-stream')) {
      return this.#refuse(res, 406, -32000, 'Not Acceptable: Client must accept text/event-stream');
    }
    if (!this.#admits(req, res)) return;
    const lastEventId = this.#options.eventStore && header(req, 'last-event-id');
    if (lastEventId) return this.#resume(lastEventId, res);
    if (this.#streams.has(STANDALONE)) {
      return this.#refuse(res, 409, -32000, 'Conflict: Only one SSE stream is allowed per session');
    }
    const stream: SseStream = {res};
    this.#streams.set(STANDALONE, stream);
    res.once('close', () => this.#dropped(STANDALONE, stream));
    this.#open(stream);
    res.flushHeaders();
    this.#keepAlive(stream);
  }

  /** Replays the stream of `lastEventId` after it and goes on with it (Resumability and Redelivery). */
  async #resume(lastEventId: string, res: ServerResponse): Promise<void> {
    const store = this.#options.eventStore as SizedEventStore;
    try {
      if (store.getStreamIdForEventId) {
        const known = await store.getStreamIdForEventId(lastEventId);
        if (!known) return this.#refuse(res, 400, -32000, 'Invalid event ID format');
        if (this.#streams.has(known)) {
          return this.#refuse(res, 409, -32000, 'Conflict: Stream already has an active connection');
        }
      }
      const frames: (string | Buffer)[] = [];
      const replayed = new Set<string>();
      const streamId = await store.replayEventsAfter(lastEventId, {
        send: async (eventId, message) => {
          const json = messageJson(message);
          frames.push(`${eventHead(eventId)}data: `, ...(typeof json === 'string' ? [json] : json), '\n\n');
          replayed.add(eventId);
        },
      });
      if (this.#closed || res.destroyed) return this.#refuse(res, 404, -32001, 'Session not found');
      const previous = this.#streams.get(streamId);
      if (previous) this.#end(streamId, previous);
      const stream: SseStream = {res, replayed};
      this.#streams.set(streamId, stream);
      res.once('close', () => this.#dropped(streamId, stream));
      // The resume itself proves that the client holds a Last-Event-ID cursor.
      this.#resumable.add(streamId);
      this.#open(stream);
      // One write when every frame is text; a result's bytes are not copied into it.
      if (frames.length === 0) res.flushHeaders();
      else if (frames.every((frame) => typeof frame === 'string')) res.write(frames.join(''));
      else for (const frame of frames) res.write(frame);
      this.#keepAlive(stream);
    } catch (error) {
      this.onerror?.(error as Error);
      this.#refuse(res, 500, -32000, 'Error replaying events');
    }
  }

  async #delete(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#admits(req, res)) return;
    await this.close();
    res.writeHead(200).end();
  }

  /** Session and protocol version checks of every request after `initialize`; refuses and returns false. */
  #admits(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.#initialized) {
      this.#refuse(res, 400, -32000, 'Bad Request: Server not initialized');
      return false;
    }
    const sessionId = header(req, 'mcp-session-id');
    if (!sessionId) {
      this.#refuse(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return false;
    }
    if (sessionId !== this.sessionId) {
      this.#refuse(res, 404, -32001, 'Session not found');
      return false;
    }
    const version = header(req, 'mcp-protocol-version');
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      const supported = SUPPORTED_PROTOCOL_VERSIONS.join(', ');
      this.#refuse(
        res,
        400,
        -32000,
        `Bad Request: Unsupported protocol version: ${version} (supported versions: ${supported})`,
      );
      return false;
    }
    return true;
  }

  /** Writes the priming event (an id to resume from, empty data) for clients of 2025-11-25 or later. */
  async #prime(stream: SseStream, streamId: string, protocolVersion: string): Promise<void> {
    const store = this.#options.eventStore;
    if (!store || protocolVersion < '2025-11-25') return;
    const eventId = await store.storeEvent(streamId, {} as JSONRPCMessage);
    const retry = this.#options.retryInterval;
    this.#open(stream);
    stream.res.write(`id: ${eventId}\n${retry === undefined ? '' : `retry: ${retry}\n`}data: \n\n`);
    this.#resumable.add(streamId);
  }

  /** Starts an open POST stream: its head now, unless an event already wrote it, and keep-alives. */
  #begin(stream: SseStream): void {
    const started = stream.res.headersSent;
    this.#open(stream);
    if (!started) stream.res.flushHeaders();
    this.#keepAlive(stream);
  }

  /** Writes the SSE response head once. */
  #open(stream: SseStream): void {
    if (stream.res.headersSent) return;
    const headers: OutgoingHttpHeaders = {...sseHeaders};
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    stream.res.writeHead(200, headers);
  }

  /** Writes one message event, its data `json`; with `end`, the stream's last. */
  #write(stream: SseStream, json: MessageJson, eventId: string | undefined, end = false): boolean {
    if (stream.res.writableEnded || stream.res.destroyed) {
      this.onerror?.(new Error('The SSE stream is closed'));
      return false;
    }
    this.#open(stream);
    writeSseData(stream.res, eventHead(eventId), json, end);
    return true;
  }

  #keepAlive(stream: SseStream): void {
    if (this.#closed) return;
    stream.keepAlive = setInterval(() => {
      if (stream.res.writableEnded || stream.res.destroyed) clearInterval(stream.keepAlive);
      else stream.res.write(': keepalive\n\n');
    }, KEEP_ALIVE_MS).unref();
  }

  /** Ends a stream from the server side. */
  #end(streamId: string, stream: SseStream): void {
    clearInterval(stream.keepAlive);
    if (this.#streams.get(streamId) === stream) this.#streams.delete(streamId);
    if (stream.res.writableEnded) return;
    this.#open(stream);
    stream.res.end();
  }

  /** The response closed (ended, or the client went away); a successor registered by a resume stays. */
  #dropped(streamId: string, stream: SseStream): void {
    clearInterval(stream.keepAlive);
    if (this.#streams.get(streamId) === stream) this.#streams.delete(streamId);
  }

  #refuse(res: ServerResponse, status: number, code: number, message: string): void {
    this.onerror?.(new Error(message));
    sendJsonError(res, status, code, message);
  }
}

/** The fields of an SSE `message` event before its data (the SDK's framing: `event`, then `id` when there is one). */
function eventHead(eventId: string | undefined): string {
  return `event: message\n${eventId ? `id: ${eventId}\n` : ''}`;
}

/**
 * Whether a message, already parsed as `JSONRPCMessageSchema`, is a request: of the schema's four shapes, only a
 * request has both a method and an id. The SDK's `isJSONRPCRequest` parses the message a second time to say so.
 */
function isRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && 'id' in message;
}

/** Whether a message is the client's `initialize` (its method is checked first: the schema costs more). */
function isInitialize(message: JSONRPCMessage): message is JSONRPCMessage & InitializeRequest {
  return 'method' in message && message.method === 'initialize' && isInitializeRequest(message);
}
