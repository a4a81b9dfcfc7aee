import {z} from 'zod';

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

const ToolFilterSchema = z
  .object({
    include: z
      .array(z.string().min(1))
      .optional()
      .describe('Glob patterns (picomatch) of the upstream tool names to keep; all tools when absent.'),
    exclude: z
      .array(z.string().min(1))
      .optional()
      .describe('Glob patterns of the upstream tool names to drop; applied after include.'),
  })
  .strict()
  .describe('Which of the upstream tools the router exposes, matched on the upstream (unprefixed) names.');

const TimeoutsSchema = z
  .object({
    connectSeconds: z
      .number()
      .positive()
      .default(10)
      .describe('Seconds to start the upstream and finish the MCP initialize handshake.'),
    callSeconds: z
      .number()
      .positive()
      .default(60)
      .describe('Seconds a call may go without a response or a progress notification; progress resets it.'),
    maxCallSeconds: z
      .number()
      .positive()
      .default(600)
      .describe('Seconds a call may take in all, whatever progress it reports.'),
  })
  .strict()
  .describe('Timeouts of this upstream.');

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
    shutdownGraceSeconds: z
      .number()
      .nonnegative()
      .default(10)
      .describe('On SIGTERM, seconds in-flight calls get to finish before upstreams are closed.'),
  })
  .strict()
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

export type RawRouterConfig = z.infer<typeof RouterConfigSchema>;
export type RouterOptions = z.infer<typeof RouterOptionsSchema>;
export type UpstreamTimeouts = z.infer<typeof TimeoutsSchema>;

/** The transports an upstream can be reached over. */
export type UpstreamTransport = 'stdio' | 'streamableHttp' | 'sse';

interface UpstreamCommon {
  /** The key of the server in the config; also its path segment in `/mcp/{name}` and `/sse/{name}`. */
  name: string;
  prefix: string;
  tools: {include: string[]; exclude: string[]};
  session: 'perSession' | 'shared';
  timeouts: UpstreamTimeouts;
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

/** One upstream, normalized from any of the accepted spellings. */
export type UpstreamConfig = StdioUpstreamConfig | RemoteUpstreamConfig;

/** The validated, normalized config the router runs on. */
export interface RouterConfig {
  upstreams: UpstreamConfig[];
  router: RouterOptions;
}
