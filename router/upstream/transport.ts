import {createInterface} from 'node:readline';
import {SSEClientTransport} from '@modelcontextprotocol/sdk/client/sse.js';
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {LimitsSchema, type UpstreamConfig} from '../config/schema.js';
import type {Logger} from '../log.js';
import {requestTarget} from './credentials.js';
import {redact, secretsOf} from './redact.js';
import {traceHeaders, tracingFetch} from '../tracing.js';
import {StreamableHttpUpstreamTransport} from './http.js';
import {limitedSseFetch} from './sse-limit.js';
import type {ResultBytes} from './result-bytes.js';
import {StdioUpstreamTransport} from './stdio.js';

/** `router.limits.maxUpstreamMessageBytes` when none is given: 64 MiB, from the config schema's default. */
export const DEFAULT_MAX_MESSAGE_BYTES: number = LimitsSchema.parse({}).maxUpstreamMessageBytes;

/** Options of `createClientTransport`. */
export interface ClientTransportOptions {
  /**
   * Largest message read from an upstream (stdio, Streamable HTTP, or the event stream of legacy HTTP+SSE), in bytes;
   * default `DEFAULT_MAX_MESSAGE_BYTES`.
   */
  maxMessageBytes?: number;
  /** Makes the transport of the built-in upstream (`transport: builtin`), which only the router itself serves. */
  builtin?: () => Transport;
}

/**
 * The client transport for an upstream: for stdio the router's own `StdioUpstreamTransport` (env merged over the
 * SDK's default variables, stderr logged line by line under the upstream's name with its env values redacted, a
 * message over `maxMessageBytes` failing only its own call); Streamable HTTP (the router's own
 * `StreamableHttpUpstreamTransport`, for the SDK 2.x client, which speaks both eras: see `UpstreamConnection`) or
 * legacy HTTP+SSE (the SDK's, its event stream read through `limitedSseFetch`) for URLs, a message over
 * `maxMessageBytes` failing only its own call on each, with the configured headers on every request and URL
 * userinfo sent as `Authorization: Basic` (see `requestTarget`) and, when tracing is on, the trace context as
 * `traceparent` (`router/tracing.ts`); for the built-in upstream, what `options.builtin`
 * makes.
 * @throws TypeError for a URL that does not parse (the config schema has already checked it); Error for a built-in
 *   upstream without `options.builtin`
 */
export function createClientTransport(
  config: UpstreamConfig,
  log: Logger,
  options: ClientTransportOptions = {},
): Transport {
  switch (config.transport) {
    case 'stdio': {
      const transport = new StdioUpstreamTransport(
        {
          command: config.command,
          args: config.args,
          env: config.env,
          maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
          ...(config.cwd !== undefined && {cwd: config.cwd}),
        },
        log,
      );
      const secrets = secretsOf(config);
      createInterface({input: transport.stderr}).on('line', (line) =>
        log.info({stream: 'stderr'}, redact(line, secrets)),
      );
      return transport;
    }
    case 'streamableHttp': {
      const {url, headers} = requestTarget(config.url, config.headers);
      // The two SDK lines type the same transport contract apart (the 2.x one adds optional members).
      return new StreamableHttpUpstreamTransport(url, {
        headers,
        requestHeaders: traceHeaders,
        maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
        log,
      }) as unknown as Transport;
    }
    case 'sse': {
      const {url, headers} = requestTarget(config.url, config.headers);
      const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
      const fetch = limitedSseFetch(tracingFetch() ?? globalThis.fetch, maxMessageBytes, log);
      return new SSEClientTransport(url, {requestInit: {headers}, fetch});
    }
    case 'builtin':
      if (!options.builtin) throw new Error(`The built-in upstream "${config.name}" has no transport maker`);
      return options.builtin();
  }
}

/**
 * Wraps a transport so that `tap` sees every incoming message first, synchronously and in order, and can consume it
 * (return true) before the SDK's Protocol does. The router uses it for progress notifications: the SDK 1.x Client
 * dispatches notifications a microtask late and drops the last progress of a call (see the protocol notes).
 */
export class TappedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];

  constructor(
    readonly inner: Transport,
    tap: (message: JSONRPCMessage) => boolean,
  ) {
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
    inner.onmessage = (message, extra) => {
      if (!tap(message)) this.onmessage?.(message, extra);
    };
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  /** The inner transport's requests whose large results come as bytes (stdio, Streamable HTTP); else undefined. */
  get resultBytes(): ResultBytes | undefined {
    return (this.inner as {resultBytes?: ResultBytes}).resultBytes;
  }

  /** Whether each request has a stream of its own (Streamable HTTP of the SDK 2.x line): the era codec asks. */
  get hasPerRequestStream(): boolean | undefined {
    return (this.inner as {hasPerRequestStream?: boolean}).hasPerRequestStream;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(...args: Parameters<Transport['send']>): Promise<void> {
    return this.inner.send(...args);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The protocol version the client negotiated, as the client tells its transport. */
  protocolVersion: string | undefined;

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    this.inner.setProtocolVersion?.(version);
  }

  setSupportedProtocolVersions(versions: string[]): void {
    (this.inner as {setSupportedProtocolVersions?: (versions: string[]) => void}).setSupportedProtocolVersions?.(
      versions,
    );
  }
}
