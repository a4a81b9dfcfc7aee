import {execFileSync} from 'node:child_process';
import {mkdtemp, rm, symlink} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {McpError} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry, startEverythingHttp} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

// While an upstream is down, calls to its names say that it is unavailable (-32603, data.upstream), not
// "Unknown tool" (issue "Resilience": 56 of 60 calls during a stdio restart said "Unknown tool").
const failure = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (error: unknown) => error as McpError,
  );

describe('known but unavailable', () => {
  let router: Awaited<ReturnType<typeof startTestRouter>>;
  let entry: string;
  beforeAll(async () => {
    // A uniquely named link to server-everything, to find its process by its command line and to keep it from
    // starting again once removed.
    const folder = await mkdtemp(join(tmpdir(), 'unavailable-'));
    entry = join(folder, 'everything-victim.js');
    await symlink(serverEntry('server-everything'), entry);
    router = await startTestRouter({
      mcpServers: {
        victim: {command: process.execPath, args: [entry, 'stdio']},
        everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']},
      },
    });
  });
  afterAll(() => router?.stop());

  it('calls to a down upstream name it as unavailable, on the aggregate and on its own path', async () => {
    const aggregate = await connectClient(`${router.url}/mcp`);
    const own = await connectClient(`${router.url}/mcp/victim`);
    try {
      expect((await aggregate.client.listTools()).tools.map((t) => t.name)).toContain('victim__echo');
      await rm(entry);
      execFileSync('pkill', ['-KILL', '-f', 'everything-victim.js']);
      await expect
        .poll(async () => (await aggregate.client.listTools()).tools.map((t) => t.name), {timeout: 10_000})
        .not.toContain('victim__echo');

      for (const [client, name] of [
        [aggregate.client, 'victim__echo'],
        [own.client, 'echo'],
      ] as const) {
        const error = await failure(client.callTool({name, arguments: {message: 'x'}}));
        expect(error?.code).toBe(-32603);
        expect(error?.message).toContain('Upstream "victim" is unavailable');
        expect(error?.data).toEqual({upstream: 'victim'});
      }
      const unknown = await failure(aggregate.client.callTool({name: 'nosuch__echo', arguments: {}}));
      expect(unknown?.message).toContain('Unknown tool "nosuch__echo"');
      expect((await aggregate.client.callTool({name: 'everything__echo', arguments: {message: 'ok'}})).content).toEqual(
        [{type: 'text', text: 'Echo: ok'}],
      );
    } finally {
      await Promise.all([aggregate.close(), own.close()]);
    }
  });
});

describe('an HTTP upstream that dies', () => {
  it('is known to be down after the first call that cannot reach it, not at the next health check', async () => {
    const victim = await startEverythingHttp('streamableHttp');
    const router = await startTestRouter({
      mcpServers: {victim: {type: 'http', url: victim.url}},
      router: {healthCheckSeconds: 600},
    });
    const {client, close} = await connectClient(`${router.url}/mcp`);
    const state = async () =>
      ((await (await fetch(`${router.url}/readyz`)).json()) as {upstreams: {state: string}[]}).upstreams[0]?.state;
    try {
      expect(await state()).toBe('ready');
      await victim.stop();
      const error = await failure(client.callTool({name: 'victim__echo', arguments: {message: 'x'}}));
      expect(error?.message).toContain('Upstream "victim" is unavailable');
      await expect.poll(state, {timeout: 5000}).toBe('down');
    } finally {
      await close();
      await router.stop();
    }
  });
});
