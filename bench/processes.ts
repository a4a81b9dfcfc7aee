/**
 * The processes a benchmark measures, each on 127.0.0.1 and stopped with SIGTERM (SIGKILL when it hangs): the router
 * (built, from `dist/`), the benchmark's fixture and floor servers, punkpeye's `mcp-proxy` (npm) and sparfenyuk's
 * `mcp-proxy` (PyPI), and the RSS of a process as Linux counts it.
 */
import {execFile} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdtemp, readdir, readFile, writeFile} from 'node:fs/promises';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {cacheRoot} from '../test/cluster/binaries.js';
import {startHttpServer, type HttpMcpServer} from '../test/support/mcp-servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** `node ARGS` that runs the fixture server (bench/fixture-server.mjs) over stdio with `tools` catalog tools. */
export function fixtureStdio(tools: number): {command: string; args: string[]} {
  return {command: process.execPath, args: [join(here, 'fixture-server.mjs'), 'stdio', '--tools', String(tools)]};
}

/** The fixture server over stateless Streamable HTTP, `/mcp`: JSON responses, or SSE streams with `sse`. */
export function startFixtureHttp(tools: number, {sse = false} = {}): Promise<HttpMcpServer> {
  const {args} = fixtureStdio(tools);
  return startHttpServer({
    label: 'the fixture server',
    args: [args[0] as string, 'streamableHttp', ...args.slice(2), ...(sse ? ['--sse'] : [])],
    path: '/mcp',
  });
}

/**
 * The fixture server over stateless Streamable HTTP serving each service of a catalog file (bench/catalog-50x20.json)
 * as its own MCP server at `<url>/<service>`.
 */
export function startCatalogFixtureHttp(file: string): Promise<HttpMcpServer> {
  return startHttpServer({
    label: 'the catalog fixture server',
    args: [join(here, 'fixture-server.mjs'), 'streamableHttp', '--catalog', file],
    path: '/mcp',
  });
}

/**
 * Starts `node dist/cli.js router` on a config with these `mcpServers` and `router` options; resolves when `/readyz`
 * answers 200 (every upstream connected), with `url` the router's origin. `nodeFlags` go before the script, e.g.
 * `--cpu-prof`; `cli` is the script (another build's, to compare). Throws after 20 s.
 */
export async function startRouter(
  mcpServers: object,
  router: object = {},
  nodeFlags: string[] = [],
  cli = 'dist/cli.js',
): Promise<HttpMcpServer> {
  const config = join(await mkdtemp(join(tmpdir(), 'bench-')), 'router.json');
  await writeFile(config, JSON.stringify({mcpServers, router}));
  const server = await startHttpServer({
    label: 'the router',
    args: (port) => [...nodeFlags, cli, 'router', '--config', config, '--port', String(port), '--log-level', 'warn'],
    path: '',
  });
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`${server.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return server;
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.stop();
  throw new Error('the router did not become ready');
}

/**
 * A plain `node:http` reverse proxy (bench/raw-proxy.mjs) in front of `target`'s origin: the floor of what any second
 * HTTP hop adds on this machine. `url` is the proxy's origin with `target`'s path.
 */
export function startRawProxy(target: string): Promise<HttpMcpServer> {
  const {origin, pathname} = new URL(target);
  return startHttpServer({
    label: 'the raw proxy',
    args: [join(here, 'raw-proxy.mjs'), origin],
    path: pathname,
  });
}

/**
 * The floor server (bench/floor-server.mjs, `--tools` `tools`), run by node with `nodeFlags`: plain `node:http` with
 * fixed answers, what serving MCP sessions costs Node.js itself on this machine. `url` is its origin.
 */
export function startFloorServer(tools: number, nodeFlags: string[] = []): Promise<HttpMcpServer> {
  return startHttpServer({
    label: 'the floor server',
    args: [...nodeFlags, join(here, 'floor-server.mjs'), '--tools', String(tools)],
    path: '',
  });
}

/**
 * punkpeye's `mcp-proxy` (npm) in front of a stdio server, run by node with `nodeFlags`; `url` is its Streamable HTTP
 * endpoint, `/sse` beside it.
 */
export function startPunkpeyeProxy(
  upstream: {command: string; args: string[]},
  nodeFlags: string[] = [],
): Promise<HttpMcpServer> {
  const bin = join(dirname(require.resolve('mcp-proxy/package.json')), 'dist', 'bin', 'mcp-proxy.mjs');
  return startHttpServer({
    label: 'mcp-proxy (npm)',
    args: (port) => [
      ...nodeFlags,
      bin,
      ...['--host', '127.0.0.1', '--port', String(port), '--', upstream.command, ...upstream.args],
    ],
    path: '/mcp',
  });
}

/** The version of sparfenyuk's `mcp-proxy` from PyPI that the benchmark installs. */
export const PYTHON_MCP_PROXY_VERSION = '0.13.0';

/**
 * The `mcp-proxy` program of a venv under the cache folder (`$KUBE_MCP_ROUTER_CACHE`, else `~/.cache/kube-mcp-router`),
 * made and filled with `pip` on first use. Throws with pip's message when the package cannot be installed.
 */
export async function pythonMcpProxy(): Promise<string> {
  const venv = join(cacheRoot(), `bench-mcp-proxy-${PYTHON_MCP_PROXY_VERSION}`);
  const program = join(venv, 'bin', 'mcp-proxy');
  if (existsSync(program)) return program;
  const run = promisify(execFile);
  await run('python3', ['-m', 'venv', venv]);
  await run(join(venv, 'bin', 'pip'), ['install', '--quiet', `mcp-proxy==${PYTHON_MCP_PROXY_VERSION}`], {
    timeout: 300_000,
  });
  return program;
}

/** sparfenyuk's `mcp-proxy` (PyPI) serving a stdio server; `url` is its Streamable HTTP endpoint. */
export function startPythonProxy(program: string, upstream: {command: string; args: string[]}): Promise<HttpMcpServer> {
  return startHttpServer({
    label: 'mcp-proxy (PyPI)',
    command: program,
    args: (port) => ['--host', '127.0.0.1', '--port', String(port), '--', upstream.command, ...upstream.args],
    path: '/mcp',
  });
}

async function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
}

/** The resident set of process `pid`, in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  return (await statusKiB(pid, 'VmRSS')) * 1024;
}

/** The peak resident set of `pid` since its last `resetPeakRss`, in bytes. */
export async function peakRssBytes(pid: number): Promise<number> {
  return (await statusKiB(pid, 'VmHWM')) * 1024;
}

/** Sets the peak resident set of `pid` back to its current one (Linux `clear_refs` 5; needs the process's owner). */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** Clock ticks per second of `/proc/PID/stat` times (`USER_HZ`, 100 on Linux). */
const USER_HZ = 100;

/** The CPU time process `pid` has used, user and system, in seconds (Linux `/proc/PID/stat`, fields 14 and 15). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which is in parentheses and may hold spaces: state is the first.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** The processes below `pid` (children, their children, ...), from Linux `/proc/PID/task/TID/children`. */
export async function descendants(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  const children = (
    await Promise.all(tasks.map((tid) => readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '')))
  ).flatMap((text) => text.split(' ').filter(Boolean).map(Number));
  return [...children, ...(await Promise.all(children.map(descendants))).flat()];
}
