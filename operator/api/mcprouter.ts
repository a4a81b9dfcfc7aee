import {z} from 'zod';
import {CatalogSchema, GROUP_STRATEGIES, GroupPrefixSchema, PREFIX_PATTERN} from '../../router/config/schema.js';
import {ToolAnnotationsSchema} from '../../router/composites/schema.js';
import {AccessRuleSpecSchema, AuthSpecSchema, LimitsSpecSchema} from './auth.js';
import {LabelSelectorSchema, statusBaseShape, withCel, withoutDefaults} from './common.js';
import {OutputSpecSchema} from './mcpupstream.js';
import {NetworkPolicySpecSchema} from './networkpolicy.js';

/**
 * `McpRouter` (mcprouter.dev/v1alpha1, short name `mcpr`): one router, rendered by the operator into a ConfigMap
 * `<name>-config` holding `router.json`, a Deployment `<name>` and a Service `<name>`, all owned by the McpRouter.
 */

const IntOrStringSchema = z
  .union([z.number().int(), z.string().max(64)])
  .meta({'x-kubernetes-int-or-string': true})
  .describe('A quantity, e.g. 500m, 1, 256Mi.');

export const ResourceRequirementsSchema = z
  .object({
    limits: z
      .record(z.string(), IntOrStringSchema)
      .optional()
      .describe('Most of each resource the router container may use, e.g. {cpu: "1", memory: 512Mi}.'),
    requests: z
      .record(z.string(), IntOrStringSchema)
      .optional()
      .describe('Resources the scheduler reserves for the router container, e.g. {cpu: 100m, memory: 128Mi}.'),
  })
  .describe('Compute resources of the router container (core/v1 ResourceRequirements, without claims).');

export const TolerationSchema = z
  .object({
    key: z.string().max(317).optional().describe('Taint key the toleration applies to; empty matches all keys.'),
    operator: z.enum(['Exists', 'Equal']).optional().describe('Exists or Equal (default).'),
    value: z.string().max(63).optional().describe('Taint value the toleration matches, with operator Equal.'),
    effect: z
      .enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
      .optional()
      .describe('Taint effect to match; empty matches all effects.'),
    tolerationSeconds: z
      .number()
      .int()
      .optional()
      .describe('With effect NoExecute, seconds the pod stays bound after the taint appears.'),
  })
  .describe('A core/v1 Toleration.');

export const ServiceSpecSchema = z
  .object({
    type: z
      .enum(['ClusterIP', 'NodePort', 'LoadBalancer'])
      .default('ClusterIP')
      .describe('Type of the Service in front of the router pods.'),
    port: z.number().int().min(1).max(65535).default(80).describe('Port of the Service.'),
    annotations: z
      .record(z.string(), z.string())
      .optional()
      .describe('Annotations of the Service, e.g. for a cloud load balancer.'),
    sessionAffinity: z
      .enum(['None', 'ClientIP'])
      .default('None')
      .describe(
        "sessionAffinity of the Service. Sessions are correct without it: a router pod forwards a request of another pod's session to that pod.",
      ),
  })
  .describe('The Service in front of the router pods.');

export const TransportsSchema = withTransportsRule(
  z
    .object({
      sse: z.boolean().default(true).describe('Serve the legacy HTTP+SSE transport on /sse and /message.'),
      streamableHttp: z.boolean().default(true).describe('Serve Streamable HTTP on /mcp.'),
    })
    .describe('Downstream transports the router serves.'),
);

function withTransportsRule<T extends z.ZodObject>(schema: T): T {
  return schema.meta({
    'x-kubernetes-validations': [{rule: 'self.sse || self.streamableHttp', message: 'enable at least one transport'}],
  }) as T;
}

export const UpstreamRefSchema = z
  .object({
    name: z.string().min(1).max(253).describe('Name of an McpUpstream in the namespace of the router.'),
  })
  .describe('An McpUpstream named explicitly.');

