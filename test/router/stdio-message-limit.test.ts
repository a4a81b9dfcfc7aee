import {execFileSync} from 'node:child_process';
import {mkdtemp, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import type {JsonObject} from '../../router/upstream/connection.js';
import type {Upstream} from '../../router/upstream/upstream.js';
import {serverEntry} from '../support/mcp-servers.js';
import {startUpstream} from '../support/upstream.js';

// A real server-filesystem over stdio, reached through `Upstream` as the router does, serving a folder with one
// small file and big ones. Its entry is linked under a unique name so that its process can be found by command line.

const MiB = 1024 * 1024;
const upstreams: Upstream[] = [];

afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

/** A folder with `small.txt` and a text file of `bigBytes` bytes, `big.txt`; and a link to the server's entry. */
async function folderWithFiles(bigBytes: number): Promise<{folder: string; entry: string; big: string}> {
  const folder = await mkdtemp(join(tmpdir(), 'stdio-limit-'));
  const line = 'All work and no play makes a message too long to frame quadratically.\n';
  const big = line.repeat(Math.ceil(bigBytes / line.length)).slice(0, bigBytes);
  await writeFile(join(folder, 'small.txt'), 'small file\n');
  await writeFile(join(folder, 'big.txt'), big);
  const entry = join(folder, 'filesystem-under-test.js');
  await symlink(serverEntry('server-filesystem'), entry);
  return {folder, entry, big};
}

/** The process ids of the running processes whose command line mentions `marker`. */
function pidsOf(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], {encoding: 'utf8'});
  return out
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => line.trim().split(/\s+/)[0] as string);
}

/** Starts the `fs` upstream as the router does; `states` records every state change after the first `ready`. */
const startFilesystem = (folder: string, entry: string, maxMessageBytes?: number) =>
  startUpstream('fs', {command: process.execPath, args: [entry, folder]}, upstreams, maxMessageBytes);

const readFile = (upstream: Upstream, path: string): Promise<JsonObject> =>
  upstream.requireConnection().forward({method: 'tools/call', params: {name: 'read_text_file', arguments: {path}}});

const text = (result: JsonObject) => (result.content as {text: string}[])[0]?.text;

describe('a stdio message over maxUpstreamMessageBytes', () => {
  it('regression: a 12 MiB stdio result failed 14 concurrent calls and restarted the child; now it fails only its own call, naming the limit', async () => {
    const {folder, entry} = await folderWithFiles(6 * MiB); // the result carries the text twice: about 12 MiB
    const {upstream, states} = await startFilesystem(folder, entry, MiB);
    const [pid] = pidsOf(entry);
    expect(pid).toBeDefined();

    const big = readFile(upstream, join(folder, 'big.txt'));
    const others = Array.from({length: 14}, () => readFile(upstream, join(folder, 'small.txt')));
    const [bigOutcome, ...otherOutcomes] = await Promise.allSettled([big, ...others]);

    expect(bigOutcome?.status).toBe('rejected');
    expect(((bigOutcome as PromiseRejectedResult).reason as Error).message).toMatch(
      /^Upstream "fs": sent a message of \d{8} bytes, over maxUpstreamMessageBytes \(1048576\)$/,
    );
    expect(otherOutcomes.map((o) => (o.status === 'fulfilled' ? text(o.value) : o.reason))).toEqual(
      Array.from({length: 14}, () => 'small file\n'),
    );

    // The connection stayed up: no state change, the same child, and later calls work.
    expect(text(await readFile(upstream, join(folder, 'small.txt')))).toBe('small file\n');
    expect(states).toEqual([]);
    expect(upstream.state).toBe('ready');
    expect(pidsOf(entry)).toEqual([pid]);
  });

  it('regression: a 10 MB result closed the connection at the SDK 10 MiB buffer limit; now it passes intact under the default limit', async () => {
    const {folder, entry, big} = await folderWithFiles(10_000_000);
    const {upstream, states} = await startFilesystem(folder, entry);

    const result = await readFile(upstream, join(folder, 'big.txt'));

    expect(text(result)).toBe(big); // about 20 MB on the wire: the text and the structured content
    expect(result.structuredContent).toEqual({content: big});
    expect(states).toEqual([]);
  });
});
