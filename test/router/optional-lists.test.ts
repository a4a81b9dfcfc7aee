import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {connectClient, startTestRouter} from '../support/router.js';

// An upstream that declares resources but answers resources/templates/list with -32601 (a real SDK server, see the
// fixture) is up, with no templates; it used to be marked down and retried for ever.
const fixture = fileURLToPath(new URL('../fixtures/optional-lists-server.mjs', import.meta.url));

describe('an upstream without an optional list', () => {
  let router: Awaited<ReturnType<typeof startTestRouter>>;
  beforeAll(async () => {
    router = await startTestRouter({mcpServers: {partial: {command: process.execPath, args: [fixture]}}});
  });
  afterAll(() => router?.stop());

  it('is ready, and lists its tools and resources, and no templates', async () => {
    const readiness = (await (await fetch(`${router.url}/readyz`)).json()) as {upstreams: {state: string}[]};
    expect(readiness.upstreams).toMatchObject([{state: 'ready'}]);
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['partial__noop']);
      expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['fixture://only']);
      expect((await client.listResourceTemplates()).resourceTemplates).toEqual([]);
    } finally {
      await close();
    }
  });
});
