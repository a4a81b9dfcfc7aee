import {mkdtemp, readFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {McpError} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startEverythingHttp} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

// Retries through the real router, against a real server that dies during the first call of each tool or resource and
// answers from its next process (test/fixtures/crash-once-server.mjs): a read is tried again and succeeds; a tool call
// is tried again only when the tool is idempotent and the config allows it.
const fixture = resolve('test/fixtures/crash-once-server.mjs');
const retries = {maxAttempts: 4, backoffSeconds: 0.5, maxBackoffSeconds: 2};
let router: Awaited<ReturnType<typeof startTestRouter>>;
let folders: {trusting: string; strict: string};

beforeAll(async () => {
  folders = {
    trusting: await mkdtemp(join(tmpdir(), 'retries-trusting-')),
    strict: await mkdtemp(join(tmpdir(), 'retries-strict-')),
  };
  const server = (folder: string, toolCalls: boolean) => ({
    command: process.execPath,
    args: [fixture],
    env: {CRASH_DIR: folder},
    retries: {...retries, toolCalls},
  });
  router = await startTestRouter({
    mcpServers: {trusting: server(folders.trusting, true), strict: server(folders.strict, false)},
  });
});
afterAll(() => router?.stop());

/** How often the upstream ran a tool or resource, from the fixture's own count. */
const runs = async (folder: string, key: string) =>
  (await readFile(join(folder, key), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

const failure = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (error: unknown) => error as McpError,
  );

describe('retries', () => {
  it('a read whose upstream dies under it is tried again on the restarted upstream, and succeeds', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      const read = await client.readResource({uri: 'fixture://crash-once'});
      expect(read.contents).toEqual([{uri: 'fixture://crash-once', text: 'ran 2 times'}]);
      expect(await runs(folders.trusting, 'resource')).toBe(2);
      const metrics = await (await fetch(`${router.url}/metrics`)).text();
      expect(metrics).toMatch(
        /mcp_router_upstream_retries_total\{upstream="trusting",method="resources\/read"\} [1-9]/,
      );
    } finally {
      await close();
    }
  });

  it('a call of a tool annotated idempotentHint is tried again when the upstream allows tool calls', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      const result = await client.callTool({name: 'trusting__crash-once-idempotent', arguments: {}});
      expect(result.content).toEqual([{type: 'text', text: 'ran 2 times'}]);
      expect(await runs(folders.trusting, 'crash-once-idempotent')).toBe(2);
    } finally {
      await close();
    }
  });

  it.each([
    ['a tool without annotations', 'trusting', 'crash-once'],
    ['an idempotent tool of an upstream whose config does not allow tool calls', 'strict', 'crash-once-idempotent'],
  ] as const)('a call of %s is not tried again: it may have run', async (_what, upstream, tool) => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    try {
      const error = await failure(client.callTool({name: `${upstream}__${tool}`, arguments: {}}));
      expect(error?.code).toBe(-32603);
      expect(error?.message).toContain(`Upstream "${upstream}" is unavailable: the connection closed during the call`);
      // The upstream is back, and the call ran once.
      await expect
        .poll(async () => (await client.listTools()).tools.map((t) => t.name), {timeout: 10_000})
        .toContain(`${upstream}__${tool}`);
      expect(await runs(folders[upstream], tool)).toBe(1);
    } finally {
      await close();
    }
  });
});

describe('retries against an HTTP upstream that is restarted', () => {
  it('a read after the restart is tried again on a new upstream session, and succeeds', async () => {
    let upstream = await startEverythingHttp('streamableHttp');
    const port = Number(new URL(upstream.url).port);
    const restartable = await startTestRouter({
      mcpServers: {web: {type: 'http', url: upstream.url, retries}},
      router: {healthCheckSeconds: 600},
    });
    const {client, close} = await connectClient(`${restartable.url}/mcp/web`);
    const retried = async () =>
      /mcp_router_upstream_retries_total\{upstream="web",method="resources\/read"\} (\d+)/.exec(
        await (await fetch(`${restartable.url}/metrics`)).text(),
      )?.[1];
    try {
      const [resource] = (await client.listResources()).resources;
      const uri = resource?.uri as string;
      expect((await client.readResource({uri})).contents[0]?.uri).toBe(uri);
      expect(await retried()).toBeUndefined();

      // The restarted server knows nothing of the router's upstream session: the first attempt fails with it.
      await upstream.stop();
      upstream = await startEverythingHttp('streamableHttp', port);
      expect((await client.readResource({uri})).contents[0]?.uri).toBe(uri);
      expect(Number(await retried())).toBeGreaterThan(0);
    } finally {
      await close();
      await restartable.stop();
      await upstream.stop();
    }
  });
});
