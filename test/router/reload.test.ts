import {mkdtemp} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import type {Client} from '@modelcontextprotocol/sdk/client/index.js';
import type {JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {writeConfigMapVolume} from '../../scripts/configmap-volume.js';
import {serverEntry} from '../support/mcp-servers.js';
import {connectClient, startTestRouterOn} from '../support/router.js';

// Hot reload: the config lives in a folder updated as the kubelet updates a mounted ConfigMap.
const node = process.execPath;
const everything = {command: node, args: [serverEntry('server-everything'), 'stdio']};
const memory = {
  command: node,
  args: [serverEntry('server-memory')],
  env: {MEMORY_FILE_PATH: join(tmpdir(), 'reload-memory.jsonl')},
};
const filesystem = {command: node, args: [serverEntry('server-filesystem'), resolve('examples/files')]};

let folder: string;
let router: Awaited<ReturnType<typeof startTestRouterOn>>;
let client: Client;
let received: JSONRPCMessage[];
let single: Client;
let closeAll: () => Promise<void>;

const write = (config: unknown) => writeConfigMapVolume(folder, {'router.json': JSON.stringify(config)});
const toolNames = async (c: Client = client) => (await c.listTools()).tools.map((t) => t.name);
const sinceOf = async (name: string) => {
  const report = (await (await fetch(`${router.url}/readyz`)).json()) as {upstreams: {name: string; since: string}[]};
  return report.upstreams.find((u) => u.name === name)?.since;
};

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'configmap-'));
  await write({mcpServers: {everything, memory}});
  router = await startTestRouterOn(join(folder, 'router.json'));
  const aggregate = await connectClient(`${router.url}/mcp`);
  const perUpstream = await connectClient(`${router.url}/mcp/everything`);
  ({client, received} = aggregate);
  single = perUpstream.client;
  closeAll = async () => {
    await aggregate.close();
    await perUpstream.close();
  };
});

afterAll(async () => {
  await closeAll?.();
  await router?.stop();
});

describe('hot reload of a mounted config', () => {
  it('adds and removes upstreams without touching the unchanged one or the open sessions', async () => {
    expect(await toolNames()).toContain('memory__read_graph');
    const since = await sinceOf('everything');

    await write({mcpServers: {everything, filesystem}});

    await expect.poll(toolNames, {timeout: 15_000}).toContain('filesystem__list_directory');
    expect(await toolNames()).not.toContain('memory__read_graph');
    expect(received.some((m) => 'method' in m && m.method === 'notifications/tools/list_changed')).toBe(true);
    expect(await sinceOf('everything')).toBe(since);
    const echo = await client.callTool({name: 'everything__echo', arguments: {message: 'same session'}});
    expect(echo.content).toEqual([{type: 'text', text: 'Echo: same session'}]);
    const direct = await single.callTool({name: 'echo', arguments: {message: 'per-upstream session'}});
    expect(direct.content).toEqual([{type: 'text', text: 'Echo: per-upstream session'}]);
  });

  it('replaces a changed upstream', async () => {
    await write({mcpServers: {everything, filesystem: {...filesystem, tools: {exclude: ['list_directory']}}}});
    const replaced = async () => {
      const names = await toolNames();
      return names.includes('filesystem__read_text_file') && !names.includes('filesystem__list_directory');
    };
    await expect.poll(replaced, {timeout: 15_000}).toBe(true);
  });

  it('refuses an invalid config, counts it, and keeps serving the previous one', async () => {
    await write({mcpServers: {everything, broken: {type: 'http'}}});
    await expect
      .poll(async () => await (await fetch(`${router.url}/metrics`)).text(), {timeout: 15_000})
      .toMatch(/mcp_router_config_reloads_total\{result="rejected"\} 1/);
    expect(await toolNames()).toContain('filesystem__read_text_file');
    const echo = await client.callTool({name: 'everything__echo', arguments: {message: 'still served'}});
    expect(echo.content).toEqual([{type: 'text', text: 'Echo: still served'}]);
  });
});
