/**
 * Container images of the local node: no registry is reachable, so every image is built on this machine and kept as
 * an OCI archive in the cache (`<cacheRoot>/images/*.tar`), which the node imports into its containerd when it
 * starts. The pause image is built here from Kubernetes' own `build/pause/linux/pause.c`; the project's image by
 * `npm run image` (scripts/image.ts).
 */
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {ControlPlaneUnavailableError, type Log, acquireLock, cacheRoot, goModulesDir, isFile} from './binaries.js';
import {moduleFolders, versions} from './versions.js';

/** tar flags that make an archive depend only on its files: sorted names, owner root, times at the epoch. */
const REPRODUCIBLE_TAR = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0'];

/** The pause image's version (`TAG` of Kubernetes' build/pause/Makefile) and the name containerd pins it under. */
export const pauseVersion = '3.10.2';
export const pauseImage = `registry.k8s.io/pause:${pauseVersion}`;

/** The project's image as `npm run image` builds it, and the name of its OCI archive in {@link imagesDir}. */
export const projectImage = 'localhost/kube-mcp-router:dev';
export const projectArchive = 'kube-mcp-router-dev.tar';

/** The folder of the OCI archives the node imports when it starts. */
export function imagesDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'images');
}

/** The OCI archives in {@link imagesDir}, pause first. */
export function imageArchives(env: NodeJS.ProcessEnv = process.env): string[] {
  const dir = imagesDir(env);
  const files = (() => {
    try {
      return readdirSync(dir).filter((file) => file.endsWith('.tar'));
    } catch {
      return [];
    }
  })();
  return files.sort((a, b) => Number(b.startsWith('pause')) - Number(a.startsWith('pause'))).map((f) => join(dir, f));
}

/**
 * The pause image as an OCI archive in {@link imagesDir}, built first when missing: `pause.c` from the pinned
 * Kubernetes module compiled with `gcc -static`, as one layer, the image named {@link pauseImage}.
 *
 * @returns the archive's path.
 * @throws ControlPlaneUnavailableError when gcc or the Go module cannot be had.
 */
export async function ensurePauseImage(log: Log, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = imagesDir(env);
  const archive = join(dir, `pause-${pauseVersion}.tar`);
  if (isFile(archive)) return archive;
  mkdirSync(dir, {recursive: true});
  const release = await acquireLock(`${archive}.lock`, log, 'build of the pause image');
  try {
    if (isFile(archive)) return archive;
    log(`Building the pause image ${pauseImage} from the Kubernetes ${versions.kubernetes} module with gcc -static`);
    const module = spawnSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${versions.kubernetes}`], {
      cwd: join(goModulesDir, moduleFolders.kubernetes),
      env,
      encoding: 'utf8',
    });
    const source = module.status === 0 ? (JSON.parse(module.stdout) as {Dir?: string}).Dir : undefined;
    if (!source) throw new ControlPlaneUnavailableError(`Cannot get the Kubernetes module: ${module.stderr}`);
    const work = `${archive}.partial-${process.pid}`;
    rmSync(work, {recursive: true, force: true});
    mkdirSync(join(work, 'rootfs'), {recursive: true});
    run('gcc', [
      '-Os',
      '-Wall',
      '-Werror',
      '-static',
      `-DVERSION=v${pauseVersion}-kube-mcp-router`,
      '-o',
      join(work, 'rootfs', 'pause'),
      join(source, 'build', 'pause', 'linux', 'pause.c'),
    ]);
    run('strip', [join(work, 'rootfs', 'pause')]);
    writeOciArchive({
      work,
      archive,
      name: pauseImage,
      config: {Entrypoint: ['/pause'], User: '65535:65535'},
    });
    rmSync(work, {recursive: true, force: true});
    return archive;
  } finally {
    release();
  }
}

/**
 * Writes a one-layer OCI image archive of `<work>/rootfs` named `name` (annotation `io.containerd.image.name`, which
 * `ctr images import` uses). Reproducible: files are owned by root with mtime 0.
 */
function writeOciArchive(options: {work: string; archive: string; name: string; config: Record<string, unknown>}) {
  const {work, archive, name, config} = options;
  const layout = join(work, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, {recursive: true});
  const layerFile = join(work, 'layer.tar');
  run('tar', [...REPRODUCIBLE_TAR, '-cf', layerFile, '-C', join(work, 'rootfs'), '.']);
  const blob = (bytes: Buffer) => {
    const digest = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(blobs, digest), bytes);
    return {digest: `sha256:${digest}`, size: bytes.length};
  };
  const layer = blob(readFileSync(layerFile));
  const imageConfig = blob(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config,
        rootfs: {type: 'layers', diff_ids: [layer.digest]},
      }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...imageConfig},
        layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer}],
      }),
    ),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: {'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.split(':').pop()},
        },
      ],
    }),
  );
  const partial = `${archive}.tmp`;
  run('tar', [...REPRODUCIBLE_TAR, '-cf', partial, '-C', layout, '.']);
  renameSync(partial, archive);
}

/**
 * Imports OCI archives into the node's containerd (namespace `k8s.io`, where the kubelet's images live).
 *
 * @throws ControlPlaneUnavailableError when `ctr` fails.
 */
export function importImages(ctr: string, address: string, archives: string[], log: Log): void {
  for (const archive of archives) {
    const started = Date.now();
    const result = spawnSync(
      ctr,
      ['--address', address, '-n', 'k8s.io', 'images', 'import', '--label', 'io.cri-containerd.pinned=pinned', archive],
      {encoding: 'utf8'},
    );
    if (result.status !== 0) {
      throw new ControlPlaneUnavailableError(`ctr images import ${archive} failed: ${result.stderr}${result.stdout}`);
    }
    const size = Math.round((statSync(archive).size / 1024 / 1024) * 10) / 10;
    log(`Imported ${archive.split('/').pop()} (${size} MiB) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
}

function run(program: string, args: string[]): void {
  const result = spawnSync(program, args, {encoding: 'utf8'});
  if (result.status !== 0) {
    throw new ControlPlaneUnavailableError(
      `\`${program} ${args.join(' ')}\` failed: ${result.error?.message ?? ''}${result.stderr ?? ''}`,
    );
  }
}