const UpstreamGroupSpecSchema = z
  .object({
    name: z
      .string()
      .regex(PREFIX_PATTERN, 'must match ^[a-zA-Z0-9_-]{1,32}$')
      .describe('Name of the group; not the name of an upstream of the router. Also its default prefix.'),
    members: z
      .array(z.string().min(1).max(253))
      .min(1)
      .max(64)
      .describe(
        'McpUpstreams in the namespace of the router that serve the group, in priority order. The router uses them ' +
          'as if named in upstreams; in the aggregate they appear only through the group. One group per upstream.',
      ),
    strategy: z
      .enum(GROUP_STRATEGIES)
      .default('priority')
      .describe(
        'priority: the first available member, the next when it cannot be reached or its circuit is open. ' +
          'roundRobin: available members in turn. leastPending: the member with the fewest calls in flight. ' +
          'capability: members serve different tools; a tool goes to a member that lists it (the least busy of ' +
          'them). With every strategy, a tool goes only to members that list it, and the group lists the union.',
      ),
    prefix: GroupPrefixSchema.optional(),
    routes: z
      .array(
        z
          .object({
            tools: z
              .array(z.string().min(1).max(256))
              .min(1)
              .max(64)
              .describe('Globs of tool names, as the members name them.'),
            upstreams: z
              .array(z.string().min(1).max(253))
              .min(1)
              .max(64)
              .describe('Members that serve those tools, tried in this order.'),
          })
          .describe('Tools whose names match go to these members, ahead of the strategy.'),
      )
      .max(64)
      .optional()
      .describe('Explicit routes by tool name; the first that matches wins.'),
  })
  .describe('Several McpUpstreams that serve one prefix: replicas, or a primary and its fallbacks.');
/** Free-form JSON objects of a composite (a JSON Schema, a template): kept as they are by the API server. */
const JsonObjectSchema = z.record(z.string(), z.unknown()).meta({'x-kubernetes-preserve-unknown-fields': true});

export const CompositeStepSpecSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,64}$/)
      .describe('Name of the step, unique in the composite; later steps read its result as {{steps.<id>...}}.'),
    tool: z.string().min(1).max(64).describe('The tool it calls, by its aggregated name (e.g. "memory__read_graph").'),
    arguments: JsonObjectSchema.optional().describe(
      'Arguments of the tool, a template: strings may hold {{input.<path>}} and {{steps.<id>.<field>.<path>}} ' +
        '(field: structuredContent, content, text or isError).',
    ),
    after: z
      .array(z.string().min(1).max(64))
      .max(64)
      .optional()
      .describe('Steps this one waits for besides those it reads.'),
  })
  .describe('One call of an upstream tool.');

export const CompositeSpecSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,48}$/)
      .describe('Name of the composite tool: composite__<name> in the aggregate.'),
    title: z.string().min(1).max(256).optional().describe('Human-readable title.'),
    description: z.string().min(1).max(4096).describe('What the tool does, for the model.'),
    inputSchema: JsonObjectSchema.optional().describe('JSON Schema of its arguments (type object). Default: any.'),
    annotations: ToolAnnotationsSchema.optional(),
    steps: z
      .array(CompositeStepSpecSchema)
      .min(1)
      .max(64)
      .describe('The calls, each as soon as what it reads is done.'),
    output: JsonObjectSchema.optional().describe(
      "The result's structuredContent, a template like the arguments. Default: each step's result by step id.",
    ),
    timeoutSeconds: z.number().positive().optional().describe('Seconds the whole composite may take (600).'),
  })
  .describe(
    'A composite tool (a pipeline of upstream tool calls). The rendered router.json is validated with the ' +
      "router's own parser: a bad reference or a step of no upstream sets Ready false with the field's path.",
  );

