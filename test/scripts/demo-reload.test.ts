/**
 * What `npm run demo` (local fallback) tells a person when the operator renders a new router.json: the real router
 * reloads it from a folder written as the kubelet writes a ConfigMap volume, and the demo turns the router's log
 * lines into a sentence (describeReload).
 */
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startRouter, type RunningRouter} from '../../router/cli.js';
import {writeConfigMapVolume} from '../../scripts/configmap-volume.js';
import {describeReload} from '../../scripts/demo-support.js';
import {serverEntry} from '../support/mcp-servers.js';
import {capturedLogger} from '../support/router.js';

const memory = {
  command: process.execPath,
  args: [serverEntry('server-memory')],
  env: {MEMORY_FILE_PATH: join(tmpdir(), 'demo-reload-memory.jsonl')},
};

let folder: string;
let router: RunningRouter;
const captured = capturedLogger('info');
const write = (config: unknown) => writeConfigMapVolume(folder, {'router.json': JSON.stringify(config)});
/** What the demo would have said so far. */
const said = () =>
  captured
    .text()
    .split('\n')
    .flatMap((line) => describeReload(line) ?? []);

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'demo-reload-'));
  await write({mcpServers: {memory}});
  router = await startRouter(
    {config: join(folder, 'router.json'), transport: 'http', host: '127.0.0.1', port: 0},
    captured.log,
  );
  await router.router.start();
});

afterAll(async () => {
  await router?.stop();
  if (folder) await rm(folder, {recursive: true, force: true});
});

describe('npm run demo on a new router.json', () => {
  it('says the router refused it, why, and that an env var needs a restart of the demo', async () => {
    await write({
      mcpServers: {memory, github: {type: 'http', url: 'https://example.test/mcp', headers: {token: '${DEMO_TOKEN}'}}},
    });
    await expect.poll(said, {timeout: 15_000}).toHaveLength(1);
    const [message] = said();
    expect(message).toMatch(/^The router refused the new config and still serves the previous one:/);
    expect(message).toContain('mcpServers.github.headers.token: environment variable DEMO_TOKEN is not set');
    expect(message).toContain('restart the demo to pass DEMO_TOKEN');
  });

  it('says what changed when the router applied it', async () => {
    await write({mcpServers: {memory, again: memory}});
    await expect.poll(said, {timeout: 15_000}).toHaveLength(2);
    expect(said()[1]).toBe('The router applied the new config (added again).');
  });

  it('says nothing about other lines', () => {
    expect(describeReload('{"level":30,"msg":"Started router"}')).toBeUndefined();
    expect(describeReload('not JSON')).toBeUndefined();
  });
});
