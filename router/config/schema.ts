import {z} from 'zod';
import {CompositesSchema, type Composite} from '../composites/schema.js';

/**
 * The schema of `router.json`, the one config format of the router for local use and for pods.
 *
 * It accepts the `mcpServers` object of Claude Desktop, Claude Code (`.mcp.json`) and Cursor, and the `servers`
 * object of VS Code (`.vscode/mcp.json`). Router options per server (`prefix`, `tools`, `session`, `timeouts`) sit
 * beside the standard fields. `${VAR}` and `${VAR:-default}` in string values are replaced from the environment before
 * validation (see `load.ts`).
 */

/** Pattern of an upstream prefix: it becomes the first part of every aggregated tool and prompt name. */
export const PREFIX_PATTERN = /^[a-zA-Z0-9_-]{1,32}$/;

export const ToolFilterSchema = z
  .object({
    include: z
      .array(z.string().min(1).max(256))
      .max(256)
      .optional()
      .describe('Glob patterns (picomatch) of the upstream tool names to keep; all tools when absent.'),
    exclude: z
      .array(z.string().min(1).max(256))
      .max(256)
      .optional()
      .describe('Glob patterns of the upstream tool names to drop; applied after include.'),
  })
  .strict()
  .describe('Which of the upstream tools the router exposes, matched on the upstream (unprefixed) names.');

export const ToolTimeoutsSchema = z
  .object({
    callSeconds: z
      .number()
      .positive()
      .max(86400)
      .optional()
      .describe("Seconds a call of this tool may go without a response or progress; default: the upstream's."),
    maxCallSeconds: z
      .number()
      .positive()
      .max(86400)
      .optional()
      .describe("Seconds a call of this tool may take in all; default: the upstream's."),
  })
  .strict()
  .describe('Timeouts of one tool, over those of its upstream.');

export const TimeoutsSchema = z
  .object({
    connectSeconds: z
      .number()
      .positive()
      .max(3600)
      .default(10)
      .describe('Seconds to start the upstream and finish the MCP initialize handshake.'),
    callSeconds: z
      .number()
      .positive()
      .max(86400)
      .default(60)
      .describe('Seconds a call may go without a response or a progress notification; progress resets it.'),
    maxCallSeconds: z
      .number()
      .positive()
      .max(86400)
      .default(600)
      .describe('Seconds a call may take in all, whatever progress it reports.'),
    tools: z
      .record(z.string().min(1), ToolTimeoutsSchema)
      .default({})
      .describe('Timeouts of single tools, by their upstream (unprefixed) name, over callSeconds and maxCallSeconds.'),
  })
  .strict()
  .describe('Timeouts of this upstream.');

export const RetriesSchema = z
  .object({
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .describe('Attempts of a call in all, the first included; 1 turns retries off.'),
    backoffSeconds: z
      .number()
      .positive()
      .max(60)
      .default(0.2)
      .describe('Seconds before the first retry; each further one waits about twice as long (with jitter).'),
    maxBackoffSeconds: z.number().positive().max(600).default(5).describe('Seconds a retry waits at most.'),
    toolCalls: z
      .boolean()
      .default(false)
      .describe(
        'Also retry tools/call for tools the upstream annotates readOnlyHint or idempotentHint true. Annotations are ' +
          "the upstream's own claims (MCP 2025-11-25 server/tools): turn this on only for upstreams you trust.",
      ),
  })
  .strict()
  .describe(
    'Retries with exponential backoff of calls that could not reach the upstream or timed out, only where a second ' +
      'attempt is safe: lists, reads, prompts/get, ping, completion, tasks/get and tasks/list; tools/call only with ' +
      'toolCalls. Never after the upstream reported progress or sent a request for the call.',
  );

