import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {recordingProxy, startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {capturedLogger, connectClient, startLoggedRouter} from '../support/router.js';

// The client's token is never forwarded upstream (MCP 2025-11-25 basic/authorization, Token Passthrough): an HTTP
// upstream, behind a recording proxy, sees the router's own credential for it and nothing of the client's.
const CLIENT_TOKEN = 'client-token-0123456789abcdef';
const UPSTREAM_CREDENTIAL = 'Bearer the-routers-own-credential';

describe('token passthrough', () => {
  let everything: HttpMcpServer;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let router: Awaited<ReturnType<typeof startLoggedRouter>>;

  beforeAll(async () => {
    everything = await startEverythingHttp('streamableHttp');
    proxy = await recordingProxy(new URL(everything.url));
    router = await startLoggedRouter(
      {
        mcpServers: {remote: {type: 'http', url: proxy.url, headers: {Authorization: UPSTREAM_CREDENTIAL}}},
        router: {
          auth: {bearerTokens: [{principal: 'agent', token: CLIENT_TOKEN}]},
          access: [{principals: ['agent']}],
        },
      },
      capturedLogger('error').log,
    );
  });
  afterAll(async () => {
    await router?.stop();
    proxy?.server.close();
    await everything?.stop();
  });

  it("the upstream gets the router's credential for it, never the client's token", async () => {
    proxy.received.length = 0;
    const {client, close} = await connectClient(`${router.url}/mcp`, {
      headers: {authorization: `Bearer ${CLIENT_TOKEN}`},
    });
    try {
      const result = await client.callTool({name: 'remote__echo', arguments: {message: 'through'}});
      expect(result.content).toEqual([{type: 'text', text: 'Echo: through'}]);
    } finally {
      await close();
    }
    expect(proxy.received.length).toBeGreaterThan(0);
    expect(new Set(proxy.received.map((headers) => headers.authorization))).toEqual(new Set([UPSTREAM_CREDENTIAL]));
    expect(JSON.stringify(proxy.received)).not.toContain(CLIENT_TOKEN);
  });
});
