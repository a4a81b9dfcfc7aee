import {spawn, type ChildProcess} from 'node:child_process';
import {createServer as createHttpServer, request, type IncomingHttpHeaders, type Server} from 'node:http';
import {createServer} from 'node:net';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** Entry point of an MCP server package installed as a dev dependency (run with `node`). */
export function serverEntry(name: 'server-everything' | 'server-filesystem' | 'server-memory'): string {
  return join(dirname(require.resolve(`@modelcontextprotocol/${name}/package.json`)), 'dist', 'index.js');
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A real MCP server process serving HTTP on a loopback port. */
export interface HttpMcpServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `@modelcontextprotocol/server-everything` in `streamableHttp` (`/mcp`) or `sse` (`/sse`) mode on 127.0.0.1,
 * on `port` (to start it again where it was) or a free one. Resolves when it accepts connections.
 */
export async function startEverythingHttp(mode: 'streamableHttp' | 'sse', port?: number): Promise<HttpMcpServer> {
  return startHttpServer({
    label: `server-everything ${mode}`,
    args: ['--import', join(here, 'loopback-only.mjs'), serverEntry('server-everything'), mode],
    path: mode === 'sse' ? '/sse' : '/mcp',
    ...(port !== undefined && {port}),
  });
}

/**
 * Starts a server the conformance suite runs against (`fixture`, a file of test/fixtures run with tsx:
 * conformance-server.ts for 2025-11-25, conformance-server-2026.ts for 2026-07-28) on 127.0.0.1; Streamable HTTP on
 * `/mcp`. Resolves when it accepts connections.
 */
export async function startConformanceServer(fixture: string): Promise<HttpMcpServer> {
  const entry = join(here, '..', 'fixtures', fixture);
  return startHttpServer({
    label: `the conformance fixture server ${fixture}`,
    args: ['--import', 'tsx', entry],
    path: '/mcp',
  });
}

/**
 * Starts test/fixtures/modern-server.mjs, a server of MCP 2026-07-28 only (SDK 2.x, `legacy: 'reject'`), on
 * 127.0.0.1; Streamable HTTP on `/mcp`. Resolves when it accepts connections.
 */
export async function startModernServer(): Promise<HttpMcpServer> {
  const entry = join(here, '..', 'fixtures', 'modern-server.mjs');
  return startHttpServer({label: 'the 2026-07-28 fixture server', args: [entry], path: '/mcp'});
}

/** How to start a server that listens on HTTP: `command` (default: this `node`) with `args`, which may name the port. */
export interface HttpServerCommand {
  label: string;
  command?: string;
  args: string[] | ((port: number) => string[]);
  /** The path of the MCP endpoint, e.g. `/mcp`. */
  path: string;
  /** The port to listen on (to start a server again where it was); default: a free one. */
  port?: number;
}

/**
 * Runs the command with PORT set to `port` (default: a free loopback port); resolves once that port answers HTTP,
 * with the server's URL at `path`. Throws when the process exits first (with the end of its stderr), or after 20 s.
 * Its stdout is dropped, so that a chatty server never blocks on a full pipe. `stop()` sends SIGTERM, and SIGKILL 5 s later if it hangs.
 */
export async function startHttpServer({
  label,
  command,
  args,
  path,
  port: given,
}: HttpServerCommand): Promise<HttpMcpServer> {
  const port = given ?? (await freePort());
  const child = spawn(command ?? process.execPath, typeof args === 'function' ? args(port) : args, {
    env: {...process.env, PORT: String(port)},
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}: ${stderr}`);
    // Each try is bounded: a port taken in between by a process that accepts but never answers must not hang here.
    const up = await fetch(`http://127.0.0.1:${port}/`, {signal: AbortSignal.timeout(1000)}).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`${label} did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}${path}`,
    process: child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const hung = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(hung);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * An HTTP proxy on 127.0.0.1 that forwards every request to `target`'s origin and records its headers and body, so that
 * a test sees which credentials (or trace context) reach an upstream. `bodies[i]` is the body of `received[i]`, complete
 * once the upstream has answered.
 */
export function recordingProxy(
  target: URL,
): Promise<{server: Server; url: string; received: IncomingHttpHeaders[]; bodies: string[]}> {
  const received: IncomingHttpHeaders[] = [];
  const bodies: string[] = [];
  const server = createHttpServer((req, res) => {
    const index = received.push(req.headers) - 1;
    bodies[index] = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (bodies[index] += chunk));
    const upstream = request(
      {host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers},
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number};
      resolve({server, url: `http://127.0.0.1:${port}${target.pathname}`, received, bodies});
    }),
  );
}
