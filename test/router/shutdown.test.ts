import {spawn} from 'node:child_process';
import {execFileSync} from 'node:child_process';
import {mkdtemp, symlink} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {connectClient, writeConfig} from '../support/router.js';

/** Command lines of the running processes that mention `marker`. */
function processesWith(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'args'], {encoding: 'utf8'});
  return out.split('\n').filter((line) => line.includes(marker));
}

describe('SIGTERM', () => {
  it('lets the call in flight finish, exits 0 and leaves no upstream process behind', async () => {
    // A uniquely named link to server-everything, to find its process by its command line.
    const folder = await mkdtemp(join(tmpdir(), 'shutdown-'));
    const entry = join(folder, 'everything-under-test.js');
    await symlink(serverEntry('server-everything'), entry);
    const file = await writeConfig({
      mcpServers: {everything: {command: process.execPath, args: [entry, 'stdio']}},
      router: {shutdownGraceSeconds: 20},
    });
    const router = spawn(process.execPath, ['--import', 'tsx', 'cli.ts', 'router', '--config', file, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => router.on('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      let log = '';
      router.stdout.on('data', (chunk) => {
        log += chunk;
        const match = /"url":"(http:\/\/[^"]+)"/.exec(log);
        if (match) resolve(match[1] as string);
      });
      router.on('exit', () => reject(new Error(`router exited early: ${log}`)));
    });
    for (let i = 0; i < 100 && (await fetch(`${url}/readyz`)).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(processesWith(entry)).toHaveLength(1);

    const {client} = await connectClient(`${url}/mcp`);
    const call = client.callTool({
      name: 'everything__trigger-long-running-operation',
      arguments: {duration: 2, steps: 2},
    });
    await new Promise((r) => setTimeout(r, 300));
    router.kill('SIGTERM');
    const result = await call;
    expect(JSON.stringify(result.content)).toContain('Long running operation completed');
    expect(await exited).toBe(0);
    expect(processesWith(entry)).toEqual([]);
  });
});