const McpRouterSpecShapeSchema = z
  .object({
    upstreamSelector: LabelSelectorSchema.optional().describe(
      'Selects McpUpstreams in the namespace of the router by label. Absent: none; {}: all of them.',
    ),
    upstreams: z
      .array(UpstreamRefSchema)
      .max(256)
      .optional()
      .describe('McpUpstreams named explicitly, in addition to those the selector matches.')
      .meta({'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name']}),
    groups: z
      .array(UpstreamGroupSpecSchema)
      .max(64)
      .optional()
      .meta({'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name']})
      .describe('Upstream groups: several McpUpstreams behind one prefix, with a routing strategy.'),
    replicas: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(1)
      .describe(
        'Number of router pods. Above 1, a PodDisruptionBudget <name> (maxUnavailable 1) lets node drains evict ' +
          'one router pod at a time.',
      ),
    image: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe("Router container image; default: the operator's --router-image."),
    imagePullPolicy: z
      .enum(['Always', 'IfNotPresent', 'Never'])
      .optional()
      .describe('Image pull policy of the router container.'),
    imagePullSecrets: z
      .array(
        z
          .object({name: z.string().min(1).max(253).describe('Name of the Secret.')})
          .describe('A Secret of type kubernetes.io/dockerconfigjson in the namespace of the router.'),
      )
      .max(16)
      .optional()
      .describe('Secrets for pulling the router image.'),
    resources: ResourceRequirementsSchema.optional().describe(
      'Compute resources of the router container (core/v1 ResourceRequirements, without claims). ' +
        'Default: requests cpu 100m, memory 128Mi; limits memory 1Gi (Node sizes its heap to half of it), no CPU limit.',
    ),
    nodeSelector: z
      .record(z.string(), z.string())
      .optional()
      .describe('Node labels the router pods must be scheduled onto.'),
    tolerations: z.array(TolerationSchema).max(64).optional().describe('Tolerations of the router pods.'),
    affinity: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({'x-kubernetes-preserve-unknown-fields': true})
      .describe('A core/v1 Affinity for the router pods; validated by the API server when the Deployment is applied.'),
    podLabels: z
      .record(z.string(), z.string())
      .optional()
      .describe("Extra labels of the router pods. The operator's own labels win on a clash."),
    podAnnotations: z.record(z.string(), z.string()).optional().describe('Extra annotations of the router pods.'),
    serviceAccountName: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe(
        'ServiceAccount of the router pods; default: <name>, created and owned by the operator (a router named ' +
          "default runs as the namespace's default). No token is mounted, except a short-lived one to read the " +
          'JWKS when auth.serviceAccountTokens is set.',
      ),
    service: ServiceSpecSchema.default({type: 'ClusterIP', port: 80, sessionAffinity: 'None'}),
    networkPolicy: NetworkPolicySpecSchema.optional(),
    transports: TransportsSchema.default({sse: true, streamableHttp: true}),
    toolNameSeparator: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,4}$/, 'must be 1 to 4 of the characters a-zA-Z0-9_-')
      .default('__')
      .describe('Between the prefix and the upstream name in aggregated tool and prompt names.'),
    auth: AuthSpecSchema.optional(),
    access: z
      .array(AccessRuleSpecSchema)
      .max(256)
      .optional()
      .describe(
        'Access rules, with auth: which upstreams, tools, prompts and resources each principal may use. A principal ' +
          'that no rule matches may use nothing (deny by default).',
      ),
    limits: LimitsSpecSchema.optional(),
    management: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'Serve the built-in upstream "router": list_upstreams, get_upstream_health and call_upstream_tool as ' +
              'MCP tools (router__list_upstreams in the aggregate, and at /mcp/router), subject to the access rules, ' +
              'and GET /upstreams. register_upstream and remove_upstream do not exist on Kubernetes: the custom ' +
              'resources are the only source of upstreams.',
          ),
      })
      .optional()
      .describe('The management tools of the router; off by default.'),
    catalog: withoutDefaults(CatalogSchema).optional(),
    output: OutputSpecSchema.extend({
      keepSeconds: z
        .number()
        .positive()
        .max(86_400)
        .optional()
        .describe('Seconds cut content stays readable as router://results/{id}. Router default: 300.'),
      keepBytes: z
        .number()
        .int()
        .min(1024)
        .max(17_179_869_184)
        .optional()
        .describe(
          'Bytes of cut content a router pod keeps at most, for all sessions; the least recently used goes first. ' +
            'Router default: 64 MiB. Count it in the memory of the router container.',
        ),
    })
      .optional()
      .describe(
        "Output caps of tools/call results for every upstream (an McpUpstream's own spec.output fields win), and " +
          'how long cut content is kept. Default: no caps.',
      ),
    composites: z
      .array(CompositeSpecSchema)
      .max(256)
      .optional()
      .describe(
        "Composite tools: steps that call the upstreams' tools, with arguments from the input and earlier results.",
      )
      .meta({'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name']}),
    allowedHosts: z
      .array(z.string().min(1).max(512))
      .max(64)
      .optional()
      .describe(
        'Host header values accepted besides the Service names (<name>, <name>.<namespace>, ...svc, ' +
          '...svc.<cluster domain>, with and without the port) and localhost (port-forward), e.g. the host of an ' +
          'Ingress or a LoadBalancer. Other hosts get 403 (DNS-rebinding protection).',
      ),
    allowedOrigins: z
      .array(z.string().min(1).max(512))
      .max(64)
      .optional()
      .describe(
        'Origin header values accepted from browsers, e.g. https://inspector.example.com; a request with any ' +
          'other Origin gets 403.',
      ),
  })
  .describe('The desired router: which upstreams it aggregates, who may use what, and how its pods run.');