export const CircuitBreakerSchema = z
  .object({
    consecutiveFailures: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe('Calls in a row that fail (upstream unavailable, or timed out) before the circuit opens.'),
    halfOpenAfterSeconds: z
      .number()
      .positive()
      .max(86400)
      .default(30)
      .describe('Seconds an open circuit fails calls at once before one trial call may go through (half-open).'),
  })
  .strict()
  .describe(
    'The circuit breaker of this upstream: while open, calls fail at once with an error naming the upstream and ' +
      'when it is tried again. Errors the upstream answers with do not count: only failures to reach it.',
  );

/** Output caps of a result (`output` of a server entry, and of `router`), MCP 2025-11-25 server/tools results. */
export const OutputLimitsSchema = z
  .object({
    maxResultTokens: z
      .number()
      .int()
      .min(256)
      .optional()
      .describe(
        'Tokens (o200k, the encoding of current OpenAI models) the text content of a tools/call or tasks/result ' +
          "result may take (text items and embedded text resources), the router's note included; longer text is cut " +
          'at a line or word boundary and kept for resources/read and the read_result tool.',
      ),
    maxResultBytes: z
      .number()
      .int()
      .min(1024)
      .optional()
      .describe(
        'Bytes (UTF-8) the text content of a tools/call result may take, the note included; as maxResultTokens.',
      ),
    maxMediaBytes: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'Bytes (base64, as sent) an image, audio or embedded blob resource item of a tools/call result may take; a ' +
          'larger one becomes a short note and a resource_link to it.',
      ),
    minifyJson: z
      .boolean()
      .optional()
      .describe(
        'Minify text content that is JSON, when that loses nothing (same tokens, only the whitespace between them ' +
          'goes). Default: false.',
      ),
  })
  .strict()
  .describe(
    'Caps on what tools/call results send to the client. structuredContent is never changed. Cut content is kept ' +
      'for a while as router://results/{id}, readable by the same session only.',
  );

export type OutputLimits = z.infer<typeof OutputLimitsSchema>;

/** `router.output`: the caps of every upstream (each upstream's own `output` fields win) and how cut content is kept. */
export const RouterOutputSchema = OutputLimitsSchema.extend({
  keepSeconds: z
    .number()
    .positive()
    .max(86_400)
    .default(300)
    .describe('Seconds cut content stays readable as router://results/{id}.'),
  keepBytes: z
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024)
    .describe('Bytes of cut content the router keeps at most, for all sessions; the least recently used goes first.'),
}).describe(
  "Output caps of tools/call results for every upstream (an upstream's own output fields win), and how long cut " +
    'content is kept.',
);

export type RouterOutputOptions = z.infer<typeof RouterOutputSchema>;

/** Router options that every server entry may carry beside its standard fields. */
const RouterOptionsShape = {
  prefix: z
    .string()
    .regex(PREFIX_PATTERN, 'must match ^[a-zA-Z0-9_-]{1,32}$')
    .optional()
    .describe(
      'First part of aggregated tool and prompt names; default: the server key, cut to the allowed characters.',
    ),
  tools: ToolFilterSchema.optional(),
  session: z
    .enum(['perSession', 'shared'])
    .optional()
    .describe(
      'perSession: one upstream session per downstream session (default for http and sse); ' +
        'shared: one connection for the whole router (default for stdio).',
    ),
  timeouts: TimeoutsSchema.optional(),
  circuitBreaker: CircuitBreakerSchema.optional(),
  retries: RetriesSchema.optional(),
  output: OutputLimitsSchema.optional(),
  disabled: z.boolean().optional().describe('When true the server is kept in the file but not started.'),
};

const StdioServerSchema = z
  .object({
    type: z.literal('stdio').optional().describe('Optional; a server with a command is a stdio server.'),
    command: z.string().min(1).describe('Program to start, looked up on PATH.'),
    args: z.array(z.string()).default([]).describe('Arguments of the command.'),
    env: z
      .record(z.string(), z.string())
      .default({})
      .describe('Environment of the process, merged over the default variables (HOME, PATH, ...).'),
    cwd: z.string().min(1).optional().describe('Working folder of the process.'),
    envFile: z.string().optional().describe('Accepted for compatibility with VS Code configs; not read.'),
    ...RouterOptionsShape,
  })
  .strict();

