import {z} from 'zod';
import {AccessRuleSpecSchema, AuthSpecSchema, LimitsSpecSchema} from './auth.js';
import {LabelSelectorSchema, statusBaseShape, withCel} from './common.js';
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
  })
  .describe('The Service in front of the router pods. It uses sessionAffinity ClientIP.');

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
        'Default: requests cpu 100m, memory 128Mi; no limits.',
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
    service: ServiceSpecSchema.default({type: 'ClusterIP', port: 80}),
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
    catalog: z
      .object({
        mode: z
          .enum(['full', 'search', 'dynamic'])
          .default('full')
          .describe(
            'full: the aggregate lists every tool. search: it lists only search_tools, call_tool and the pinned ' +
              'tools, and search_tools finds the others (fewer tokens in a model context). dynamic: as search, and ' +
              "found tools join that session's list.",
          ),
        pinned: z
          .array(z.string().min(1).max(256))
          .max(256)
          .optional()
          .describe(
            'search and dynamic modes: globs of aggregated tool names listed anyway (e.g. "memory__read_graph").',
          ),
        dynamicTools: z
          .number()
          .int()
          .min(1)
          .max(500)
          .optional()
          .describe(
            'dynamic mode: found tools a session lists at most (least recently used leave first). Router default: 20.',
          ),
      })
      .optional()
      .describe('What the aggregate lists of its tools; default: every tool.'),
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
