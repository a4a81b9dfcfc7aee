/**
 * A closed-loop load: some MCP client sessions, each sending one request again and again until a deadline, and the
 * latency of every request. Bounded in time: a warm-up, then the measured window; a call that takes longer than
 * `CALL_TIMEOUT_MS` fails and counts as an error.
 */
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {SSEClientTransport} from '@modelcontextprotocol/sdk/client/sse.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {FetchLike} from '@modelcontextprotocol/sdk/shared/transport.js';
import {cpuSeconds} from './processes.js';

export const CALL_TIMEOUT_MS = 10_000;

/**
 * The paths a round measures, in the order it measures them: every other round in reverse, so that over two rounds
 * or more no path always runs first, or always right after the same other one (the order biases a ratio of two paths
 * measured one after the other by up to a tenth on a quiet machine).
 */
export function roundOrder<T>(paths: readonly T[], round: number): readonly T[] {
  return round % 2 ? [...paths].reverse() : paths;
}

/**
 * `fetch` with a signal of its own for each request, aborted when the one it is given is. The SDK's client gives
 * every request of a session its transport's signal, and fetch (undici) keeps an abort listener on it until the
 * request is collected, so a session of a few thousand calls passed the signal's listener limit and printed a
 * `MaxListenersExceededWarning` a call (not a leak; noise in the output).
 */
function signalPerRequest(fetch: FetchLike): FetchLike {
  return (url, init) => fetch(url, init?.signal ? {...init, signal: AbortSignal.any([init.signal])} : init);
}

/**
 * The SDK client connected to `url` (SSE when its path ends in `/sse`, Streamable HTTP otherwise); `fetch`, when
 * given, makes its HTTP requests (e.g. to choose the pod of each).
 */
export async function connect(url: string, headers: Record<string, string> = {}, fetch?: FetchLike): Promise<Client> {
  const client = new Client({name: 'bench', version: '1'});
  const target = new URL(url);
  const options = {requestInit: {headers}, fetch: signalPerRequest(fetch ?? globalThis.fetch)};
  await client.connect(
    target.pathname.endsWith('/sse')
      ? new SSEClientTransport(target, options)
      : new StreamableHTTPClientTransport(target, options),
    {timeout: CALL_TIMEOUT_MS},
  );
  return client;
}

/**
 * What one load measured: latencies in ms of the calls that succeeded in the window, and the window in seconds; with
 * `Load.cpuOf`, the CPU seconds each named group of processes used in the window, and `client`, the load's own.
 */
export interface LoadSample {
  latenciesMs: number[];
  seconds: number;
  errors: number;
  cpuSeconds?: Record<string, number>;
}

export interface Load {
  url: string;
  /** One request of the load, e.g. `(client) => client.callTool(...)`; given the call timeout to pass on. */
  call: (client: Client, options: {timeout: number}) => Promise<unknown>;
  clients: number;
  headers?: Record<string, string>;
  /** Makes the sessions' HTTP requests (default: the global fetch). */
  fetch?: FetchLike;
  warmupSeconds: number;
  seconds: number;
  /**
   * The processes whose CPU time the window counts, by name (pids summed; Linux), asked for once the sessions are
   * connected (a proxy may start its upstream per session).
   */
  cpuOf?: () => Promise<Record<string, number[]>>;
}

/** CPU seconds so far of each group of `cpuOf`, and of this process as `client`. */
async function cpuNow(cpuOf: Record<string, number[]>): Promise<Record<string, number>> {
  const groups = await Promise.all(
    Object.entries(cpuOf).map(async ([name, pids]) => {
      const seconds = await Promise.all(pids.map(cpuSeconds));
      return [name, seconds.reduce((a, b) => a + b, 0)] as const;
    }),
  );
  const {user, system} = process.cpuUsage();
  return {...Object.fromEntries(groups), client: (user + system) / 1e6};
}

async function callUntil(client: Client, load: Load, deadline: number, sample?: LoadSample): Promise<void> {
  while (performance.now() < deadline) {
    const started = performance.now();
    try {
      await load.call(client, {timeout: CALL_TIMEOUT_MS});
      sample?.latenciesMs.push(performance.now() - started);
    } catch {
      if (sample) sample.errors++;
    }
  }
}

/** Clients of a warm-up (`warmUp`): enough to keep the processes of a path busy, as the heaviest load does. */
export const WARMUP_CLIENTS = 16;

/**
 * Calls `load`'s request on `WARMUP_CLIENTS` fresh sessions for `seconds`, measuring nothing, so that every process
 * on its path has compiled its hot code before it is measured. V8 optimizes a function once it has run enough; a
 * request through the router, or through server-everything, runs several hundred functions once each, and a process
 * of either took 15-20 s under this load to reach its steady CPU per call (about a third of its first seconds').
 */
export async function warmUp(load: Pick<Load, 'url' | 'call' | 'headers' | 'fetch'>, seconds: number): Promise<void> {
  if (seconds > 0) await runLoad({...load, clients: WARMUP_CLIENTS, warmupSeconds: seconds, seconds: 0});
}

/** Runs `load` on fresh sessions and closes them; throws only when a session cannot be opened. */
export async function runLoad(load: Load): Promise<LoadSample> {
  const sessions = await Promise.all(
    Array.from({length: load.clients}, () => connect(load.url, load.headers, load.fetch)),
  );
  try {
    const warmup = performance.now() + load.warmupSeconds * 1000;
    await Promise.all(sessions.map((client) => callUntil(client, load, warmup)));
    const sample: LoadSample = {latenciesMs: [], seconds: 0, errors: 0};
    const processes = await load.cpuOf?.();
    const cpuBefore = processes && (await cpuNow(processes));
    const started = performance.now();
    await Promise.all(sessions.map((client) => callUntil(client, load, started + load.seconds * 1000, sample)));
    sample.seconds = (performance.now() - started) / 1000;
    if (processes && cpuBefore) {
      const after = await cpuNow(processes);
      sample.cpuSeconds = Object.fromEntries(Object.entries(after).map(([name, s]) => [name, s - cpuBefore[name]!]));
    }
    return sample;
  } finally {
    await Promise.all(sessions.map((client) => client.close()));
  }
}