const RemoteServerSchema = z
  .object({
    type: z
      .enum(['http', 'streamable-http', 'streamableHttp', 'sse'])
      .optional()
      .describe(
        'Transport: http, streamable-http or streamableHttp for Streamable HTTP, sse for the legacy HTTP+SSE ' +
          'transport. Default: sse when the URL path ends in /sse, else Streamable HTTP.',
      ),
    url: z
      .url({protocol: /^https?$/})
      .optional()
      .describe('URL of the MCP endpoint.'),
    serverUrl: z
      .url({protocol: /^https?$/})
      .optional()
      .describe('Windsurf spelling of url.'),
    headers: z.record(z.string(), z.string()).default({}).describe('HTTP headers sent with every request.'),
    ...RouterOptionsShape,
  })
  .strict()
  .refine((s) => (s.url ?? s.serverUrl) !== undefined, {
    message: 'a server needs either a command (stdio) or a url (http, sse)',
    path: ['url'],
  });

const ServerSchema = z.union([StdioServerSchema, RemoteServerSchema], {
  error: () => 'a server needs either a command (stdio) or a url (http, sse)',
});

/** True for an https URL, or any URL on a loopback address (RFC 8252 section 8.3: loopback needs no TLS). */
export function isHttpsOrLoopback(url: string): boolean {
  const {protocol, hostname} = new URL(url);
  return protocol === 'https:' || /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/.test(hostname);
}

const JwtIssuerSchema = z
  .object({
    issuer: z
      .url({protocol: /^https?$/})
      .describe('Expected `iss` claim; also where OIDC discovery (`/.well-known/openid-configuration`) is read.'),
    audiences: z
      .array(z.string().min(1))
      .min(1)
      .describe('Accepted `aud` values; a token must carry at least one of them (RFC 8707 resource indicators).'),
    jwksUri: z
      .url({protocol: /^https?$/})
      .optional()
      .describe('URL of the JWKS; default: `jwks_uri` from discovery. Must be https, except on a loopback address.'),
    caFile: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of CAs trusted for discovery and the JWKS, besides the system ones.'),
    tokenFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'File holding a bearer token sent when fetching discovery and the JWKS, read on every fetch (a projected ' +
          'ServiceAccount token: the Kubernetes API serves its JWKS only to authenticated ServiceAccounts).',
      ),
    principalClaim: z.string().min(1).default('sub').describe('Claim whose value names the principal.'),
    clockSkewSeconds: z
      .number()
      .nonnegative()
      .max(300)
      .default(30)
      .describe('Seconds of clock difference tolerated on exp, nbf and iat.'),
  })
  .strict()
  .superRefine((issuer, context) => {
    const field = issuer.jwksUri === undefined ? 'issuer' : 'jwksUri';
    if (!isHttpsOrLoopback(issuer[field] as string)) {
      context.addIssue({code: 'custom', message: 'must be https, except on a loopback address', path: [field]});
    }
  })
  .describe('An OIDC issuer whose JWTs are accepted, verified offline against its JWKS (RFC 7519, RFC 7517).');

const BearerTokenSchema = z
  .object({
    principal: z.string().min(1).describe('Name of the principal this token authenticates.'),
    token: z
      .string()
      .min(16, 'must be at least 16 characters')
      .describe('The token; write it as ${VAR} so that it comes from the environment (in a cluster, a Secret).'),
  })
  .strict()
  .describe('A static bearer token, compared in constant time.');

