import {z} from 'zod';
import {
  CircuitBreakerSchema as RouterCircuitBreakerSchema,
  PREFIX_PATTERN,
  RetriesSchema as RouterRetriesSchema,
  TimeoutsSchema as RouterTimeoutsSchema,
  ToolFilterSchema as RouterToolFilterSchema,
  ToolTimeoutsSchema,
} from '../../router/config/index.js';
import {EnvVarSchema, HeaderSchema, statusBaseShape, withCel, withoutDefaults} from './common.js';

/**
 * `McpUpstream` (mcprouter.dev/v1alpha1, short name `mcpu`): one upstream MCP server, reached over stdio (a command
 * run inside the router pod) or over HTTP (Streamable HTTP or the legacy HTTP+SSE transport). Routers select
 * upstreams by label or by name; the operator renders each selected upstream into the router's `router.json`.
 */

// The routers' default toolNameSeparator: in a prefix it would make `<prefix>__<tool>` ambiguous (a__b + c, a + b__c).
const DEFAULT_SEPARATOR = '__';
const PREFIX_SEPARATOR_MESSAGE = `must not contain ${DEFAULT_SEPARATOR}, the routers' default tool name separator`;

export const StdioSchema = z
  .object({
    command: z.string().min(1).max(4096).describe('Program to start inside the router container, looked up on PATH.'),
    args: z.array(z.string().max(32768)).max(256).optional().describe('Arguments of the command.'),
    env: z
      .array(EnvVarSchema)
      .max(128)
      .optional()
      .describe(
        'Environment of the process. Values from Secrets and ConfigMaps become env vars of the router container ' +
          'and reach the process through `${VAR}` references; they are never written into the router ConfigMap.',
      ),
    cwd: z.string().min(1).max(4096).optional().describe('Working folder of the process.'),
  })
  .describe('Run the upstream as a child process of the router, speaking MCP over stdin and stdout.');

export const ServiceRefSchema = z
  .object({
    name: z.string().min(1).max(63).describe('Name of the Service.'),
    namespace: z.string().min(1).max(63).optional().describe("Namespace of the Service; default: the McpUpstream's."),
    port: z.number().int().min(1).max(65535).describe('Port of the Service.'),
    path: z
      .string()
      .max(2048)
      .regex(/^\/.*$/, 'must start with /')
      .default('/mcp')
      .describe('Path of the MCP endpoint on the Service, e.g. /mcp or /sse.'),
  })
  .describe('A Service in the cluster, reached as http://<name>.<namespace>.svc:<port><path>.');

export const HttpSchema = withCel(
  z
    .object({
      url: z
        .string()
        .max(2048)
        .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http:// or https:// URL')
        .optional()
        .describe('URL of the MCP endpoint, http:// or https://.'),
      serviceRef: ServiceRefSchema.optional(),
      transport: z
        .enum(['streamableHttp', 'sse'])
        .default('streamableHttp')
        .describe('streamableHttp (MCP 2025-03-26 and later) or sse (the legacy HTTP+SSE transport).'),
      headers: z
        .array(HeaderSchema)
        .max(64)
        .optional()
        .describe(
          'Headers sent with every request. Values from Secrets become env vars of the router container and are ' +
            'referenced from router.json as ${VAR}.',
        ),
    })
    .describe('Reach the upstream over HTTP. Set exactly one of url or serviceRef.'),
  [{rule: 'has(self.url) != has(self.serviceRef)', message: 'set exactly one of url or serviceRef'}],
  (v) =>
    (v.url === undefined) === (v.serviceRef === undefined) ? [{message: 'set exactly one of url or serviceRef'}] : [],
);

export const ToolFilterSchema = withoutDefaults(RouterToolFilterSchema);

/** The router's timeouts; `tools`, a map by tool name in router.json, is a list keyed by name (API conventions). */
export const TimeoutsSchema = withoutDefaults(RouterTimeoutsSchema, ['tools'])
  .extend({
    tools: z
      .array(
        z
          .object({
            name: z.string().min(1).max(256).describe('Name of the tool, as the upstream names it (without prefix).'),
            ...withoutDefaults(ToolTimeoutsSchema).shape,
          })
          .describe('Timeouts of one tool, over those of the upstream.'),
      )
      .max(256)
      .optional()
      .meta({'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name']})
      .describe('Timeouts of single tools, over callSeconds and maxCallSeconds.'),
  })
  .describe('Timeouts of calls to this upstream.');

