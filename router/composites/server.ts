import {Server} from '@modelcontextprotocol/sdk/server/index.js';
import {InMemoryTransport} from '@modelcontextprotocol/sdk/inMemory.js';
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import {ANONYMOUS, type Principal} from '../auth/principal.js';
import {UpstreamCaller, type CallerHost} from '../management/calls.js';
import type {UpstreamGroupConfig} from '../config/schema.js';
import type {Grant} from '../policy/rules.js';
import type {BuiltinCaller, Upstream} from '../upstream/upstream.js';
import {ROUTER_VERSION} from '../version.js';
import {compositeRefusal, stepRoutes} from './access.js';
import {failed, runComposite} from './run.js';
import {COMPOSITE_UPSTREAM, inputValidator, type Composite} from './schema.js';

/** What the composite upstream needs of the router. */
export interface CompositeHost extends CallerHost {
  readonly separator: string;
  /** What a principal may use under the current access rules. */
  grantFor(principal: Principal): Grant;
  /** The upstreams of the aggregate, in config order. */
  upstreams(scope: {kind: 'aggregate'}): Upstream[];
  /** The group an upstream serves in: its tools are then named with the group's prefix. */
  groupOf(upstream: string): UpstreamGroupConfig | undefined;
}

/** The `tools/list` entry of a composite (MCP 2025-11-25 server/tools). */
function toolOf(name: string, composite: Composite): Tool {
  return {
    name,
    ...(composite.title !== undefined && {title: composite.title}),
    description: composite.description,
    inputSchema: composite.inputSchema,
    ...(composite.annotations !== undefined && {annotations: composite.annotations}),
  };
}

/**
 * The MCP server of the built-in upstream `composite`, for one connection: one per downstream session (it is
 * `perSession`), serving that session (`caller`), and one for the router's own connection (no caller: it lists every
 * composite). It lists the composites the caller's principal may run (see `compositeRefusal`) and runs them: each step
 * is a `tools/call` of the principal on the aggregate, through an internal session acting for the caller's session
 * (`UpstreamCaller`), so the access rules, audit lines (with the caller's session tag), timeouts, retries and circuit
 * breakers of every step are those of any call.
 *
 * Sampling, elicitation and roots requests of a step's upstream go to this server's client, the caller's session,
 * and from there to its client as for a direct call (`DownstreamSession.serverRequest`); the answer goes back to the
 * step's upstream. A client that did not declare the capability refuses it, and the step fails with that reason.
 *
 * Progress (MCP 2025-11-25 basic/utilities/progress), when the call asked for it: one notification per step event
 * (started, its own progress, finished, failed), `progress` counting them, with a `message` naming the step.
 * Cancellation of the call cancels the steps in flight and starts no other.
 */
export function createCompositeServer(
  host: CompositeHost,
  session: BuiltinCaller | undefined,
  composites: Record<string, Composite>,
): Server {
  const server = new Server({name: COMPOSITE_UPSTREAM, version: ROUTER_VERSION}, {capabilities: {tools: {}}});
  const principal = session?.principal;
  const caller = principal ?? ANONYMOUS;
  const calls = new UpstreamCaller(host, session, server, COMPOSITE_UPSTREAM);
  server.onclose = () => void calls.close();
  const refusal = (name: string, composite: Composite) => {
    const upstreams = host.upstreams({kind: 'aggregate'}).map((u) => ({
      name: u.name,
      prefix: host.groupOf(u.name)?.prefix ?? u.config.prefix,
      tools: u.connection?.catalog.tools ?? [],
    }));
    return compositeRefusal(name, composite, host.grantFor(caller), (tool) =>
      stepRoutes(tool, upstreams, host.separator),
    );
  };

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: Object.entries(composites)
      .filter(([name, composite]) => principal === undefined || refusal(name, composite) === undefined)
      .map(([name, composite]) => toolOf(name, composite)),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const {name, arguments: args = {}} = request.params;
    const composite = Object.hasOwn(composites, name) ? composites[name] : undefined;
    if (!composite) throw new McpError(ErrorCode.InvalidParams, `Unknown tool "${name}"`);
    const refused = refusal(name, composite);
    if (refused) return failed(refused);
    const valid = inputValidator(composite.inputSchema)(args);
    if (!valid.valid) return failed(`Invalid arguments: ${valid.errorMessage}`);
    const token = extra._meta?.progressToken;
    let events = 0;
    return runComposite(composite, args, {
      signal: extra.signal,
      progress: (message) => {
        if (token === undefined) return;
        void extra
          .sendNotification({
            method: 'notifications/progress',
            params: {progressToken: token, progress: ++events, message},
          })
          .catch(() => undefined);
      },
      call: (tool, stepArgs, options) =>
        calls.call({kind: 'aggregate'}, tool, stepArgs, {...options, timeoutMs: composite.timeoutSeconds * 1000}),
    });
  });
  return server;
}

/**
 * A transport to a new composite server for a downstream session (see `createCompositeServer`): the client end of an
 * in-memory pair, whose other end the server is connected to.
 */
export function compositeTransport(
  host: CompositeHost,
  session: BuiltinCaller | undefined,
  composites: Record<string, Composite>,
): Transport {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  void createCompositeServer(host, session, composites).connect(serverSide);
  return clientSide;
}
