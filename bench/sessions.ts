/**
 * Client sessions held open to measure what they cost a server: Streamable HTTP sessions made with plain requests
 * (initialize and initialized, and no GET stream, so that they are truly idle), and SSE sessions made with the SDK
 * client, whose stream is the session.
 */
import {INITIALIZE, MCP_HEADERS} from '../test/support/router.js';
import {CALL_TIMEOUT_MS, connect} from './load.js';

export interface HeldSession {
  /** One tools/call; throws when it fails. */
  call(tool: string, args: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** A Streamable HTTP session on `url` (MCP 2025-11-25 basic/transports), initialized, with no stream open. */
export async function streamableHttpSession(url: string): Promise<HeldSession> {
  const post = async (message: object, sessionId?: string) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {...MCP_HEADERS, ...(sessionId && {'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25'})},
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const body = await response.text();
    if (!response.ok || body.includes('"error"')) throw new Error(`HTTP ${response.status}: ${body.slice(0, 200)}`);
    return response.headers.get('mcp-session-id') ?? '';
  };
  const id = await post(INITIALIZE);
  await post({jsonrpc: '2.0', method: 'notifications/initialized'}, id);
  return {
    call: async (name, args) =>
      void (await post({jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name, arguments: args}}, id)),
    close: async () =>
      void (await fetch(url, {method: 'DELETE', headers: {'mcp-session-id': id}}).then((r) => r.text())),
  };
}

/** An SSE session on `url` (the `/sse` endpoint), initialized by the SDK client. */
export async function sseSession(url: string): Promise<HeldSession> {
  const client = await connect(url);
  return {
    call: async (name, args) =>
      void (await client.callTool({name, arguments: args}, undefined, {timeout: CALL_TIMEOUT_MS})),
    close: () => client.close(),
  };
}
