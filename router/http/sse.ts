import type {IncomingMessage, ServerResponse} from 'node:http';
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import {JSONRPCMessageSchema, type JSONRPCMessage, type MessageExtraInfo} from '@modelcontextprotocol/sdk/types.js';
import contentType from 'content-type';
import {messageJson} from '../catalog/serialized.js';
import {sseHeaders, writeSseData} from './node-io.js';

/**
 * The server end of one legacy HTTP+SSE session (MCP 2024-11-05 basic/transports): the GET response is the session's
 * event stream, which starts with an `endpoint` event naming `POST {endpoint}?sessionId=...`; each client message
 * comes in such a POST and is answered 202 `Accepted`, its replies on the stream. It keeps the SDK 1.x
 * `SSEServerTransport`'s semantics (400 for a non-JSON content type or a body that is not a JSON-RPC message, 500 once
 * the stream is gone) with the session id given by the caller, the router's `SessionRegistry.newId`. The app checks
 * Host and Origin; this transport does not.
 */
export class NodeSseTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  readonly sessionId: string;
  /** `send` writes a result's own JSON (`messageJson`), bytes included. */
  readonly writesResultBytes = true;

  readonly #endpoint: string;
  readonly #res: ServerResponse;
  #stream?: ServerResponse;

  /**
   * @param endpoint path the client posts its messages to, e.g. `/message`
   * @param res the response of the client's GET, which becomes the event stream on `start()`
   */
  constructor(endpoint: string, res: ServerResponse, sessionId: string) {
    this.#endpoint = endpoint;
    this.#res = res;
    this.sessionId = sessionId;
  }

  /** Opens the event stream and sends the `endpoint` event; the session's `LegacyPeer.connect` calls it. */
  async start(): Promise<void> {
    if (this.#stream) throw new Error('NodeSseTransport already started');
    const res = this.#res;
    res.writeHead(200, {
      'content-type': sseHeaders['content-type'],
      'cache-control': sseHeaders['cache-control'],
      connection: sseHeaders.connection,
    });
    res.write(`event: endpoint\ndata: ${this.#endpoint}?${new URLSearchParams({sessionId: this.sessionId})}\n\n`);
    this.#stream = res;
    res.on('close', () => {
      this.#stream = undefined;
      this.onclose?.();
    });
  }

  /**
   * Takes one client message from a POST whose body the app has parsed (`parsedBody`) and answers 202.
   * @throws Error when the event stream is gone (after answering 500)
   */
  async handlePostMessage(req: IncomingMessage, res: ServerResponse, parsedBody: unknown): Promise<void> {
    if (!this.#stream) {
      const message = 'SSE connection not established';
      res.writeHead(500).end(message);
      throw new Error(message);
    }
    try {
      const type = contentType.parse(req.headers['content-type'] ?? '').type;
      if (type !== 'application/json') throw new Error(`Unsupported content-type: ${type}`);
    } catch (error) {
      res.writeHead(400).end(String(error));
      this.onerror?.(error as Error);
      return;
    }
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(parsedBody);
    } catch (error) {
      this.onerror?.(error as Error);
      res.writeHead(400).end(`Invalid message: ${parsedBody}`);
      return;
    }
    this.onmessage?.(message, {requestInfo: {headers: req.headers}});
    res.writeHead(202).end('Accepted');
  }

  async close(): Promise<void> {
    this.#stream?.end();
    this.#stream = undefined;
    this.onclose?.();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.#stream) throw new Error('Not connected');
    writeSseData(this.#stream, 'event: message\n', messageJson(message));
  }
}