export const AuthSchema = z
  .object({
    jwt: z.array(JwtIssuerSchema).default([]).describe('OIDC issuers (Kubernetes ServiceAccount tokens among them).'),
    bearerTokens: z.array(BearerTokenSchema).default([]).describe('Static bearer tokens, for scripts and local use.'),
    resource: z
      .url({protocol: /^https?$/})
      .optional()
      .describe(
        'Canonical URL of this router as an OAuth resource (RFC 9728 `resource`); default: the URL of the request.',
      ),
    authorizationServers: z
      .array(z.url({protocol: /^https?$/}))
      .optional()
      .describe('Authorization servers named in the protected-resource metadata; default: the JWT issuers.'),
  })
  .strict()
  .describe(
    'Inbound authentication (MCP 2025-11-25 basic/authorization: the router is an OAuth 2.1 resource server). When ' +
      'set, every MCP request needs `Authorization: Bearer`, and access rules decide what each principal may use.',
  );

const NameFilterSchema = z
  .object({
    include: z.array(z.string().min(1)).optional().describe('Globs (picomatch) of names to allow; all when absent.'),
    exclude: z.array(z.string().min(1)).optional().describe('Globs of names to withhold; applied after include.'),
  })
  .strict();

const AnnotationFilterSchema = z
  .object({
    readOnlyHint: z.boolean().optional(),
    destructiveHint: z.boolean().optional(),
    idempotentHint: z.boolean().optional(),
    openWorldHint: z.boolean().optional(),
  })
  .strict()
  .describe(
    'Tool annotations a tool must carry with these values (MCP 2025-11-25 server/tools); a hint the tool does not ' +
      'declare takes its spec default (readOnlyHint false, destructiveHint true, idempotentHint false, ' +
      'openWorldHint true).',
  );

export const AccessRuleSchema = z
  .object({
    principals: z
      .array(z.string().min(1))
      .optional()
      .describe('Globs of principal names, e.g. ci-bot or system:serviceaccount:agents:*.'),
    namespaces: z
      .array(z.string().min(1))
      .optional()
      .describe('Namespaces whose ServiceAccounts match (principals system:serviceaccount:<namespace>:<name>).'),
    claims: z
      .record(z.string().min(1), z.array(z.string()).min(1))
      .optional()
      .describe('JWT claims and accepted values, e.g. {groups: [platform]}; an array claim matches on any element.'),
    upstreams: z
      .array(z.string().min(1))
      .default(['*'])
      .describe('Globs of upstream names (config keys) the rule grants.'),
    tools: NameFilterSchema.extend({annotations: AnnotationFilterSchema.optional()})
      .optional()
      .describe('Tools granted, by original (upstream) name; all tools of the upstreams when absent.'),
    prompts: NameFilterSchema.optional().describe('Prompts granted, by original name; all when absent.'),
    resources: NameFilterSchema.optional().describe(
      'Resources and resource templates granted, by URI or URI template (globs, e.g. file:///data/**); all when absent.',
    ),
  })
  .strict()
  .refine((r) => r.principals !== undefined || r.namespaces !== undefined || r.claims !== undefined, {
    message: 'a rule needs principals, namespaces or claims to say whom it is for',
  })
  .describe(
    'An access rule: the principals it is for (every given selector must match) and what they may use. A principal ' +
      'may use what any of its rules grants.',
  );

export const LimitsSchema = z
  .object({
    maxSessions: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('Open downstream sessions the router holds at most; a new one beyond it gets 503 with Retry-After.'),
    maxSessionsPerPrincipal: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('Open sessions one principal holds at most (without auth, all clients are one principal).'),
    maxJsonDepth: z
      .number()
      .int()
      .min(8)
      .max(1000)
      .default(64)
      .describe('Deepest nesting of arrays and objects accepted in a request body; deeper gets -32600.'),
    maxUpstreamMessageBytes: z
      .number()
      .int()
      .min(1024)
      .default(64 * 1024 * 1024)
      .describe(
        'Largest message read from an upstream (stdio, Streamable HTTP or legacy HTTP+SSE), in bytes; a larger one ' +
          'fails only its own call, naming the limit.',
      ),
    replayEvents: z
      .number()
      .int()
      .nonnegative()
      .default(128)
      .describe(
        'Events a Streamable HTTP session keeps for clients that resume a dropped stream with Last-Event-ID; 0 turns ' +
          'resumption off. The oldest go first.',
      ),
    replayBytes: z
      .number()
      .int()
      .nonnegative()
      .default(256 * 1024)
      .describe('Bytes of JSON those events may take per session; a larger event is not kept for replay.'),
    headersTimeoutSeconds: z
      .number()
      .positive()
      .default(10)
      .describe('Seconds a client has to send the request headers.'),
    requestTimeoutSeconds: z
      .number()
      .positive()
      .default(30)
      .describe('Seconds a client has to send a whole request (headers and body); streams it then reads are not cut.'),
  })
  .strict()
  .describe('Bounds that protect the router from clients that use too much.');

