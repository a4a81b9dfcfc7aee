import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {InMemoryTransport} from '@modelcontextprotocol/sdk/inMemory.js';
import type {CallToolResult, Progress} from '@modelcontextprotocol/sdk/types.js';
import type {Principal} from '../auth/principal.js';
import type {DownstreamTransport} from '../router.js';
import type {DownstreamSession, Scope} from '../session/downstream.js';
import type {LegacyPeer} from '../session/legacy.js';
import {ROUTER_NAME, ROUTER_VERSION} from '../version.js';

/** What `UpstreamCaller` needs of the router. */
export interface CallerHost {
  createLegacySession(
    scope: Scope,
    transport: Exclude<DownstreamTransport, 'modern'>,
    principal: Principal,
  ): DownstreamSession<LegacyPeer>;
}

/**
 * The calls of `call_upstream_tool` for one management connection: each goes through a session of the caller's
 * principal on the upstream's own path, as a client of `/mcp/{upstream}` would, so the access rules, the audit line,
 * the circuit breaker, retries, timeouts and metrics are those of any call. One session per upstream, opened at the
 * first call and closed with the management connection.
 */
export class UpstreamCaller {
  readonly #host: CallerHost;
  readonly #principal: Principal;
  readonly #clients = new Map<string, Promise<Client>>();

  constructor(host: CallerHost, principal: Principal) {
    this.#host = host;
    this.#principal = principal;
  }

  /**
   * Calls a tool of an upstream by its own (unprefixed) name.
   * @param timeoutMs how long to wait for the result, reset by progress (the upstream's own timeouts apply inside)
   * @throws McpError as a client of `/mcp/{upstream}` would get it: -32602 for a tool that does not exist or is not
   *   granted, -32603 with `data.upstream` when the upstream is unavailable, -32001 on a timeout
   */
  async call(
    upstream: string,
    tool: string,
    args: Record<string, unknown>,
    options: {signal: AbortSignal; timeoutMs: number; onprogress?: (progress: Progress) => void},
  ): Promise<CallToolResult> {
    const client = await this.#client(upstream);
    return (await client.callTool({name: tool, arguments: args}, undefined, {
      signal: options.signal,
      timeout: options.timeoutMs,
      resetTimeoutOnProgress: true,
      ...(options.onprogress && {onprogress: options.onprogress}),
    })) as CallToolResult;
  }

  #client(upstream: string): Promise<Client> {
    let pending = this.#clients.get(upstream);
    if (!pending) {
      pending = this.#connect(upstream);
      this.#clients.set(upstream, pending);
      pending.catch(() => this.#clients.delete(upstream));
    }
    return pending;
  }

  async #connect(upstream: string): Promise<Client> {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const session = this.#host.createLegacySession({kind: 'upstream', name: upstream}, 'internal', this.#principal);
    await session.peer.connect(serverSide);
    const client = new Client({name: `${ROUTER_NAME}/call_upstream_tool`, version: ROUTER_VERSION});
    client.onclose = () => this.#clients.delete(upstream);
    await client.connect(clientSide);
    return client;
  }

  /** Closes every session it opened. */
  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(clients.map(async (pending) => (await pending).close()));
  }
}
