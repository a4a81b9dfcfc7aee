import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {INITIALIZE, MCP_HEADERS, startTestRouter} from '../support/router.js';

// The router serves the 2025-era legs on its own transports (router/http/streamable.ts, sse.ts). What a raw client
// sees here is what the SDK 1.x transports answered before them: statuses, JSON-RPC error codes, headers, SSE framing.
let router: Awaited<ReturnType<typeof startTestRouter>>;

beforeAll(async () => {
  router = await startTestRouter({
    mcpServers: {everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']}},
  });
});
afterAll(() => router?.stop());

/** Opens a Streamable HTTP session with a raw initialize; its id and the initialize's answer as sent. */
async function openSession(): Promise<{id: string; response: Response; body: string}> {
  const response = await fetch(`${router.url}/mcp`, {
    method: 'POST',
    headers: MCP_HEADERS,
    body: JSON.stringify(INITIALIZE),
  });
  const id = response.headers.get('mcp-session-id') as string;
  const body = await response.text();
  await fetch(`${router.url}/mcp`, {
    method: 'POST',
    headers: {...MCP_HEADERS, 'mcp-session-id': id},
    body: JSON.stringify({jsonrpc: '2.0', method: 'notifications/initialized'}),
  });
  return {id, response, body};
}

/** POSTs a message (or a batch) in the session, as a 2025-11-25 client. */
function post(id: string, message: object): Promise<Response> {
  return fetch(`${router.url}/mcp`, {
    method: 'POST',
    headers: {...MCP_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25'},
    body: JSON.stringify(message),
  });
}

describe('Streamable HTTP leg', () => {
  it('answers a single request it answers at once (initialize, ping, tools/list) with one JSON body', async () => {
    const {id, response, body} = await openSession();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(body));
    expect(id).toMatch(/^[\x21-\x7e]+$/);
    expect(JSON.parse(body)).toMatchObject({jsonrpc: '2.0', id: 1, result: {serverInfo: {name: expect.any(String)}}});
    for (const [requestId, method] of [
      [2, 'ping'],
      [3, 'tools/list'],
    ] as const) {
      const answer = await post(id, {jsonrpc: '2.0', id: requestId, method});
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(answer.headers.get('mcp-session-id')).toBe(id);
      const message = (await answer.json()) as {result: {tools?: unknown[]}};
      expect(message).toMatchObject({jsonrpc: '2.0', id: requestId, result: {}});
      if (method === 'tools/list') expect(message.result.tools?.length).toBeGreaterThan(0);
    }
  });

  it('answers a call that waits on its upstream on an SSE stream: a priming event to resume from, then the result with its event id', async () => {
    const {id} = await openSession();
    const call = {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: {name: 'everything__echo', arguments: {message: 'hi'}},
    };
    const response = await post(id, call);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('mcp-session-id')).toBe(id);
    const [priming, result] = (await response.text()).split('\n\n');
    expect(priming).toMatch(/^id: \S+\nretry: 1000\ndata: $/);
    expect(result).toMatch(/^event: message\nid: \S+\ndata: /);
    expect(JSON.parse((result as string).split('data: ')[1] as string)).toEqual({
      jsonrpc: '2.0',
      id: 2,
      result: {content: [{type: 'text', text: 'Echo: hi'}]},
    });
  });

  it('answers a batch of requests on one SSE stream, each response an event', async () => {
    const {id} = await openSession();
    const response = await post(id, [
      {jsonrpc: '2.0', id: 2, method: 'ping'},
      {jsonrpc: '2.0', id: 3, method: 'ping'},
    ]);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = (await response.text()).split('\n\n').filter(Boolean);
    const messages = events.slice(1).map((event) => JSON.parse(event.split('data: ')[1] as string));
    expect(messages).toEqual([
      {jsonrpc: '2.0', id: 2, result: {}},
      {jsonrpc: '2.0', id: 3, result: {}},
    ]);
  });

  it.each([
    ['a POST that does not accept SSE', 'POST', {accept: 'application/json'}, '{}', 406, -32000],
    ['a POST of text/plain', 'POST', {'content-type': 'text/plain'}, '{}', 415, -32000],
    ['a body that is no JSON-RPC message', 'POST', {}, '{"hello": 1}', 400, -32700],
    ['a second initialize', 'POST', {}, JSON.stringify(INITIALIZE), 400, -32600],
    [
      'a batch of 101 messages',
      'POST',
      {},
      JSON.stringify(Array.from({length: 101}, () => ({jsonrpc: '2.0', method: 'notifications/initialized'}))),
      400,
      -32600,
    ],
    ['a GET that does not accept SSE', 'GET', {accept: 'application/json'}, undefined, 406, -32000],
    ['a GET resuming from an unknown event', 'GET', {'last-event-id': 'nope.1'}, undefined, 400, -32000],
  ])('answers %s with %i', async (_what, method, headers, body, status, code) => {
    const {id} = await openSession();
    const response = await fetch(`${router.url}/mcp`, {
      method,
      headers: {...MCP_HEADERS, 'mcp-session-id': id, ...headers},
      ...(body !== undefined && {body}),
    });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({jsonrpc: '2.0', id: null, error: {code}});
  });

  it('answers notifications with 202 and no body', async () => {
    const {id} = await openSession();
    const response = await fetch(`${router.url}/mcp`, {
      method: 'POST',
      headers: {...MCP_HEADERS, 'mcp-session-id': id},
      body: JSON.stringify({jsonrpc: '2.0', method: 'notifications/roots/list_changed'}),
    });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
  });

  it('keeps one GET stream per session (409 for a second), and DELETE ends the session and its stream', async () => {
    const {id} = await openSession();
    const headers = {accept: 'text/event-stream', 'mcp-session-id': id};
    const stream = await fetch(`${router.url}/mcp`, {headers});
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    expect(stream.headers.get('mcp-session-id')).toBe(id);
    const second = await fetch(`${router.url}/mcp`, {headers});
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({error: {code: -32000}});
    const deleted = await fetch(`${router.url}/mcp`, {method: 'DELETE', headers: {'mcp-session-id': id}});
    expect(deleted.status).toBe(200);
    expect(await stream.text()).toBe('');
    const after = await fetch(`${router.url}/mcp`, {method: 'DELETE', headers: {'mcp-session-id': id}});
    expect(after.status).toBe(404);
    expect(await after.json()).toMatchObject({error: {code: -32001}});
  });
});