export const CircuitBreakerSchema = withoutDefaults(RouterCircuitBreakerSchema);

export const RetriesSchema = withoutDefaults(RouterRetriesSchema);

export const OutputSpecSchema = z
  .object({
    maxResultTokens: z
      .number()
      .int()
      .min(256)
      .max(10_000_000)
      .optional()
      .describe(
        'Tokens (o200k encoding) the text of a tools/call or tasks/result result may take (embedded text resources ' +
          'included), the note included; longer text is cut at a line or word boundary and kept as ' +
          'router://results/{id} for resources/read and the read_result tool.',
      ),
    maxResultBytes: z
      .number()
      .int()
      .min(1024)
      .max(1_073_741_824)
      .optional()
      .describe('Bytes (UTF-8) the text of a tools/call result may take, the note included; as maxResultTokens.'),
    maxMediaBytes: z
      .number()
      .int()
      .min(1)
      .max(1_073_741_824)
      .optional()
      .describe(
        'Bytes (base64) an image, audio or embedded blob resource of a result may take; a larger one becomes a note ' +
          'and a link.',
      ),
    minifyJson: z
      .boolean()
      .optional()
      .describe('Minify JSON text of results when that loses nothing (only whitespace goes). Router default: false.'),
  })
  .describe(
    'Caps on tools/call results sent to clients; structuredContent is never changed. Cut content is readable by ' +
      'the same session only, for a while.',
  );

export const McpUpstreamSpecSchema = withCel(
  z
    .object({
      stdio: StdioSchema.optional(),
      http: HttpSchema.optional(),
      prefix: z
        .string()
        .regex(PREFIX_PATTERN, 'must match ^[a-zA-Z0-9_-]{1,32}$')
        .optional()
        .describe(
          'First part of aggregated tool and prompt names (<prefix><separator><tool>), without `__` (the ' +
            'default separator). Default: metadata.name, which must then match ^[a-zA-Z0-9_-]{1,32}$.',
        ),
      tools: ToolFilterSchema.optional(),
      session: z
        .enum(['perSession', 'shared'])
        .optional()
        .describe(
          'perSession: one upstream session per downstream session (default for http); shared: one connection ' +
            'per router pod (default for stdio).',
        ),
      timeouts: TimeoutsSchema.optional(),
      circuitBreaker: CircuitBreakerSchema.optional(),
      retries: RetriesSchema.optional(),
      output: OutputSpecSchema.optional().describe(
        "Output caps of this upstream's tools/call results, over those of the router (McpRouter spec.output).",
      ),
    })
    .describe('How to reach the upstream MCP server and what of it to expose. Set exactly one of stdio or http.'),
  [
    {rule: 'has(self.stdio) != has(self.http)', message: 'set exactly one of stdio or http'},
    {
      rule: `!has(self.prefix) || !self.prefix.contains('${DEFAULT_SEPARATOR}')`,
      message: PREFIX_SEPARATOR_MESSAGE,
      fieldPath: '.prefix',
    },
  ],
  (v) => [
    ...((v.stdio === undefined) === (v.http === undefined) ? [{message: 'set exactly one of stdio or http'}] : []),
    ...(v.prefix?.includes(DEFAULT_SEPARATOR) ? [{message: PREFIX_SEPARATOR_MESSAGE, path: ['prefix']}] : []),
  ],
);

export const McpUpstreamStatusSchema = z
  .object({
    ...statusBaseShape('Accepted: the spec is valid and can be rendered into a router config.'),
    transport: z
      .enum(['stdio', 'streamableHttp', 'sse'])
      .optional()
      .describe('How routers reach the upstream: stdio, streamableHttp or sse.'),
    prefix: z.string().optional().describe('The prefix in effect: spec.prefix or metadata.name.'),
    routers: z
      .array(z.string())
      .optional()
      .describe('Names of the McpRouters in this namespace that select this upstream, sorted.'),
  })
  .describe('Observed state of the McpUpstream, written by the operator.');

export type McpUpstreamSpec = z.infer<typeof McpUpstreamSpecSchema>;
export type McpUpstreamStatus = z.infer<typeof McpUpstreamStatusSchema>;