/** Name, path segment and prefix of the built-in management upstream. */
export const MANAGEMENT_UPSTREAM = 'router';

export const ManagementSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        `Serve the built-in upstream "${MANAGEMENT_UPSTREAM}": list_upstreams, get_upstream_health and ` +
          'call_upstream_tool as MCP tools (subject to the access rules), and GET /upstreams.',
      ),
    register: z
      .boolean()
      .default(false)
      .describe(
        'Add register_upstream and remove_upstream (local mode only): they change an overlay file beside the config ' +
          '(<config>.overlay.json) and apply it as a hot reload. Without auth they work only on a router that ' +
          'listens on loopback or stdio.',
      ),
    admins: z
      .array(z.string().min(1))
      .default([])
      .describe('With auth: globs of the principal names that may register and remove upstreams.'),
  })
  .strict()
  .describe('The management tools of the router itself; off by default.');

/** How the aggregate lists its tools (`router.catalog`). */
export const CatalogSchema = z
  .object({
    mode: z
      .enum(['full', 'search', 'dynamic'])
      .default('full')
      .describe(
        'full: the aggregate lists every tool. search: it lists only search_tools, call_tool and the pinned tools; ' +
          'search_tools finds the others by words of their names, descriptions and parameters. dynamic: as search, ' +
          "and the tools a search finds join that session's list (list_changed), so that the model calls them by " +
          'name. Per-upstream paths always list every tool.',
      ),
    pinned: z
      .array(z.string().min(1).max(256))
      .max(256)
      .default([])
      .describe('search and dynamic modes: globs of aggregated tool names listed anyway (e.g. "memory__read_graph").'),
    dynamicTools: z
      .number()
      .int()
      .min(1)
      .max(500)
      .default(20)
      .describe(
        'dynamic mode: tools found by searches that a session lists at most; beyond it, the least recently found ' +
          'or called leave its list.',
      ),
    embeddingModel: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe(
        'search and dynamic modes: folder of a sentence-embedding model (model.onnx and tokenizer.json, as ' +
          'scripts/fetch-embedding-model.ts writes them), relative to the working directory. search_tools then ' +
          'ranks tools by meaning as well as by words (reciprocal rank fusion with BM25). When it is missing or ' +
          'broken, the router logs a warning naming it and ranks by words only.',
      ),
  })
  .strict()
  .describe('What the aggregate lists of its tools: all of them, or a search (fewer tokens in a model context).');

export type CatalogOptions = z.infer<typeof CatalogSchema>;

/** How a group picks the member for a request (`router.groups.<name>.strategy`). */
export const GROUP_STRATEGIES = ['priority', 'roundRobin', 'leastPending', 'capability'] as const;

/** The `prefix` of a group, in router.json and in `McpRouter.spec.groups`. */
export const GroupPrefixSchema = z
  .string()
  .regex(PREFIX_PATTERN, 'must match ^[a-zA-Z0-9_-]{1,32}$')
  .describe('First part of the aggregated names of the group; default: the group name.');

const GroupRouteSchema = z
  .object({
    tools: z
      .array(z.string().min(1))
      .min(1)
      .describe('Globs (picomatch) of tool names, as the members name them (without the prefix).'),
    upstreams: z
      .array(z.string().min(1))
      .min(1)
      .describe('Members that serve those tools, tried in this order; the strategy does not apply to them.'),
  })
  .strict()
  .describe('An explicit route: tools whose names match go to these members, ahead of the strategy.');

