import {mkdtemp, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {SSEClientTransport} from '@modelcontextprotocol/sdk/client/sse.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import type {ClientCapabilities, JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {Writable} from 'node:stream';
import {pino, type Logger} from 'pino';
import {startRouter, type RunningRouter} from '../../router/cli.js';

/** Writes a config object to a temporary router.json and returns its path. */
export async function writeConfig(config: unknown): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'kube-mcp-router-test-'));
  const file = join(folder, 'router.json');
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/** Starts the real router (as `kube-mcp-router router` does) on a free loopback port, logging only errors. */
export async function startTestRouter(config: unknown): Promise<RunningRouter & {url: string}> {
  return startTestRouterOn(await writeConfig(config));
}

/** The same, on a config file that the test writes itself. */
export async function startTestRouterOn(file: string): Promise<RunningRouter & {url: string}> {
  const running = await startRouter(
    {config: file, transport: 'http', host: '127.0.0.1', port: 0},
    pino({level: process.env.TEST_LOG_LEVEL ?? 'error'}),
  );
  await running.router.start();
  return running as RunningRouter & {url: string};
}

/** A client transport that records every message the client receives, in order, as the wire carried it. */
export function recording(transport: Transport): {transport: Transport; received: JSONRPCMessage[]} {
  const received: JSONRPCMessage[] = [];
  const start = transport.start.bind(transport);
  transport.start = async () => {
    const onmessage = transport.onmessage;
    transport.onmessage = (message, extra) => {
      received.push(message);
      onmessage?.(message, extra);
    };
    await start();
  };
  return {transport, received};
}

export type DownstreamKind = 'streamableHttp' | 'sse';

/** The SDK client connected to a router path (`/mcp...` or `/sse...`), with the raw messages it received. */
export async function connectClient(
  url: string,
  options: {capabilities?: ClientCapabilities; headers?: Record<string, string>} = {},
): Promise<{client: Client; received: JSONRPCMessage[]; close(): Promise<void>}> {
  const target = new URL(url);
  const requestInit = {headers: options.headers ?? {}};
  const raw = target.pathname.startsWith('/sse')
    ? new SSEClientTransport(target, {requestInit})
    : new StreamableHTTPClientTransport(target, {requestInit});
  const {transport, received} = recording(raw);
  const client = new Client({name: 'test-client', version: '1.0.0'}, {capabilities: options.capabilities ?? {}});
  await client.connect(transport);
  return {
    client,
    received,
    close: async () => {
      if (raw instanceof StreamableHTTPClientTransport) await raw.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

/** A logger at `level` whose JSON lines the test can read, as a log shipper would. */
export function capturedLogger(level = 'debug'): {log: Logger; lines(): Record<string, unknown>[]; text(): string} {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const text = () => chunks.join('');
  return {
    log: pino({level, base: {}}, stream),
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** Starts the real router on a free loopback port (or `host`) with a logger of the test's. */
export async function startLoggedRouter(
  config: unknown,
  log: Logger,
  options: {host?: string; metricsPort?: number} = {},
): Promise<RunningRouter & {url: string}> {
  const running = await startRouter(
    {
      config: await writeConfig(config),
      transport: 'http',
      host: options.host ?? '127.0.0.1',
      port: 0,
      ...(options.metricsPort !== undefined && {metricsPort: options.metricsPort}),
    },
    log,
  );
  await running.router.start();
  return running as RunningRouter & {url: string};
}

/** The headers of a Streamable HTTP POST (MCP 2025-11-25 basic/transports). */
export const MCP_HEADERS = {'content-type': 'application/json', accept: 'application/json, text/event-stream'};

/** An `initialize` request as a raw client sends it. */
export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'curl', version: '1'}},
};

/**
 * Opens a 2025-11-25 Streamable HTTP session at `url` (`.../mcp`) as a raw client does (`initialize`, then
 * `notifications/initialized`); the headers of its later POSTs.
 */
export async function openRawSession(url: string): Promise<Record<string, string>> {
  const opened = await fetch(url, {method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE)});
  await opened.body?.cancel();
  const headers = {
    ...MCP_HEADERS,
    'mcp-session-id': opened.headers.get('mcp-session-id') as string,
    'mcp-protocol-version': '2025-11-25',
  };
  const initialized = JSON.stringify({jsonrpc: '2.0', method: 'notifications/initialized'});
  await fetch(url, {method: 'POST', headers, body: initialized}).then((r) => r.body?.cancel());
  return headers;
}

/**
 * POSTs a `tools/call` (id 2) with `params` on a raw session at `url` (`headers` from `openRawSession`); the response,
 * whose SSE stream `drop` aborts as a client that goes away does.
 */
export async function callOnRawSession(
  url: string,
  headers: Record<string, string>,
  params: Record<string, unknown>,
): Promise<{response: Response; drop: () => void}> {
  const dropped = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers,
    signal: dropped.signal,
    body: JSON.stringify({jsonrpc: '2.0', id: 2, method: 'tools/call', params}),
  });
  return {response, drop: () => dropped.abort()};
}

/** Resumes a raw session's stream at `url` after `lastEventId` (GET with `Last-Event-ID`, MCP 2025-11-25). */
export function resumeRawStream(url: string, headers: Record<string, string>, lastEventId: string): Promise<Response> {
  return fetch(url, {headers: {...headers, accept: 'text/event-stream', 'last-event-id': lastEventId}});
}

/** POSTs an `initialize` to a Streamable HTTP endpoint; the answer's status and headers (its body is dropped). */
export async function postInitialize(
  url: string,
  headers: Record<string, string> = {},
): Promise<{status: number; headers: Headers}> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {...MCP_HEADERS, ...headers},
    body: JSON.stringify(INITIALIZE),
  });
  await response.body?.cancel();
  return {status: response.status, headers: response.headers};
}
