import {spawn, spawnSync} from 'node:child_process';
import {createWriteStream, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {homedir} from 'node:os';
import {basename, dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

import {type Component, moduleFolders, versions} from './versions.js';

/** Writes one line of progress for a person watching (stderr in the scripts, the test output in suites). */
export type Log = (line: string) => void;

export const defaultLog: Log = (line) => process.stderr.write(`[cluster] ${line}\n`);

/** Raised when a program of the control plane cannot be found or built; the message says how to get it. */
export class ControlPlaneUnavailableError extends Error {
  static code = 'CONTROL_PLANE_UNAVAILABLE';
  override name = 'ControlPlaneUnavailableError';
}

/** The programs each component's Go module builds, as they are named on disk. */
export const programs: Record<Component, readonly string[]> = {
  kubernetes: ['kube-apiserver', 'kube-controller-manager', 'kubectl'],
  etcd: ['etcd'],
  helm: ['helm'],
  'kubernetes-node': ['kubelet', 'kube-proxy', 'kube-scheduler'],
  containerd: ['containerd', 'containerd-shim-runc-v2', 'ctr'],
  runc: ['runc'],
  'cni-plugins': ['bridge', 'host-local', 'loopback', 'portmap'],
  coredns: ['coredns'],
  otelcol: ['otelcol'],
};

/** Where the Go modules of the components live: `test/cluster/go/<module folder>` (see `moduleFolders`). */
export const goModulesDir = join(dirname(fileURLToPath(import.meta.url)), 'go');

/**
 * The root of the binary cache, outside any clone so that clones share it:
 * `$KUBE_MCP_ROUTER_CACHE`, else `$HOME/.cache/kube-mcp-router`.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KUBE_MCP_ROUTER_CACHE || join(homedir(), '.cache', 'kube-mcp-router'));
}

/** The cache folder of one component at its pinned version: `<cacheRoot>/<component>-<version>`. */
export function componentDir(component: Component, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), `${component}-${versions[component]}`);
}

/** The cache folder of a component when every one of its programs is there, else undefined. */
export function builtComponent(component: Component, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = componentDir(component, env);
  return programs[component].every((program) => isFile(join(dir, program))) ? dir : undefined;
}

/** The programs a control plane runs. Optional ones fall back to PATH (kubectl, helm) or are left out (the manager). */
export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager?: string;
  kubectl?: string;
  /** Where etcd and kube-apiserver came from. */
  source: 'KUBEBUILDER_ASSETS' | 'cache';
}

export interface ResolveOptions {
  /** Build missing components with Go (minutes, once); when false a missing component raises. Default true. */
  build?: boolean;
  log?: Log;
  env?: NodeJS.ProcessEnv;
}

/**
 * Finds the control plane's programs, building them once when needed.
 *
 * Follows envtest's convention: when `KUBEBUILDER_ASSETS` names a folder holding `kube-apiserver` and `etcd`, those
 * are used and nothing is built; `kube-controller-manager` and `kubectl` are taken from that folder too, else from the
 * cache when built, else left out. Otherwise the pinned versions are taken from the cache, built there first if
 * missing.
 *
 * @throws ControlPlaneUnavailableError when `KUBEBUILDER_ASSETS` lacks a program, or a build is needed but Go is
 *   missing, `build` is false, or the build fails.
 */
export async function resolveControlPlaneBinaries(options: ResolveOptions = {}): Promise<ControlPlaneBinaries> {
  const env = options.env ?? process.env;
  const assets = env.KUBEBUILDER_ASSETS;
  if (assets) {
    const missing = ['kube-apiserver', 'etcd'].filter((program) => !isFile(join(assets, program)));
    if (missing.length > 0) {
      throw new ControlPlaneUnavailableError(
        `KUBEBUILDER_ASSETS=${assets} has no ${missing.join(' or ')}. Point it at a folder holding kube-apiserver ` +
          `and etcd (for example one made by setup-envtest), or unset it to build the pinned versions with Go.`,
      );
    }
    const built = builtComponent('kubernetes', env);
    const pick = (program: string) =>
      isFile(join(assets, program)) ? join(assets, program) : built ? join(built, program) : undefined;
    return {
      etcd: join(assets, 'etcd'),
      kubeApiserver: join(assets, 'kube-apiserver'),
      kubeControllerManager: pick('kube-controller-manager'),
      kubectl: pick('kubectl'),
      source: 'KUBEBUILDER_ASSETS',
    };
  }
  const kubernetes = await ensureComponent('kubernetes', options);
  const etcd = await ensureComponent('etcd', options);
  return {
    etcd: join(etcd, 'etcd'),
    kubeApiserver: join(kubernetes, 'kube-apiserver'),
    kubeControllerManager: join(kubernetes, 'kube-controller-manager'),
    kubectl: join(kubernetes, 'kubectl'),
    source: 'cache',
  };
}