export const UpstreamGroupSchema = z
  .object({
    members: z
      .array(z.string().min(1))
      .min(1)
      .describe(
        'Names of the servers (keys of mcpServers) that serve the group, in priority order. A server belongs to one ' +
          'group at most; in the aggregate it appears only through its group.',
      ),
    strategy: z
      .enum(GROUP_STRATEGIES)
      .default('priority')
      .describe(
        'priority: the first available member, the next one when it cannot be reached or its circuit is open ' +
          '(a primary and its fallback). roundRobin: available members in turn (equal replicas). leastPending: ' +
          'the available member with the fewest calls in flight. capability: members serve different tools; a ' +
          'name several members expose goes to the one of them with the fewest calls in flight. With every ' +
          'strategy a tool or prompt goes only to members that list it, and the group lists the union.',
      ),
    prefix: GroupPrefixSchema.optional(),
    routes: z
      .array(GroupRouteSchema)
      .default([])
      .describe('Explicit routes by tool name, ahead of the strategy; the first that matches wins.'),
  })
  .strict()
  .describe(
    'Several servers behind one prefix. Sessions stay with the member they first used for perSession members ' +
      '(their upstream session holds state) and for subscriptions, and move to another member when it is lost.',
  );

export type UpstreamGroupOptions = z.infer<typeof UpstreamGroupSchema>;

export const RouterOptionsSchema = z
  .object({
    toolNameSeparator: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,4}$/, 'must be 1 to 4 of the characters a-zA-Z0-9_-')
      .default('__')
      .describe('Between the prefix and the upstream name in aggregated tool and prompt names.'),
    allowedHosts: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'Host header values (with or without port) accepted on MCP endpoints; default: any host, except when ' +
          'bound to loopback, where only localhost, 127.0.0.1 and [::1] are accepted (DNS-rebinding protection).',
      ),
    allowedOrigins: z
      .array(z.string().min(1))
      .default([])
      .describe('Origin header values accepted besides the same origin; any other Origin gets 403.'),
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024)
      .describe('Largest accepted request body, in bytes; larger ones get 413.'),
    transports: z
      .object({
        sse: z.boolean().default(true).describe('Serve the legacy HTTP+SSE transport on /sse and /message.'),
        streamableHttp: z.boolean().default(true).describe('Serve Streamable HTTP on /mcp.'),
      })
      .strict()
      .default({sse: true, streamableHttp: true})
      .describe('Downstream transports the router serves over HTTP.'),
    sessionIdleSeconds: z
      .number()
      .positive()
      .default(1800)
      .describe(
        'Seconds a Streamable HTTP session may go without any request, and with no stream open, before the router ' +
          'closes it (its client then gets 404 and initializes again).',
      ),
    healthCheckSeconds: z
      .number()
      .positive()
      .default(10)
      .describe('Seconds between pings of each connected upstream; a failed ping marks it down and reconnects.'),
    auth: AuthSchema.optional(),
    access: z
      .array(AccessRuleSchema)
      .optional()
      .describe('Access rules, used with auth: a principal that no rule matches may use nothing (deny by default).'),
    audit: z
      .object({
        digest: z
          .boolean()
          .default(false)
          .describe('Add a SHA-256 digest of the arguments of each request to its audit line (never the arguments).'),
      })
      .strict()
      .default({digest: false})
      .describe('The audit log: one line per routed request, logger component "audit".'),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    management: ManagementSchema.default(ManagementSchema.parse({})),
    catalog: CatalogSchema.default(CatalogSchema.parse({})),
    groups: z
      .record(z.string().regex(PREFIX_PATTERN, 'must match ^[a-zA-Z0-9_-]{1,32}$'), UpstreamGroupSchema)
      .default({})
      .describe(
        'Upstream groups by name: several servers that serve one prefix (replicas, or a primary and fallbacks).',
      ),
    output: RouterOutputSchema.default(RouterOutputSchema.parse({})),
    composites: CompositesSchema,
    shutdownGraceSeconds: z
      .number()
      .nonnegative()
      .default(10)
      .describe('On SIGTERM, seconds in-flight calls get to finish before upstreams are closed.'),
  })
  .strict()
  .refine((o) => o.access === undefined || o.auth !== undefined, {
    message: 'access rules need auth: without it every client is anonymous',
    path: ['access'],
  })
  .describe('Options of the router itself.');

