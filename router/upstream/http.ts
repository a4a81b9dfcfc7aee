import {setMaxListeners} from 'node:events';
import {Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders} from 'node:http';
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https';
import {
  extractWWWAuthenticateParams,
  InsufficientScopeError,
  parseJSONRPCMessage,
  PROTOCOL_VERSION_META_KEY,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/client';
import contentType from 'content-type';
import type {Logger} from '../log.js';
import {oversizedResponse, tooLargeResponse} from './framing.js';
import {RESULT_BYTES_FROM, ResultBytes} from './result-bytes.js';
import {SseParser} from './sse-parser.js';

/**
 * Keep-alive agents shared by every HTTP upstream: an agent keeps one pool of sockets per host and port, so each
 * upstream (its origin) has its own pool, reused by every message instead of a connection per request.
 */
const AGENTS = {
  'http:': new HttpAgent({keepAlive: true}),
  'https:': new HttpsAgent({keepAlive: true}),
};

/** Backoff of a broken SSE stream's reconnection, as the SDK's `StreamableHTTPClientTransport` has it by default. */
export const RECONNECTION = {initialDelayMs: 1000, maxDelayMs: 30_000, growFactor: 1.5, maxRetries: 2};

/** Statuses of a redirect (RFC 9110 section 15.4), and how many are followed within the origin. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** Where an `Mcp-Name` header's value comes from, by method (MCP 2026-07-28 basic/transports, standard headers). */
const MCP_NAME_SOURCE: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** Header names the transport derives itself, which `TransportSendOptions.headers` cannot override. */
const RESERVED = new Set([
  'authorization',
  'dpop',
  'content-type',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'mcp-session-id',
]);

/** The options of `StreamableHttpUpstreamTransport`. */
export interface HttpUpstreamOptions {
  /** Sent on every request (the upstream's configured headers, `Authorization: Basic` of URL userinfo). */
  headers?: Record<string, string>;
  /** More headers per request, computed when it is sent (the trace context's `traceparent`). */
  requestHeaders?: () => Record<string, string>;
  /**
   * Largest message read from the upstream, in bytes (`router.limits.maxUpstreamMessageBytes`; default: no limit).
   * A larger response fails its own call with a JSON-RPC error (-32603) naming the size and the limit; a larger
   * request or notification of the upstream is dropped with a warning on `log`. Neither is ever held whole.
   */
  maxMessageBytes?: number;
  log?: Logger;
}

/** What the transport reads of one HTTP response. */
interface Reply {
  status: number;
  statusText: string;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
  /** The URL the response came from, after redirects. */
  url: URL;
}

/** Options of one SSE stream the transport reads: a POST's reply or the GET stream. */
interface StreamOptions {
  requestSignal?: AbortSignal;
  /** A GET stream: reconnect when it ends without a response (POST streams only when the server gave event ids). */
  reconnectable: boolean;
}

/**
 * The router's MCP Streamable HTTP client transport (MCP 2025-11-25 and 2026-07-28 basic/transports), for the SDK 2.x
 * `Client` that speaks to HTTP upstreams; what the SDK's `StreamableHTTPClientTransport` does, on `node:http` with a
 * keep-alive pool per upstream and a Buffer SSE parser (`SseParser`) instead of `fetch` and web streams:
 *
 * - one POST per message (`Accept: application/json, text/event-stream`), with `Mcp-Session-Id` (taken from the
 *   `initialize` response, never sent with `initialize`) and `MCP-Protocol-Version`; a request with a 2026-07-28
 *   `_meta` envelope also sends `Mcp-Method` and `Mcp-Name` derived from its body;
 * - a reply is an SSE stream (each `message` event one JSON-RPC message), a JSON body, or 202 for notifications and
 *   responses; 202 to `notifications/initialized` opens the GET stream (405: the server has none);
 * - a stream that breaks or ends before its response reconnects with GET and `Last-Event-ID` when it had event ids
 *   (the GET stream always), after the server's `retry` or a backoff of 1 s x 1.5^n up to 30 s, at most 2 times;
 * - redirects are followed only within the origin and keeping the method (as the SDK's default `same-origin` policy);
 * - `terminateSession` sends DELETE (405 accepted); `close` aborts every request and stream.
 *
 * Errors are the SDK's: `SdkHttpError` with the status for a refused request, `SdkError` for an unexpected content
 * type, `InsufficientScopeError` for a 403 `insufficient_scope`; a socket error as Node gives it (`code`
 * `ECONNREFUSED`, ...). The router configures no OAuth provider for upstreams, so none of the SDK's auth flows apply.
 */
export class StreamableHttpUpstreamTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  /** Each request has a stream of its own: the 2.x `Client` cancels a 2026-07-28 request by aborting it. */
  readonly hasPerRequestStream = true;
  /** Requests whose large results the connection takes as bytes. */
  readonly resultBytes = new ResultBytes();

  readonly #url: URL;
  readonly #options: HttpUpstreamOptions;
  #abort: AbortController | undefined;
  #sessionId: string | undefined;
  #protocolVersion: string | undefined;
  #serverRetryMs: number | undefined;
  #cancelReconnection: (() => void) | undefined;

  constructor(url: URL, options: HttpUpstreamOptions = {}) {
    this.#url = url;
    this.#options = options;
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
  }

  /** @throws Error when started twice */
  async start(): Promise<void> {
    if (this.#abort) throw new Error('StreamableHttpUpstreamTransport already started');
    this.#abort = new AbortController();
    // Every request in flight listens on this signal; more than Node's default 10 at once is normal, not a leak.
    setMaxListeners(0, this.#abort.signal);
  }

  async close(): Promise<void> {
    try {
      this.#cancelReconnection?.();
    } finally {
      this.#cancelReconnection = undefined;
      this.#abort?.abort();
      this.onclose?.();
    }
  }

  /**
   * POSTs one message and reads its reply; responses and requests of the server arrive through `onmessage`.
   * @throws SdkHttpError for a status other than 2xx; SdkError for an unexpected content type; a socket error
   */
  async send(message: JSONRPCMessage | JSONRPCMessage[], options?: TransportSendOptions): Promise<void> {
    const requestSignal = options?.requestSignal;
    try {
      const messages = Array.isArray(message) ? message : [message];
      const headers = this.#commonHeaders();
      const single = Array.isArray(message) ? undefined : message;
      const request = single && isRequest(single) ? single : undefined;
      const envelope = request && envelopeVersion(request);
      if (request && envelope !== undefined) {
        headers['mcp-protocol-version'] = envelope;
        headers['mcp-method'] = request.method;
        const name = nameOf(request.method, request.params);
        if (name !== undefined) headers['mcp-name'] = encodeHeaderValue(name);
      }
      const handshake = messages.some((m) => isRequest(m) && m.method === 'initialize');
      if (handshake) delete headers['mcp-session-id'];
      for (const [name, value] of Object.entries(options?.headers ?? {})) {
        if (!RESERVED.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
      }
      headers['content-type'] = 'application/json';
      headers.accept = acceptWith(headers.accept, ['application/json', 'text/event-stream']);
      if (request) this.resultBytes.sent(request);
      const reply = await this.#request('POST', headers, JSON.stringify(message), requestSignal);
      if (handshake && ok(reply.status)) this.#sessionId = header(reply, 'mcp-session-id') || undefined;
      if (!ok(reply.status)) {
        const text = await readText(reply.body).catch(() => null);
        if (reply.status === 403) throwInsufficientScope(reply);
        if (reply.status === 400 && typeof text === 'string' && isModernVersion(envelope) && request) {
          const answered = errorAnswering(text, request);
          if (answered) return this.onmessage?.(answered);
        }
        throw new SdkHttpError(
          SdkErrorCode.ClientHttpNotImplemented,
          `Error POSTing to endpoint: ${unfollowedRedirect(reply) ?? text}`,
          {status: reply.status, statusText: reply.statusText, ...(text !== null && {text})},
        );
      }
      if (reply.status === 202) {
        reply.body.resume();
        if (single && !request && 'method' in single && single.method === 'notifications/initialized') {
          this.#openGetStream({reconnectable: true}).catch((error: unknown) => this.onerror?.(asError(error)));
        }
        return;
      }
      if (!messages.some(isRequest)) {
        reply.body.resume();
        return;
      }
      const type = mediaType(header(reply, 'content-type'));
      if (type === 'text/event-stream') {
        this.#readStream(reply.body, {reconnectable: false, ...(requestSignal && {requestSignal})});
      } else if (type === 'application/json') {
        const body = await readBytes(reply.body, this.#options.maxMessageBytes);
        if (!Buffer.isBuffer(body)) {
          // The router's client sends one request per POST: the body over the limit is its response.
          const limit = this.#options.maxMessageBytes as number;
          if (!request) throw new Error(`A reply of ${body.bytes} bytes, over maxUpstreamMessageBytes (${limit})`);
          this.#options.log?.warn(
            {bytes: body.bytes, id: request.id},
            'Failed a call whose response is over the limit',
          );
          this.onmessage?.(tooLargeResponse(request.id, body.bytes, limit) as JSONRPCMessage);
          return;
        }
        const taken = this.resultBytes.take(body);
        if (taken) return this.onmessage?.(taken as JSONRPCMessage);
        const data = JSON.parse(body.toString('utf8')) as unknown;
        for (const each of Array.isArray(data) ? data : [data]) this.onmessage?.(parseJSONRPCMessage(each));
      } else {
        reply.body.resume();
        const given = header(reply, 'content-type');
        throw new SdkError(SdkErrorCode.ClientHttpUnexpectedContent, `Unexpected content type: ${given}`, {
          contentType: given,
        });
      }
    } catch (error) {
      if (requestSignal?.aborted !== true) this.onerror?.(asError(error));
      throw error;
    }
  }

  /**
   * Ends the session with DELETE (MCP 2025-11-25 basic/transports, session management); 405 means the server keeps
   * sessions until they expire.
   * @throws SdkHttpError for another status that is not 2xx; a socket error
   */
  async terminateSession(): Promise<void> {
    if (!this.#sessionId) return;
    try {
      const reply = await this.#request('DELETE', this.#commonHeaders());
      reply.body.resume();
      if (!ok(reply.status) && reply.status !== 405) {
        throw new SdkHttpError(
          SdkErrorCode.ClientHttpFailedToTerminateSession,
          `Failed to terminate session: ${unfollowedRedirect(reply) ?? reply.statusText}`,
          {status: reply.status, statusText: reply.statusText},
        );
      }
      this.#sessionId = undefined;
    } catch (error) {
      this.onerror?.(asError(error));
      throw error;
    }
  }

  #commonHeaders(): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.#options.headers ?? {})) headers[name.toLowerCase()] = value;
    if (this.#sessionId) headers['mcp-session-id'] = this.#sessionId;
    if (this.#protocolVersion) headers['mcp-protocol-version'] = this.#protocolVersion;
    return headers;
  }

  /** Opens (or resumes, after `lastEventId`) the GET stream of server messages. */
  async #openGetStream(options: StreamOptions, lastEventId?: string): Promise<void> {
    const intentional = () => this.#abort?.signal.aborted === true || options.requestSignal?.aborted === true;
    try {
      const headers = this.#commonHeaders();
      headers.accept = acceptWith(headers.accept, ['text/event-stream']);
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const reply = await this.#request('GET', headers, undefined, options.requestSignal);
      if (!ok(reply.status)) {
        reply.body.resume();
        if (reply.status === 403) throwInsufficientScope(reply);
        if (reply.status === 405) return;
        throw new SdkHttpError(
          SdkErrorCode.ClientHttpFailedToOpenStream,
          `Failed to open SSE stream: ${unfollowedRedirect(reply) ?? reply.statusText}`,
          {status: reply.status, statusText: reply.statusText},
        );
      }
      this.#readStream(reply.body, {...options, reconnectable: true});
    } catch (error) {
      if (!intentional()) this.onerror?.(asError(error));
      throw error;
    }
  }

  /** Reads an SSE stream to its end, then reconnects when it ended before its response (see the class). */
  #readStream(body: IncomingMessage, options: StreamOptions): void {
    const intentional = () => this.#abort?.signal.aborted === true || options.requestSignal?.aborted === true;
    let lastEventId: string | undefined;
    let primed = false;
    let answered = false;
    const parser = new SseParser({
      ...(this.#options.maxMessageBytes !== undefined && {maxDataBytes: this.#options.maxMessageBytes}),
      bytesFrom: RESULT_BYTES_FROM,
      onOversized: (event) => {
        if (event.id) {
          lastEventId = event.id;
          primed = true;
        }
        if (event.event !== undefined && event.event !== 'message') return;
        if (this.#oversized(event)) answered = true;
      },
      onRetry: (milliseconds) => (this.#serverRetryMs = milliseconds),
      onEvent: (event) => {
        if (event.id) {
          lastEventId = event.id;
          primed = true;
        }
        if (event.data.length === 0 || (event.event !== undefined && event.event !== 'message')) return;
        try {
          const {data} = event;
          const taken = typeof data === 'string' ? undefined : (this.resultBytes.take(data) as JSONRPCMessage);
          const message = taken ?? parseJSONRPCMessage(JSON.parse(data.toString()));
          if (isResponse(message)) answered = true;
          this.onmessage?.(message);
        } catch (error) {
          this.onerror?.(asError(error));
        }
      },
    });
    const reconnect = () => {
      if ((options.reconnectable || primed) && !answered && this.#abort && !intentional()) {
        this.#scheduleReconnection(options, lastEventId, 0);
      }
    };
    let failure: unknown;
    body.on('data', (chunk: Buffer) => parser.feed(chunk));
    body.on('error', (error) => (failure = error));
    // A stream cut before its end (the socket closed, the request aborted) closes without `end`.
    body.on('close', () => {
      if (!body.complete || failure !== undefined) {
        if (intentional()) return;
        this.onerror?.(new Error(`SSE stream disconnected: ${String(failure ?? 'the connection closed')}`));
      }
      reconnect();
    });
  }

  /**
   * A message over `maxMessageBytes`, seen by its size and ends (`oversizedDecision`): a response becomes the
   * JSON-RPC error that fails its call; anything else is dropped with a warning.
   * @returns whether it answered a call
   */
  #oversized(message: {bytes: number; head: string; tail: string}): boolean {
    const response = oversizedResponse(message, this.#options.maxMessageBytes as number, this.#options.log);
    if (response) this.onmessage?.(response as JSONRPCMessage);
    return response !== undefined;
  }

  #scheduleReconnection(options: StreamOptions, lastEventId: string | undefined, attempt: number): void {
    if (attempt >= RECONNECTION.maxRetries) {
      this.onerror?.(new Error(`Maximum reconnection attempts (${RECONNECTION.maxRetries}) exceeded.`));
      return;
    }
    const delay =
      this.#serverRetryMs ??
      Math.min(RECONNECTION.initialDelayMs * RECONNECTION.growFactor ** attempt, RECONNECTION.maxDelayMs);
    const gone = () => this.#abort?.signal.aborted === true || options.requestSignal?.aborted === true;
    const handle = setTimeout(() => {
      this.#cancelReconnection = undefined;
      if (gone()) return;
      this.#openGetStream(options, lastEventId).catch((error: unknown) => {
        if (gone()) return;
        this.onerror?.(new Error(`Failed to reconnect SSE stream: ${asError(error).message}`));
        this.#scheduleReconnection(options, lastEventId, attempt + 1);
      });
    }, delay);
    this.#cancelReconnection = () => clearTimeout(handle);
  }

  /** One request, following redirects that keep the method and stay within the origin (at most 5). */
  async #request(
    method: 'GET' | 'POST' | 'DELETE',
    headers: Record<string, string>,
    body?: string,
    requestSignal?: AbortSignal,
  ): Promise<Reply> {
    const transportSignal = this.#abort?.signal;
    const signal =
      requestSignal && transportSignal
        ? AbortSignal.any([transportSignal, requestSignal])
        : (requestSignal ?? transportSignal);
    const all: OutgoingHttpHeaders = {...headers, ...this.#options.requestHeaders?.()};
    let url = this.#url;
    for (let followed = 0; ; followed++) {
      const reply = await roundTrip(url, method, all, body, signal);
      const target = redirectTarget(reply);
      if (!target || followed === MAX_REDIRECTS) return reply;
      const keepsMethod = method === 'GET' || reply.status === 307 || reply.status === 308;
      const keepsUserinfo =
        !(target.username || target.password) || (target.username === url.username && target.password === url.password);
      if (!keepsMethod || !keepsUserinfo || !withinOrigin(url, target)) return reply;
      reply.body.resume();
      url = target;
    }
  }
}

/** One HTTP exchange on the upstream's keep-alive pool; resolves at the response's head. */
function roundTrip(
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
  body: string | undefined,
  signal: AbortSignal | undefined,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    const request = send(url, {
      method,
      headers: body === undefined ? headers : {...headers, 'content-length': Buffer.byteLength(body)},
      agent: AGENTS[https ? 'https:' : 'http:'],
      ...(signal && {signal}),
    });
    request.on('error', reject);
    request.on('response', (response) =>
      resolve({
        status: response.statusCode ?? 0,
        statusText: response.statusMessage ?? '',
        headers: response.headers,
        body: response,
        url,
      }),
    );
    request.end(body);
  });
}

/**
 * The whole body. With a `Content-Length`, each chunk is copied into one buffer of that size as it comes and let go,
 * so the body is held once; without one, the chunks are joined once. A body over `maxBytes` is read to its end (so
 * that its socket can serve the next request) but not kept.
 * @returns the bytes, or the size in bytes of a body over `maxBytes`
 */
async function readBytes(
  body: IncomingMessage,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<Buffer | {bytes: number}> {
  const declared = Number(body.headers['content-length']);
  if (Number.isSafeInteger(declared) && declared > 0 && declared <= maxBytes) {
    const whole = Buffer.allocUnsafe(declared);
    let length = 0;
    for await (const chunk of body) length += (chunk as Buffer).copy(whole, length);
    return whole.subarray(0, length);
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += (chunk as Buffer).length;
    if (bytes <= maxBytes) chunks.push(chunk as Buffer);
    else chunks.length = 0;
  }
  return bytes > maxBytes ? {bytes} : Buffer.concat(chunks);
}

/** The whole body as UTF-8 text (`readBytes` without a limit). */
async function readText(body: IncomingMessage): Promise<string> {
  return (await readBytes(body)).toString('utf8');
}

function ok(status: number): boolean {
  return status >= 200 && status < 300;
}

function header(reply: Reply, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The media type of a `Content-Type` (RFC 9110 section 8.3), or the part before `;` when its parameters are bad. */
export function mediaType(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return contentType.parse(value).type;
  } catch {
    const essence = (value.split(';', 1)[0] ?? '').trim().toLowerCase();
    return essence === '' || value.slice(essence.length).includes(',') ? undefined : essence;
  }
}

/** `accept` with `types` added, each once, lower-cased (pure). */
function acceptWith(accept: string | undefined, types: string[]): string {
  const given = accept?.split(',').map((type) => type.trim().toLowerCase()) ?? [];
  return [...new Set([...given, ...types])].join(', ');
}

/** A message the router's own client sends is well-formed: its keys say what it is. */
function isRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && 'id' in message && message.id !== undefined;
}

function isResponse(message: JSONRPCMessage): boolean {
  return !('method' in message) && ('result' in message || 'error' in message);
}

/** The protocol version a request claims in its 2026-07-28 `_meta` envelope, if any. */
function envelopeVersion(request: JSONRPCRequest): string | undefined {
  const meta = (request.params as {_meta?: Record<string, unknown>} | undefined)?._meta;
  const version = meta?.[PROTOCOL_VERSION_META_KEY];
  return typeof version === 'string' ? version : undefined;
}

function isModernVersion(version: string | undefined): boolean {
  return version !== undefined && version >= '2026-07-28';
}

/** The value of a request's `Mcp-Name` header: its name, URI or task id (pure). */
function nameOf(method: string, params: unknown): string | undefined {
  const field = Object.hasOwn(MCP_NAME_SOURCE, method) ? MCP_NAME_SOURCE[method] : undefined;
  if (field === undefined || params === null || typeof params !== 'object' || Array.isArray(params)) return undefined;
  const value = (params as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/**
 * An HTTP field value for `value` (MCP 2026-07-28 basic/transports, value encoding): plain printable ASCII without
 * edge whitespace as it is, anything else as `=?base64?{UTF-8 in base64}?=` (pure).
 */
export function encodeHeaderValue(value: string): string {
  const plain =
    value.length > 0 &&
    !(value.startsWith('=?base64?') && value.endsWith('?=')) &&
    value === value.trim() &&
    /^[\t\x20-\x7e]*$/.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** A JSON-RPC error in a 400 body that answers `request` (a 2026-07-28 server's way of refusing it), if it is one. */
function errorAnswering(text: string, request: JSONRPCRequest): JSONRPCMessage | undefined {
  try {
    const parsed = parseJSONRPCMessage(JSON.parse(text));
    return 'error' in parsed && !('method' in parsed) && parsed.id === request.id ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** @throws InsufficientScopeError when a 403 carries a `WWW-Authenticate` challenge for more scope */
function throwInsufficientScope(reply: Reply): void {
  const challenge = extractWWWAuthenticateParams({
    headers: new Headers({'www-authenticate': header(reply, 'www-authenticate') ?? ''}),
  } as Response);
  if (challenge.error !== 'insufficient_scope') return;
  throw new InsufficientScopeError({
    ...(challenge.scope !== undefined && {requiredScope: challenge.scope}),
    ...(challenge.resourceMetadataUrl !== undefined && {resourceMetadataUrl: challenge.resourceMetadataUrl}),
    ...(challenge.errorDescription !== undefined && {errorDescription: challenge.errorDescription}),
  });
}

function redirectTarget(reply: Reply): URL | undefined {
  const location = REDIRECT_STATUSES.has(reply.status) ? header(reply, 'location') : undefined;
  if (!location) return undefined;
  try {
    return new URL(location, reply.url);
  } catch {
    return undefined;
  }
}

/** Whether `to` has the scheme, host and port of `from`, or is its https form with both on the default port. */
function withinOrigin(from: URL, to: URL): boolean {
  if (from.protocol === to.protocol && from.host === to.host) return true;
  return (
    from.protocol === 'http:' && to.protocol === 'https:' && from.hostname === to.hostname && !from.port && !to.port
  );
}

/** The text of an error for a redirect that was not followed, or undefined for another response. */
function unfollowedRedirect(reply: Reply): string | undefined {
  const target = redirectTarget(reply);
  if (!target) return undefined;
  target.username = target.password = target.search = target.hash = '';
  if (target.protocol === 'http:' && reply.url.protocol === 'https:') {
    target.protocol = 'https:';
    return `Redirect from https to plain http not followed; try ${target.href} as the endpoint (redirectPolicy: 'same-origin')`;
  }
  return `Redirect to ${target.href} not followed; use that URL as the endpoint if it is the intended server (redirectPolicy: 'same-origin')`;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
