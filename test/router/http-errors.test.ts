import {request as httpRequest} from 'node:http';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {connectClient, INITIALIZE, MCP_HEADERS, startTestRouter} from '../support/router.js';

// Bad HTTP requests and malformed JSON-RPC get errors (status and JSON-RPC body) and never disturb open sessions.
let router: Awaited<ReturnType<typeof startTestRouter>>;

beforeAll(async () => {
  router = await startTestRouter({
    mcpServers: {everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']}},
    router: {maxBodyBytes: 4096},
  });
});
afterAll(() => router?.stop());

/** POSTs with node:http, which (unlike fetch) lets a test send any Host header. */
async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const {status, text} = await new Promise<{status: number; text: string}>((resolve, reject) => {
    const request = httpRequest(
      `${router.url}${path}`,
      {method: 'POST', headers: {...MCP_HEADERS, ...headers}},
      (res) => {
        let data = '';
        res.on('data', (chunk) => (data += chunk));
        res.on('end', () => resolve({status: res.statusCode ?? 0, text: data}));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
  let json: {error?: {code: number; message: string}} | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {status, json, text};
}

describe('bad requests', () => {
  it.each([
    ['invalid JSON', '/mcp', '{"jsonrpc": "2.0", "id": 1, "method": ', {}, 400, -32700],
    [
      'a request without a session',
      '/mcp',
      JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/list'}),
      {},
      400,
      -32600,
    ],
    [
      'an unknown session',
      '/mcp',
      JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/list'}),
      {'mcp-session-id': 'nope'},
      404,
      -32001,
    ],
    ['an unknown upstream path', '/mcp/nosuch', JSON.stringify(INITIALIZE), {}, 404, -32600],
    ['a foreign Host (DNS rebinding)', '/mcp', JSON.stringify(INITIALIZE), {host: 'evil.example:8080'}, 403, -32600],
    ['a foreign Origin', '/mcp', JSON.stringify(INITIALIZE), {origin: 'http://evil.example'}, 403, -32600],
    ['a body over the limit', '/mcp', JSON.stringify({...INITIALIZE, pad: 'x'.repeat(5000)}), {}, 413, -32600],
    [
      'an unknown SSE session',
      '/message?sessionId=nope',
      JSON.stringify({jsonrpc: '2.0', id: 1, method: 'ping'}),
      {},
      404,
      -32001,
    ],
    [
      'an SSE post without sessionId',
      '/message',
      JSON.stringify({jsonrpc: '2.0', id: 1, method: 'ping'}),
      {},
      400,
      -32600,
    ],
  ])('answers %s with an error', async (_what, path, body, headers, status, code) => {
    const response = await post(path, body, headers);
    expect(response.status).toBe(status);
    expect(response.json?.error?.code).toBe(code);
  });

  it('regression: an SSE post naming two sessions was told "sessionId is required"; it is told to name one', async () => {
    for (const path of ['/message', '/message?sessionId=a&sessionId=b']) {
      const response = await post(path, JSON.stringify({jsonrpc: '2.0', id: 1, method: 'ping'}), {});
      expect(response.status).toBe(400);
      expect(response.json?.error?.message).toBe('Bad Request: one sessionId query parameter is required');
    }
  });

  it('answers GET without a session with 400, other methods with 405, unknown paths with 404', async () => {
    expect((await fetch(`${router.url}/mcp`)).status).toBe(400);
    const put = await fetch(`${router.url}/mcp`, {method: 'PUT'});
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
    const missing = await fetch(`${router.url}/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({error: {message: 'Not Found'}});
  });

  it('answers an unsupported MCP-Protocol-Version with 400', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      const sessionId = (client.transport as {sessionId?: string}).sessionId as string;
      const response = await post('/mcp', JSON.stringify({jsonrpc: '2.0', id: 9, method: 'tools/list'}), {
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '1999-01-01',
      });
      expect(response.status).toBe(400);
    } finally {
      await close();
    }
  });

  it('keeps open sessions working through malformed messages on the same session', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      const sessionId = (client.transport as {sessionId?: string}).sessionId as string;
      const garbage = await post('/mcp', JSON.stringify({hello: 'world'}), {'mcp-session-id': sessionId});
      expect(garbage.status).toBe(400);
      const unknownMethod = await post('/mcp', JSON.stringify({jsonrpc: '2.0', id: 5, method: 'no/such/method'}), {
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      });
      expect(unknownMethod.text).toContain('-32601');
      const result = await client.callTool({name: 'everything__echo', arguments: {message: 'ok'}});
      expect(result.content).toEqual([{type: 'text', text: 'Echo: ok'}]);
    } finally {
      await close();
    }
  });

  it('serves /healthz, and /readyz with the state of each upstream', async () => {
    expect(await (await fetch(`${router.url}/healthz`)).json()).toEqual({status: 'ok'});
    const ready = await fetch(`${router.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ready: true, upstreams: [{name: 'everything', state: 'ready'}]});
  });
});

describe('idle sessions', () => {
  it('closes a Streamable HTTP session left idle, and keeps one whose client listens on its stream', async () => {
    const idle = await startTestRouter({
      mcpServers: {everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']}},
      router: {sessionIdleSeconds: 1},
    });
    const listening = await connectClient(`${idle.url}/mcp`); // the SDK client keeps a GET stream open
    try {
      const init = await fetch(`${idle.url}/mcp`, {
        method: 'POST',
        headers: MCP_HEADERS,
        body: JSON.stringify(INITIALIZE),
      });
      const sessionId = init.headers.get('mcp-session-id') as string;
      await init.text();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const later = await fetch(`${idle.url}/mcp`, {
        method: 'POST',
        headers: {...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25'},
        body: JSON.stringify({jsonrpc: '2.0', id: 2, method: 'ping'}),
      });
      expect(later.status).toBe(404);
      const result = await listening.client.callTool({name: 'everything__echo', arguments: {message: 'kept'}});
      expect(result.content).toEqual([{type: 'text', text: 'Echo: kept'}]);
    } finally {
      await listening.close();
      await idle.stop();
    }
  });
});