export const RouterConfigSchema = z
  .object({
    $schema: z.string().optional(),
    mcpServers: z
      .record(z.string().min(1), ServerSchema)
      .optional()
      .describe('Upstream MCP servers by name (Claude Desktop, Claude Code, Cursor).'),
    servers: z.record(z.string().min(1), ServerSchema).optional().describe('Upstream MCP servers by name (VS Code).'),
    inputs: z.array(z.unknown()).optional().describe('Accepted for compatibility with VS Code configs; not read.'),
    router: RouterOptionsSchema.default(RouterOptionsSchema.parse({})),
  })
  .strict()
  .refine((c) => c.mcpServers !== undefined || c.servers !== undefined, {
    message: 'the config needs an mcpServers (or servers) object',
    path: ['mcpServers'],
  });

export type RouterOptions = z.infer<typeof RouterOptionsSchema>;
export type AuthConfig = z.infer<typeof AuthSchema>;
export type AccessRule = z.infer<typeof AccessRuleSchema>;
export type JwtIssuerConfig = AuthConfig['jwt'][number];
export type UpstreamTimeouts = z.infer<typeof TimeoutsSchema>;
export type CircuitBreakerOptions = z.infer<typeof CircuitBreakerSchema>;
export type RetryOptions = z.infer<typeof RetriesSchema>;
export type ManagementOptions = z.infer<typeof ManagementSchema>;

interface UpstreamCommon {
  /** The key of the server in the config; also its path segment in `/mcp/{name}` and `/sse/{name}`. */
  name: string;
  prefix: string;
  tools: {include: string[]; exclude: string[]};
  session: 'perSession' | 'shared';
  timeouts: UpstreamTimeouts;
  circuitBreaker: CircuitBreakerOptions;
  retries: RetryOptions;
  /** This upstream's own output caps, over `router.output`. */
  output?: OutputLimits;
}

export interface StdioUpstreamConfig extends UpstreamCommon {
  transport: 'stdio';
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export interface RemoteUpstreamConfig extends UpstreamCommon {
  transport: 'streamableHttp' | 'sse';
  url: string;
  headers: Record<string, string>;
}

/**
 * A built-in upstream, served by the router itself over an in-memory transport: the management upstream
 * (`router.management`) or the composite tools (`router.composites`).
 */
export interface BuiltinUpstreamConfig extends UpstreamCommon {
  transport: 'builtin';
  /** The management upstream: whether it serves register_upstream and remove_upstream. */
  register?: boolean;
  /** The composite upstream: the composites it serves, by name. */
  composites?: Record<string, Composite>;
}

/** One upstream, normalized from any of the accepted spellings. */
export type UpstreamConfig = StdioUpstreamConfig | RemoteUpstreamConfig | BuiltinUpstreamConfig;

/** One upstream group, normalized: its enabled members in priority order (see `UpstreamGroupSchema`). */
export interface UpstreamGroupConfig {
  /** The key of the group in `router.groups`; never the name of a server. */
  name: string;
  prefix: string;
  strategy: UpstreamGroupOptions['strategy'];
  members: string[];
  routes: UpstreamGroupOptions['routes'];
}

/** The validated, normalized config the router runs on. */
export interface RouterConfig {
  upstreams: UpstreamConfig[];
  groups: UpstreamGroupConfig[];
  router: RouterOptions;
}
