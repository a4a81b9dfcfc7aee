import {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js';
import {InMemoryTransport} from '@modelcontextprotocol/sdk/inMemory.js';
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js';
import {z} from 'zod';
import {ANONYMOUS, type Principal} from '../auth/principal.js';
import {MANAGEMENT_UPSTREAM} from '../config/schema.js';
import {ROUTER_VERSION} from '../version.js';
import type {BuiltinCaller} from '../upstream/upstream.js';
import type {UpstreamRegistry} from './registry.js';
import {UpstreamCaller, type CallerHost} from './calls.js';
import {UpstreamHealthSchema, UpstreamReportSchema, upstreamReport, type UpstreamHealth} from './report.js';

/** What the management upstream needs of the router. */
export interface ManagementHost extends CallerHost {
  /** The health of every upstream the principal is granted, in config order. */
  upstreamHealth(principal: Principal): Promise<UpstreamHealth[]>;
  /** Seconds a `tools/call` to an upstream may take in all (its `maxCallSeconds`, or the tool's own). */
  maxCallSeconds(upstream: string, tool: string): number | undefined;
  /** Registers and removes upstreams; undefined unless `router.management.register` (and in local mode). */
  readonly registry: UpstreamRegistry | undefined;
  /** Why the principal may not register or remove upstreams; undefined when it may (see `adminRefusal`). */
  adminRefusal(principal: Principal): string | undefined;
}

/** The annotations of the tools that only read: `list_upstreams` (and so `GET /upstreams`), `get_upstream_health`. */
export const READ_ONLY = {readOnlyHint: true, openWorldHint: false};

/** A tool result with the same JSON as text and as `structuredContent` (MCP 2025-11-25 server/tools). */
function structured(value: Record<string, unknown>): CallToolResult {
  return {content: [{type: 'text', text: JSON.stringify(value)}], structuredContent: value};
}

/** A tool error: the text says what went wrong. */
function failed(message: string): CallToolResult {
  return {content: [{type: 'text', text: message}], isError: true};
}

/** Names `register_upstream` accepts: they become path segments (`/mcp/{name}`) and JSON keys. */
const UPSTREAM_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const UNKNOWN = (name: string) => failed(`Unknown upstream ${JSON.stringify(name)}`);

/**
 * The MCP server of the built-in upstream `router`, for one connection: one per downstream session (it is
 * `perSession`), serving that session's principal, and one for the router's own connection (no principal: it lists
 * every tool, and grants nothing). What a principal may see of other upstreams follows the access rules
 * (`Grant.upstream`); an upstream it may not see answers as one that does not exist.
 *
 * Tools: `list_upstreams`, `get_upstream_health(name)`, `call_upstream_tool(upstream, tool, arguments)`, and with a
 * registry `register_upstream(name, server)` and `remove_upstream(name)`, listed only to a principal that
 * `adminRefusal` lets through.
 */
export function createManagementServer(host: ManagementHost, session: BuiltinCaller | undefined): McpServer {
  const principal = session?.principal;
  const caller = principal ?? ANONYMOUS;
  const server = new McpServer({name: MANAGEMENT_UPSTREAM, version: ROUTER_VERSION});
  const calls = new UpstreamCaller(host, session, server.server, 'call_upstream_tool');
  server.server.onclose = () => void calls.close();
  const healthOf = async (name: string) => (await host.upstreamHealth(caller)).find((u) => u.name === name);

  server.registerTool(
    'list_upstreams',
    {
      title: 'List upstreams',
      description:
        'The upstream MCP servers of this router that you may use: name, transport, protocol era, state (connecting, ' +
        'ready, down, closed), circuit breaker (closed, open, halfOpen), tools, calls in flight, median call time over ' +
        'the last 10 minutes in ms, and the last error.',
      outputSchema: {upstreams: z.array(UpstreamReportSchema)},
      annotations: READ_ONLY,
    },
    async () => structured({upstreams: (await host.upstreamHealth(caller)).map(upstreamReport)}),
  );

  server.registerTool(
    'get_upstream_health',
    {
      title: 'Get upstream health',
      description:
        'The health of one upstream: what list_upstreams gives, its session mode and since when its state holds.',
      inputSchema: {name: z.string().describe('Name of the upstream.')},
      outputSchema: UpstreamHealthSchema.shape,
      annotations: READ_ONLY,
    },
    async ({name}) => {
      const health = await healthOf(name);
      return health ? structured(health) : UNKNOWN(name);
    },
  );

  server.registerTool(
    'call_upstream_tool',
    {
      title: 'Call an upstream tool',
      description:
        "Calls a tool of one upstream by the upstream's own name for it, as a client of /mcp/{upstream} would, and " +
        'answers with its result.',
      inputSchema: {
        upstream: z.string().describe('Name of the upstream.'),
        tool: z.string().describe('Name of the tool, as the upstream names it (without prefix).'),
        arguments: z.record(z.string(), z.unknown()).optional().describe('Arguments of the tool.'),
      },
    },
    async ({upstream, tool, arguments: args}, extra) => {
      if (upstream === MANAGEMENT_UPSTREAM)
        return failed('call_upstream_tool does not call the tools of the router itself');
      const timeout = host.maxCallSeconds(upstream, tool);
      if (timeout === undefined || !(await healthOf(upstream))) return UNKNOWN(upstream);
      const token = extra._meta?.progressToken;
      return calls.call({kind: 'upstream', name: upstream}, tool, args ?? {}, {
        signal: extra.signal,
        timeoutMs: timeout * 1000 + 1000,
        ...(token !== undefined && {
          onprogress: (progress) =>
            void extra
              .sendNotification({method: 'notifications/progress', params: {...progress, progressToken: token}})
              .catch(() => undefined),
        }),
      });
    },
  );

  const registry = host.registry;
  if (registry && (principal === undefined || host.adminRefusal(caller) === undefined)) {
    const refusal = () => host.adminRefusal(caller);
    server.registerTool(
      'register_upstream',
      {
        title: 'Register an upstream',
        description:
          'Adds an upstream MCP server to this router without a restart, kept in the overlay file beside its config. ' +
          '`server` is an entry as in mcpServers: {"command", "args", "env"} or {"type": "http", "url", "headers"}, ' +
          'with router options (prefix, tools, session, timeouts, circuitBreaker, retries).',
        inputSchema: {
          name: z
            .string()
            .regex(UPSTREAM_NAME, 'must match ^[a-zA-Z0-9_-]{1,64}$')
            .refine((name) => name !== '__proto__', 'must not be __proto__')
            .describe('Name of the new upstream: its key in mcpServers, and its path /mcp/{name}.'),
          server: z.record(z.string(), z.unknown()).describe('The server entry.'),
        },
        outputSchema: UpstreamHealthSchema.shape,
        annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true},
      },
      async ({name, server: entry}) => {
        const refused = refusal();
        if (refused) return failed(`Refused: ${refused}`);
        await registry.register(name, entry);
        const health = await healthOf(name);
        return health ? structured(health) : failed(`Registered "${name}", but it is not in the running config`);
      },
    );
    server.registerTool(
      'remove_upstream',
      {
        title: 'Remove an upstream',
        description:
          'Removes an upstream from this router without a restart: its calls in flight finish (up to ' +
          'shutdownGraceSeconds), then it is closed. Kept in the overlay file beside the config.',
        inputSchema: {name: z.string().min(1).describe('Name of the upstream.')},
        annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false},
      },
      async ({name}) => {
        const refused = refusal();
        if (refused) return failed(`Refused: ${refused}`);
        await registry.remove(name);
        return {content: [{type: 'text', text: `Removed "${name}"`}]};
      },
    );
  }
  return server;
}

/**
 * A transport to a new management server for a downstream session (see `createManagementServer`): the client end
 * of an in-memory pair, whose other end the server is connected to.
 */
export function managementTransport(host: ManagementHost, session: BuiltinCaller | undefined): Transport {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  void createManagementServer(host, session).connect(serverSide);
  return clientSide;
}
