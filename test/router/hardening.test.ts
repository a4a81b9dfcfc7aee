import {Agent, request as httpRequest} from 'node:http';
import {connect} from 'node:net';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {freePort, serverEntry} from '../support/mcp-servers.js';
import {capturedLogger, INITIALIZE, MCP_HEADERS, startLoggedRouter} from '../support/router.js';

// Regression tests for the findings of the security review (issue "Trust"), each named after what broke. Findings 4
// and 5 (large stdio messages, credentials in URLs) are in stdio-message-limit.test.ts and redaction.test.ts; finding
// 6 (one upstream reading another's Secret) is in the operator's render tests.
const everything = () => ({command: process.execPath, args: [serverEntry('server-everything'), 'stdio']});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** JSON-RPC messages of the body, whether JSON or an SSE stream. */
  messages: {id?: unknown; result?: Record<string, unknown>; error?: {code: number; message: string}}[];
}

/** An HTTP request with node:http, which lets a test send any Host header and reuse a keep-alive agent. */
function send(
  url: string,
  options: {method?: string; headers?: Record<string, string>; body?: string; agent?: Agent} = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: options.method ?? 'POST',
        headers: {...MCP_HEADERS, ...options.headers},
        ...(options.agent && {agent: options.agent}),
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          const bodies = text.startsWith('{')
            ? [text]
            : [...text.matchAll(/^data: (.+)$/gm)].map((m) => m[1] as string);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            messages: bodies.map((b) => JSON.parse(b)),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function openSession(base: string, path = '/mcp', headers: Record<string, string> = {}): Promise<string> {
  const reply = await send(`${base}${path}`, {headers, body: JSON.stringify(INITIALIZE)});
  expect(reply.status).toBe(200);
  const id = reply.headers['mcp-session-id'] as string;
  await send(`${base}${path}`, {
    headers: {...headers, 'mcp-session-id': id},
    body: JSON.stringify({jsonrpc: '2.0', method: 'notifications/initialized'}),
  });
  return id;
}

const call = (id: number, name: string, args: Record<string, unknown> = {}) =>
  JSON.stringify({jsonrpc: '2.0', id, method: 'tools/call', params: {name, arguments: args}});

describe('the review findings', () => {
  let router: Awaited<ReturnType<typeof startLoggedRouter>>;
  let metricsPort: number;
  beforeAll(async () => {
    metricsPort = await freePort();
    router = await startLoggedRouter(
      {
        mcpServers: {everything: everything()},
        router: {limits: {maxSessions: 1000, requestTimeoutSeconds: 2, headersTimeoutSeconds: 1}},
      },
      capturedLogger('warn').log,
      {metricsPort},
    );
  });
  afterAll(() => router?.stop());

  it('1. /metrics label cardinality: 20 requests with 1 MiB method names leave /metrics under 1 MB', async () => {
    const session = await openSession(router.url, '/mcp/everything');
    for (let i = 0; i < 20; i++) {
      const reply = await send(`${router.url}/mcp/everything`, {
        headers: {'mcp-session-id': session},
        body: JSON.stringify({jsonrpc: '2.0', id: i + 1, method: `${'m'.repeat(1024 * 1024)}${i}`, params: {}}),
      });
      expect(reply.status).toBe(200);
      expect(reply.messages[0]?.error?.code).toBe(-32601);
    }
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    const text = await metrics.text();
    expect(metrics.status).toBe(200);
    expect(text.length).toBeLessThan(1024 * 1024);
    expect(text).toMatch(/mcp_router_calls_total\{upstream="everything",method="other",tool="",outcome="error"\} 20/);
  });

  it('7. two concurrent requests with the same JSON-RPC id in one session: the second gets an error, the first its result', async () => {
    const session = await openSession(router.url);
    const headers = {'mcp-session-id': session};
    const first = send(`${router.url}/mcp`, {
      headers,
      body: call(5, 'everything__trigger-long-running-operation', {duration: 1, steps: 2}),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await send(`${router.url}/mcp`, {headers, body: call(5, 'everything__echo', {message: 'x'})});
    expect(second.status).toBe(400);
    expect(second.messages[0]).toMatchObject({id: 5, error: {code: -32600}});
    expect(second.messages[0]?.error?.message).toContain('still pending');
    const answered = await first;
    expect(answered.messages.find((m) => m.id === 5)?.result?.content).toBeDefined();
    // Once answered, the id may be used again.
    const again = await send(`${router.url}/mcp`, {headers, body: call(5, 'everything__echo', {message: 'y'})});
    expect(again.messages.find((m) => m.id === 5)?.result?.content).toEqual([{type: 'text', text: 'Echo: y'}]);
  });

  it('8. deep nesting: a body nested 5,000 levels deep gets -32600 at parse, not an upstream error', async () => {
    const session = await openSession(router.url);
    const deep = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"x","deep":${'['.repeat(5000)}${']'.repeat(5000)}}}}`;
    const reply = await send(`${router.url}/mcp`, {headers: {'mcp-session-id': session}, body: deep});
    expect(reply.status).toBe(400);
    expect(reply.messages[0]?.error).toEqual({
      code: -32600,
      message: 'Invalid Request: JSON nested deeper than 64 levels',
    });
    const after = await send(`${router.url}/mcp`, {
      headers: {'mcp-session-id': session},
      body: call(2, 'everything__echo', {message: 'still here'}),
    });
    expect(after.messages[0]?.result?.content).toEqual([{type: 'text', text: 'Echo: still here'}]);
  });

  it('10. a 1-byte-per-second body is cut after requestTimeoutSeconds, not held', async () => {
    const {port} = new URL(router.url);
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{`,
    );
    let sent = 1;
    const drip = setInterval(() => {
      if (!socket.destroyed && sent < 200) {
        socket.write(' ');
        sent++;
      }
    }, 500);
    await closed;
    clearInterval(drip);
    expect(sent).toBeLessThan(200);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
  });

  it('11. /metrics is served on --metrics-port only, so that scraping never needs the MCP port', async () => {
    expect((await fetch(`${router.url}/metrics`)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(await metrics.text()).toContain('mcp_router_sessions');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/mcp`)).status).toBe(404);
  });
});

describe('2. Host and Origin when bound beyond loopback', () => {
  // 127.0.0.2 is a loopback address the router does not treat as loopback-only: it applies the policy of a router
  // bound to 0.0.0.0 in a pod, while the test's traffic stays on this machine.
  let router: Awaited<ReturnType<typeof startLoggedRouter>>;
  beforeAll(async () => {
    router = await startLoggedRouter({mcpServers: {everything: everything()}}, capturedLogger('error').log, {
      host: '127.0.0.2',
    });
  });
  afterAll(() => router?.stop());

  it("the review's request (Host: evil.example, Origin: http://evil.example, agreeing) gets 403", async () => {
    const {port} = new URL(router.url);
    const reply = await send(`${router.url}/mcp`, {
      headers: {host: `evil.example:${port}`, origin: `http://evil.example:${port}`},
      body: JSON.stringify(INITIALIZE),
    });
    expect(reply.status).toBe(403);
    expect(reply.messages[0]?.error?.message).toBe('Forbidden: Origin header not allowed');
  });

  it('a request without Origin (an agent, not a browser) is served', async () => {
    const reply = await send(`${router.url}/mcp`, {body: JSON.stringify(INITIALIZE)});
    expect(reply.status).toBe(200);
  });
});

