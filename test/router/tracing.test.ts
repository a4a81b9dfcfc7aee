/**
 * OpenTelemetry traces of the router (ADR 0024), against a real OpenTelemetry Collector (test/support/otel-collector.ts)
 * and a real HTTP upstream (server-everything behind a recording proxy): the router runs as `kube-mcp-router router`
 * with `OTEL_EXPORTER_OTLP_ENDPOINT` set, as a user would run it.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {ROOT, waitFor} from '../operator/support.js';
import {recordingProxy, startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {startCollector, type Collector, type ExportedSpan} from '../support/otel-collector.js';
import {capturedLogger, connectClient, startLoggedRouter, writeConfig} from '../support/router.js';

const SERVER = 2;
const CLIENT = 3;

/** A W3C `traceparent` of a fresh random trace: what a traced client sends. */
function clientTraceparent(): {traceparent: string; traceId: string; spanId: string} {
  const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
  const traceId = hex(16);
  const spanId = hex(8);
  return {traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId};
}

/** The upstream's requests (headers and JSON-RPC body) that carried `method`. */
function upstreamRequests(proxy: Awaited<ReturnType<typeof recordingProxy>>, method: string) {
  return proxy.received
    .map((headers, i) => ({headers, body: proxy.bodies[i] ?? ''}))
    .filter(({body}) => body.includes(`"method":"${method}"`))
    .map(({headers, body}) => ({headers, message: JSON.parse(body) as {params: {_meta?: Record<string, unknown>}}}));
}

describe('router traces', () => {
  let collector: Collector;
  let everything: HttpMcpServer;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let router: ChildProcess;
  let url: string;

  beforeAll(async () => {
    collector = await startCollector();
    everything = await startEverythingHttp('streamableHttp');
    proxy = await recordingProxy(new URL(everything.url));
    const config = await writeConfig({mcpServers: {remote: {type: 'http', url: proxy.url}}});
    router = spawn(
      process.execPath,
      ['--import', 'tsx', `${ROOT}cli.ts`, 'router', '--config', config, '--port', '0'],
      {
        cwd: ROOT,
        env: {...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100'},
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    router.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    url = await waitFor('the router to listen', () => /"url":"([^"]+)"/.exec(out)?.[1], 60_000);
    await waitFor('the upstream to be ready', async () => (await fetch(`${url}/readyz`)).status === 200);
  }, 20 * 60_000); // the first run builds the Collector (minutes, once)

  afterAll(async () => {
    if (router && router.exitCode === null) {
      const exited = new Promise((resolve) => router.once('exit', resolve));
      router.kill('SIGTERM');
      await exited;
    }
    proxy?.server.close();
    await everything?.stop();
    await collector?.stop();
  });

  /** The spans of one trace once both the router's server span and its upstream client span are exported. */
  async function spansOf(traceId: string): Promise<{server: ExportedSpan; client: ExportedSpan}> {
    return waitFor(`the spans of trace ${traceId} at the Collector`, async () => {
      const spans = (await collector.spans()).filter((span) => span.traceId === traceId);
      const server = spans.find((span) => span.kind === SERVER && span.name === 'tools/call remote__echo');
      const client = spans.find((span) => span.kind === CLIENT && span.name === 'tools/call echo');
      return server && client && {server, client};
    });
  }

  it('a tools/call gives a server span, an upstream span as its child, and the upstream gets its traceparent', async () => {
    const parent = clientTraceparent();
    const {client, close} = await connectClient(`${url}/mcp`);
    const sessionId = (client.transport as {sessionId?: string}).sessionId;
    try {
      const result = await client.callTool({
        name: 'remote__echo',
        arguments: {message: 'secret-argument-value'},
        _meta: {traceparent: parent.traceparent},
      });
      expect(result.isError).toBeFalsy();
    } finally {
      await close();
    }

    const {server, client: upstreamSpan} = await spansOf(parent.traceId);
    // The router's span continues the client's trace, under the client's span.
    expect(server.parentSpanId).toBe(parent.spanId);
    expect(server.service).toBe('kube-mcp-router');
    expect(server.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'remote__echo',
      'gen_ai.operation.name': 'execute_tool',
      'kube_mcp_router.upstream': 'remote',
      'kube_mcp_router.outcome': 'ok',
    });
    expect(server.attributes['kube_mcp_router.session.tag']).toMatch(/^[0-9a-f]{12}$/);
    expect(upstreamSpan.parentSpanId).toBe(server.spanId);
    expect(upstreamSpan.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'echo',
      'kube_mcp_router.upstream': 'remote',
    });
    // No argument and no session id in any span.
    const exported = JSON.stringify(await collector.spans());
    expect(exported).not.toContain('secret-argument-value');
    expect(sessionId).toBeTruthy();
    expect(exported).not.toContain(sessionId);

    // The upstream got the router's upstream span as its parent, in the HTTP header and in _meta.
    const expected = `00-${parent.traceId}-${upstreamSpan.spanId}-01`;
    const calls = upstreamRequests(proxy, 'tools/call').filter(({message}) =>
      String(message.params._meta?.traceparent).includes(parent.traceId),
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]?.headers.traceparent).toBe(expected);
    expect(calls[0]?.message.params._meta?.traceparent).toBe(expected);
  });

  it("takes the trace of the HTTP request's traceparent header when _meta has none", async () => {
    const parent = clientTraceparent();
    const {client, close} = await connectClient(`${url}/mcp`, {headers: {traceparent: parent.traceparent}});
    try {
      await client.callTool({name: 'remote__echo', arguments: {message: 'hello'}});
    } finally {
      await close();
    }
    const {server, client: upstreamSpan} = await spansOf(parent.traceId);
    expect(server.parentSpanId).toBe(parent.spanId);
    expect(upstreamSpan.parentSpanId).toBe(server.spanId);
  });
});

describe('router traces, off', () => {
  it('without OTEL_EXPORTER_OTLP_ENDPOINT the upstream gets no trace context from the router', async () => {
    const everything = await startEverythingHttp('streamableHttp');
    const proxy = await recordingProxy(new URL(everything.url));
    const router = await startLoggedRouter(
      {mcpServers: {remote: {type: 'http', url: proxy.url}}},
      capturedLogger('error').log,
    );
    try {
      const {client, close} = await connectClient(`${router.url}/mcp`);
      await client.callTool({name: 'remote__echo', arguments: {message: 'hello'}});
      await close();
      const calls = upstreamRequests(proxy, 'tools/call');
      expect(calls).toHaveLength(1);
      expect(calls[0]?.headers.traceparent).toBeUndefined();
      expect(calls[0]?.message.params._meta?.traceparent).toBeUndefined();
    } finally {
      await router.stop();
      proxy.server.close();
      await everything.stop();
    }
  });
});