const ACCESS_NEEDS_AUTH = 'access rules need auth: without it every client is anonymous';

export const McpRouterSpecSchema = withCel(
  McpRouterSpecShapeSchema,
  [{rule: '!has(self.access) || has(self.auth)', message: ACCESS_NEEDS_AUTH, fieldPath: '.access'}],
  (v) => (v.access !== undefined && v.auth === undefined ? [{message: ACCESS_NEEDS_AUTH, path: ['access']}] : []),
);

export const RouterUpstreamStatusSchema = z
  .object({
    name: z.string().describe('Name of the McpUpstream.'),
    prefix: z.string().describe('Its prefix in aggregated names.'),
    state: z
      .string()
      .optional()
      .describe(
        "What the ready router pods' /readyz say of it: ready on every pod, else down, connecting or closed (the " +
          'first that applies on any pod); absent when no ready pod reports it.',
      ),
    tools: z.number().int().optional().describe('While ready: the tools the router exposes of it (after spec.tools).'),
  })
  .describe('An upstream in the rendered router config.');

export const McpRouterStatusSchema = z
  .object({
    ...statusBaseShape(
      'Ready: the router serves the declared upstreams on all replicas. Progressing: a change is rolling out. ' +
        'Degraded: something needs a person (a missing upstream, a failed apply, a stuck rollout).',
    ),
    replicas: z.number().int().optional().describe('Router pods that exist (Deployment status.replicas).'),
    readyReplicas: z
      .number()
      .int()
      .optional()
      .describe('Router pods that are ready (Deployment status.readyReplicas).'),
    url: z
      .string()
      .optional()
      .describe('In-cluster URL of the router Service: http://<name>.<namespace>.svc.<domain>:<port>.'),
    upstreams: z
      .array(RouterUpstreamStatusSchema)
      .optional()
      .describe('The upstreams in the rendered router.json, sorted by name.'),
    upstreamCount: z.number().int().optional().describe('Number of upstreams in the rendered router.json.'),
    upstreamsReady: z
      .string()
      .optional()
      .describe('Upstreams ready on every ready router pod, of upstreamCount, as <ready>/<count>, e.g. 3/4.'),
    configHash: z.string().optional().describe('sha256 of the rendered router.json, as sha256:<first 16 hex digits>.'),
  })
  .describe('Observed state of the McpRouter, written by the operator.');

export type McpRouterSpec = z.infer<typeof McpRouterSpecSchema>;
export type McpRouterStatus = z.infer<typeof McpRouterStatusSchema>;
export type RouterUpstreamStatus = z.infer<typeof RouterUpstreamStatusSchema>;