describe('3. session limits', () => {
  const token = (who: string) => ({authorization: `Bearer ${who}-token-0123456789abcdef`});
  let router: Awaited<ReturnType<typeof startLoggedRouter>>;
  beforeAll(async () => {
    router = await startLoggedRouter(
      {
        mcpServers: {everything: everything()},
        router: {
          auth: {
            bearerTokens: ['a', 'b'].map((who) => ({principal: who, token: `${who}-token-0123456789abcdef`})),
          },
          access: [{principals: ['*'], upstreams: ['*']}],
          limits: {maxSessions: 3, maxSessionsPerPrincipal: 2},
        },
      },
      capturedLogger('error').log,
    );
  });
  afterAll(() => router?.stop());

  it('a session beyond the per-principal or the router limit gets 503 with Retry-After; closing one frees it', async () => {
    const a1 = await openSession(router.url, '/mcp', token('a'));
    await openSession(router.url, '/mcp', token('a'));
    const third = await send(`${router.url}/mcp`, {headers: token('a'), body: JSON.stringify(INITIALIZE)});
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('5');
    expect(third.messages[0]?.error?.message).toBe(
      'Service Unavailable: the principal holds its maximum of 2 sessions',
    );
    await openSession(router.url, '/mcp', token('b'));
    const full = await send(`${router.url}/mcp`, {headers: token('b'), body: JSON.stringify(INITIALIZE)});
    expect(full.status).toBe(503);
    expect(full.messages[0]?.error?.message).toBe('Service Unavailable: the router holds its maximum of 3 sessions');
    const sse = await send(`${router.url}/sse`, {method: 'GET', headers: token('b')});
    expect(sse.status).toBe(503);
    await send(`${router.url}/mcp`, {method: 'DELETE', headers: {...token('a'), 'mcp-session-id': a1}});
    await openSession(router.url, '/mcp', token('b'));
  });
});

describe('9. SIGTERM', () => {
  it('while draining, idle keep-alive sockets close, busy ones close after their response, new requests are refused', async () => {
    const router = await startLoggedRouter({mcpServers: {everything: everything()}}, capturedLogger('error').log);
    const idleAgent = new Agent({keepAlive: true});
    const busyAgent = new Agent({keepAlive: true});
    const session = await openSession(router.url);
    const headers = {'mcp-session-id': session};
    await send(`${router.url}/mcp`, {headers, body: call(1, 'everything__echo', {message: 'warm'}), agent: idleAgent});
    const idleSocket = Object.values(idleAgent.freeSockets).flat()[0];
    expect(idleSocket).toBeDefined();
    const idleClosed = new Promise<void>((resolve) => idleSocket?.once('close', () => resolve()));
    const inFlight = send(`${router.url}/mcp`, {
      headers,
      body: call(2, 'everything__trigger-long-running-operation', {duration: 1, steps: 2}),
      agent: busyAgent,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopped = router.stop();
    await idleClosed;
    const finished = await inFlight;
    expect(finished.messages.find((m) => m.id === 2)?.result?.content).toBeDefined();
    // Before the fix, the busy socket stayed open and served calls that started after the signal.
    const late = await send(`${router.url}/mcp`, {
      headers,
      body: call(3, 'everything__echo', {message: 'late'}),
      agent: busyAgent,
    }).then(
      (reply) => reply.status,
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect([503, 'ECONNREFUSED', 'ECONNRESET']).toContain(late);
    await stopped;
    idleAgent.destroy();
    busyAgent.destroy();
  });
});