/**
 * The cache folder of a component, building it first when it is missing and `options.build` is not false.
 *
 * @throws ControlPlaneUnavailableError as {@link resolveControlPlaneBinaries}.
 */
export async function ensureComponent(component: Component, options: ResolveOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const built = builtComponent(component, env);
  if (built) return built;
  if (options.build === false) {
    throw new ControlPlaneUnavailableError(
      `${component} ${versions[component]} is not built in ${componentDir(component, env)}. ${howToGetBinaries}`,
    );
  }
  return buildComponent(component, options);
}

export const howToGetBinaries =
  'Either install Go >= 1.26 (https://go.dev/dl/ or a package manager) and run `npm run cluster:build` once: it ' +
  'builds the pinned Kubernetes, etcd and helm from their Go modules through the Go module proxy into ' +
  '$KUBE_MCP_ROUTER_CACHE (default $HOME/.cache/kube-mcp-router), about 15 minutes on 2 cores, once per machine. ' +
  'Or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver and etcd (and kube-controller-manager and kubectl), ' +
  "such as the one controller-runtime's setup-envtest installs.";

/**
 * Builds one component from its Go module into its cache folder, once: concurrent callers (other test workers, other
 * clones) wait on a lock folder beside it and reuse the result. Prints what is built and a heartbeat while `go build`
 * runs, and keeps the full output in `<cache folder>/build.log`.
 *
 * @returns the cache folder.
 * @throws ControlPlaneUnavailableError when Go is missing or the build fails (the message ends with the log's tail).
 */
export async function buildComponent(component: Component, options: ResolveOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;
  const dir = componentDir(component, env);
  const go = goVersion(env);
  if (!go) {
    throw new ControlPlaneUnavailableError(
      `Cannot build ${component} ${versions[component]}: \`go\` is not on PATH and KUBEBUILDER_ASSETS is not set. ` +
        howToGetBinaries,
    );
  }
  mkdirSync(dirname(dir), {recursive: true});
  const release = await acquireLock(`${dir}.lock`, log, `build of ${component} ${versions[component]}`);
  try {
    const done = builtComponent(component, env);
    if (done) return done;
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, {recursive: true, force: true});
    mkdirSync(partial, {recursive: true});
    const packages = toolPackages(component);
    log(
      `Building ${component} ${versions[component]} (${programs[component].join(', ')}) from Go modules with ${go} ` +
        `into ${dir}. ${buildDuration[component]}; it happens once per version and machine.`,
    );
    const started = Date.now();
    await goBuild({
      cwd: join(goModulesDir, moduleFolders[component]),
      args: [
        'build',
        '-v',
        '-trimpath',
        ...buildTags(component),
        '-ldflags',
        ldflags(component),
        '-o',
        `${partial}/`,
        ...packages,
      ],
      logFile: join(partial, 'build.log'),
      env: {...env, ...goEnv[component]},
      heartbeat: (compiled) =>
        log(`... still building ${component} ${versions[component]}: ${since(started)}, ${compiled} packages compiled`),
    });
    const seconds = Math.round((Date.now() - started) / 1000);
    writeFileSync(
      join(partial, 'build-info.json'),
      JSON.stringify({component, version: versions[component], go, seconds, builtAt: new Date().toISOString()}) + '\n',
    );
    rmSync(dir, {recursive: true, force: true});
    renameSync(partial, dir);
    log(`Built ${component} ${versions[component]} in ${since(started)}.`);
    return dir;
  } finally {
    release();
  }
}

const buildDuration: Record<Component, string> = {
  kubernetes: 'This takes about 10 minutes on 2 idle cores, more on a busy machine',
  etcd: 'This takes 1-2 minutes',
  helm: 'This takes about 5 minutes',
  'kubernetes-node': 'This takes 1-2 minutes after the control plane, about 10 on its own',
  containerd: 'This takes about 5 minutes',
  runc: 'This takes about 1 minute',
  'cni-plugins': 'This takes about 1 minute',
  coredns: 'This takes about 5 minutes',
  otelcol: 'This takes about 5 minutes',
};

/**
 * Environment of `go build` per component. runc needs cgo and libseccomp (Debian: `libseccomp-dev`) for the seccomp
 * profiles of `RuntimeDefault`; the other node programs are pure Go.
 */
const goEnv: Partial<Record<Component, NodeJS.ProcessEnv>> = {
  runc: {CGO_ENABLED: '1'},
  containerd: {CGO_ENABLED: '0'},
  'cni-plugins': {CGO_ENABLED: '0'},
  coredns: {CGO_ENABLED: '0'},
  otelcol: {CGO_ENABLED: '0'},
};

/** Build tags, as the projects' own Makefiles set them (containerd without the snapshotters that need C libraries). */
function buildTags(component: Component): string[] {
  if (component === 'runc') return ['-tags', 'seccomp urfave_cli_no_docs'];
  if (component === 'containerd') return ['-tags', 'no_btrfs no_devmapper no_zfs'];
  return [];
}

