/**
 * `npm run demo` stops, undoing what it started, on SIGINT to its npm process alone (as `kill -INT <npm pid>` or a
 * process supervisor sends it) as well as on Ctrl-C (SIGINT to the whole process group). The script line is the
 * project's own (package.json `scripts.demo`), run by npm in a scratch package whose `scripts/demo.ts` is a stand-in
 * (a fake of the demo, which would start a cluster) that undoes its work on SIGINT the way the demo does.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtemp, mkdir, readFile, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The stand-in: says it runs, and on SIGINT or SIGTERM "undoes" once (appends a line to undone.txt), then exits. */
const STAND_IN = `
import {appendFileSync} from 'node:fs';
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => {
    appendFileSync('undone.txt', 'undone\\n');
    process.exit(0);
  }, 300);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stderr.write('running\\n');
setInterval(() => undefined, 1 << 30);
`;

/** The stand-in, its event loop busy 200 ms at a time (as a demo is, on a loaded machine, when Ctrl-C comes). */
const BUSY_STAND_IN = `${STAND_IN}
setInterval(() => {
  const until = Date.now() + 200;
  while (Date.now() < until);
}, 0);
`;

let scratch: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  const {scripts} = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {scripts: {demo: string}};
  scratch = await mkdtemp(join(tmpdir(), 'demo-signal-'));
  await writeFile(
    join(scratch, 'package.json'),
    JSON.stringify({name: 'demo-signal', private: true, type: 'module', scripts: {demo: scripts.demo}}),
  );
  await mkdir(join(scratch, 'scripts'));
  await symlink(join(ROOT, 'node_modules'), join(scratch, 'node_modules'));
});

afterEach(() => {
  // Whatever is left of the group this test started.
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

afterAll(async () => {
  if (scratch) await rm(scratch, {recursive: true, force: true});
});

/**
 * `npm run demo` of `standIn` in its own process group, once the stand-in says it runs; resolves `exited` with npm's
 * exit.
 */
async function startDemo(standIn = STAND_IN): Promise<{npm: ChildProcess; exited: Promise<number | null>}> {
  await rm(join(scratch, 'undone.txt'), {force: true});
  await writeFile(join(scratch, 'scripts', 'demo.ts'), standIn);
  const npm = spawn('npm', ['run', 'demo'], {cwd: scratch, detached: true, stdio: ['ignore', 'ignore', 'pipe']});
  started.push(npm);
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    npm.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('running')) resolve();
    });
    npm.once('exit', (code) => reject(new Error(`npm run demo exited (${code}) before running: ${stderr}`)));
  });
  return {npm, exited};
}

const undone = () => readFile(join(scratch, 'undone.txt'), 'utf8').catch(() => '');

describe('npm run demo on SIGINT', () => {
  it('stops and undoes once when only its npm process gets SIGINT', async () => {
    const {npm, exited} = await startDemo();
    npm.kill('SIGINT');
    await exited;
    await expect.poll(undone, {timeout: 10_000}).toBe('undone\n');
  }, 30_000);

  it('stops and undoes once on Ctrl-C (SIGINT to the whole process group)', async () => {
    const {npm, exited} = await startDemo();
    process.kill(-npm.pid!, 'SIGINT');
    await exited;
    await expect.poll(undone, {timeout: 10_000}).toBe('undone\n');
  }, 30_000);

  it('regression: Ctrl-C while the demo was busy killed it before it undid its work (tsx relayed the signal, then sent SIGKILL when the demo did not answer within 60 ms)', async () => {
    const {npm, exited} = await startDemo(BUSY_STAND_IN);
    process.kill(-npm.pid!, 'SIGINT');
    await exited;
    await expect.poll(undone, {timeout: 10_000}).toBe('undone\n');
  }, 30_000);
});
