import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {InMemoryTransport} from '@modelcontextprotocol/sdk/inMemory.js';
import type {Server} from '@modelcontextprotocol/sdk/server/index.js';
import type {CallToolResult, Progress} from '@modelcontextprotocol/sdk/types.js';
import {z} from 'zod';
import {ANONYMOUS, type Principal} from '../auth/principal.js';
import {passOn} from '../errors.js';
import type {DownstreamTransport} from '../router.js';
import type {DownstreamSession, Scope} from '../session/downstream.js';
import type {LegacyPeer} from '../session/legacy.js';
import type {BuiltinCaller} from '../upstream/upstream.js';
import {ROUTER_NAME, ROUTER_VERSION} from '../version.js';

/** Any result of the caller's client, kept whole. */
const AnyResult = z.looseObject({});

/** What `UpstreamCaller` needs of the router. */
export interface CallerHost {
  createLegacySession(
    scope: Scope,
    transport: Exclude<DownstreamTransport, 'modern'>,
    principal: Principal,
  ): DownstreamSession<LegacyPeer>;
}

/**
 * Tool calls the router makes for a caller, of `call_upstream_tool` (one management connection) or of composite
 * steps (one composite connection): each goes through a session of the caller's principal on a scope (the upstream's
 * own path, as a client of `/mcp/{upstream}` would, or the aggregate, as a client of `/mcp`), so the access rules, the
 * audit line, the circuit breaker, retries, timeouts and metrics are those of any call. One session per scope, opened
 * at the first call and closed with the connection.
 *
 * These internal sessions act for the caller's downstream session: they carry its session id (their audit and log
 * lines have its tag), declare what its client declared, and send the server-to-client requests of the upstreams they
 * call (sampling, elicitation, roots; MCP 2025-11-25 client features) to `server`, the built-in upstream's server
 * whose client is that downstream session. There the request goes on to the caller's client as any upstream's
 * request does: on the response stream of its call in flight, or as `input_required` rounds of a 2026-07-28 client,
 * and refused with -32601 when its client did not declare the capability.
 */
export class UpstreamCaller {
  readonly #host: CallerHost;
  readonly #caller: BuiltinCaller | undefined;
  readonly #server: Server;
  readonly #clients = new Map<string, Promise<Client>>();

  readonly #purpose: string;

  /**
   * `caller`: the downstream session the calls are made for (none: the router's own connection, calling as
   * anonymous). `server`: the server of the built-in upstream's connection to that session. `purpose` names the
   * caller in the clientInfo of its sessions (e.g. `call_upstream_tool`).
   */
  constructor(host: CallerHost, caller: BuiltinCaller | undefined, server: Server, purpose: string) {
    this.#host = host;
    this.#caller = caller;
    this.#server = server;
    this.#purpose = purpose;
  }

  /**
   * Calls a tool by its name on a scope: an upstream's own (unprefixed) name, or an aggregated name.
   * @param timeoutMs how long to wait for the result, reset by progress (the upstream's own timeouts apply inside)
   * @throws McpError as a client of the scope's path would get it: -32602 for a tool that does not exist or is not
   *   granted, -32603 with `data.upstream` when the upstream is unavailable, -32001 on a timeout
   */
  async call(
    scope: Scope,
    tool: string,
    args: Record<string, unknown>,
    options: {signal: AbortSignal; timeoutMs: number; onprogress?: (progress: Progress) => void},
  ): Promise<CallToolResult> {
    const client = await this.#client(scope);
    return (await client.callTool({name: tool, arguments: args}, undefined, {
      signal: options.signal,
      timeout: options.timeoutMs,
      resetTimeoutOnProgress: true,
      ...(options.onprogress && {onprogress: options.onprogress}),
    })) as CallToolResult;
  }

  #client(scope: Scope): Promise<Client> {
    const key = scope.kind === 'aggregate' ? '' : scope.name;
    let pending = this.#clients.get(key);
    if (!pending) {
      pending = this.#connect(scope);
      this.#clients.set(key, pending);
      pending.catch(() => this.#clients.delete(key));
    }
    return pending;
  }

  async #connect(scope: Scope): Promise<Client> {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    serverSide.sessionId = this.#caller?.id;
    const session = this.#host.createLegacySession(scope, 'internal', this.#caller?.principal ?? ANONYMOUS);
    await session.peer.connect(serverSide);
    const server = this.#server;
    const client = new Client(
      {name: `${ROUTER_NAME}/${this.#purpose}`, version: ROUTER_VERSION},
      {capabilities: server.getClientCapabilities() ?? {}},
    );
    client.fallbackRequestHandler = ({method, params}, extra) =>
      server.request({method, ...(params && {params})} as never, AnyResult, {signal: extra.signal}).catch(passOn);
    client.onclose = () => this.#clients.delete(scope.kind === 'aggregate' ? '' : scope.name);
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