/**
 * The `tool` directives of a component's go.mod that build its programs: the packages to build. Components that share
 * a module (the control plane's and the node's Kubernetes programs) each take the tools named like their programs.
 */
export function toolPackages(component: Component): string[] {
  const goMod = readFileSync(join(goModulesDir, moduleFolders[component], 'go.mod'), 'utf8');
  const block = /^tool\s*\(([^)]*)\)/m.exec(goMod)?.[1];
  const single = [...goMod.matchAll(/^tool\s+([^\s(]+)\s*$/gm)].map((match) => match[1] ?? '');
  const listed = block ? block.split('\n').map((line) => line.replace(/\/\/.*$/, '').trim()) : [];
  const tools = [...listed, ...single].filter((tool) => tool && programs[component].includes(basename(tool)));
  // The etcd and otelcol modules are their own main packages (etcd: a tiny main around etcdmain).
  return tools.length > 0 ? tools : ['.'];
}

/** Version stamps, as the projects' own release builds set them (Kubernetes: hack/lib/version.sh). */
function ldflags(component: Component): string {
  const version = versions[component];
  const flags = ['-s', '-w'];
  if (component === 'kubernetes' || component === 'kubernetes-node') {
    const [major, minor] = version.replace(/^v/, '').split('.');
    for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
      flags.push(
        `-X ${pkg}.gitVersion=${version}`,
        `-X ${pkg}.gitMajor=${major}`,
        `-X ${pkg}.gitMinor=${minor}`,
        `-X ${pkg}.gitTreeState=clean`,
      );
    }
  } else if (component === 'helm') {
    flags.push(`-X helm.sh/helm/v4/internal/version.version=${version}`);
  } else if (component === 'containerd') {
    flags.push(`-X github.com/containerd/containerd/v2/version.Version=${version}`);
  } else if (component === 'runc') {
    flags.push(`-X main.version=${version.replace(/^v/, '')}`);
  } else if (component === 'cni-plugins') {
    flags.push(`-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=${version}`);
  }
  return flags.join(' ');
}

interface GoBuild {
  cwd: string;
  args: string[];
  logFile: string;
  env: NodeJS.ProcessEnv;
  heartbeat: (compiled: number) => void;
}

async function goBuild({cwd, args, logFile, env, heartbeat}: GoBuild): Promise<void> {
  const out = createWriteStream(logFile);
  let compiled = 0;
  let tail: string[] = [];
  const child = spawn('go', args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']});
  const onData = (chunk: Buffer) => {
    out.write(chunk);
    const lines = chunk.toString().split('\n').filter(Boolean);
    compiled += lines.filter((line) => !line.startsWith('#') && !line.includes(' ')).length;
    tail = [...tail, ...lines].slice(-30);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setInterval(() => heartbeat(compiled), 60_000);
  try {
    const code = await new Promise<number | null>((resolveExit, reject) => {
      child.on('error', reject);
      child.on('close', resolveExit);
    });
    if (code !== 0) {
      throw new ControlPlaneUnavailableError(
        `\`go ${args.join(' ')}\` failed (exit ${code}) in ${cwd}; full log in ${logFile}:\n${tail.join('\n')}`,
      );
    }
  } finally {
    clearInterval(timer);
    await new Promise<void>((done) => out.end(done));
  }
}

/** `go version`'s answer (e.g. `go1.26.8`), or undefined when Go is not on PATH. */
export function goVersion(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const result = spawnSync('go', ['env', 'GOVERSION'], {env, encoding: 'utf8'});
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * Takes an exclusive lock held by this process: a folder holding the owner's pid. Waits while another live process
 * holds it, and takes over a lock whose owner has died.
 *
 * @returns a function that releases the lock.
 */
export async function acquireLock(path: string, log: Log, what: string): Promise<() => void> {
  let announced = false;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      return () => rmSync(path, {recursive: true, force: true});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readPid(join(path, 'pid'));
    if (owner !== undefined && !isAlive(owner)) {
      rmSync(path, {recursive: true, force: true});
      continue;
    }
    const lock = statSync(path, {throwIfNoEntry: false});
    if (!lock) continue;
    if (owner === undefined && Date.now() - lock.mtimeMs > 10_000) {
      // A lock folder without a pid for this long was left by a process that died between mkdir and write.
      rmSync(path, {recursive: true, force: true});
      continue;
    }
    if (!announced) {
      log(`Waiting for the ${what} running in process ${owner ?? '?'} ...`);
      announced = true;
    }
    await sleep(2_000);
  }
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isFile(path: string): boolean {
  return statSync(path, {throwIfNoEntry: false})?.isFile() ?? false;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

function since(started: number): string {
  const seconds = Math.round((Date.now() - started) / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