describe('HEAD of the MCP endpoints', () => {
  it('regression: a HEAD of /mcp closed the session (express routed HEAD to the GET handler)', async () => {
    const {id} = await openSession();
    const head = await fetch(`${router.url}/mcp`, {method: 'HEAD', headers: {'mcp-session-id': id}});
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET, POST, DELETE');
    const ping = await post(id, {jsonrpc: '2.0', id: 2, method: 'ping'});
    expect(await ping.json()).toEqual({jsonrpc: '2.0', id: 2, result: {}});
  });

  it('opens no session on a HEAD of /sse (404)', async () => {
    const head = await fetch(`${router.url}/sse`, {method: 'HEAD'});
    expect(head.status).toBe(404);
  });
});

describe('legacy SSE leg', () => {
  it('names the message endpoint, takes a message with 202 Accepted, and answers on the stream', async () => {
    const stream = await fetch(`${router.url}/sse`, {headers: {accept: 'text/event-stream'}});
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (done: () => boolean) => {
      while (!done()) text += decoder.decode((await reader.read()).value, {stream: true});
    };
    await until(() => text.includes('\n\n'));
    const endpoint = /^event: endpoint\ndata: (\/message\?sessionId=[\x21-\x7e]+)\n\n/.exec(text)?.[1] as string;
    expect(endpoint).toBeDefined();
    const post = (body: string, contentType = 'application/json') =>
      fetch(`${router.url}${endpoint}`, {method: 'POST', headers: {'content-type': contentType}, body});
    const wrongType = await post('{}', 'text/plain');
    expect(wrongType.status).toBe(400);
    expect(await wrongType.text()).toBe('Error: Unsupported content-type: text/plain');
    const notJsonRpc = await post('{"hello": 1}');
    expect(notJsonRpc.status).toBe(400);
    expect(await notJsonRpc.text()).toMatch(/^Invalid message: /);
    const accepted = await post(JSON.stringify(INITIALIZE));
    expect(accepted.status).toBe(202);
    expect(await accepted.text()).toBe('Accepted');
    await until(() => text.split('\n\n').length > 2);
    const event = text.split('\n\n')[1] as string;
    expect(event).toMatch(/^event: message\ndata: /);
    expect(JSON.parse(event.slice(event.indexOf('data: ') + 6))).toMatchObject({
      id: 1,
      result: {protocolVersion: '2025-11-25'},
    });
    await reader.cancel();
  });
});
