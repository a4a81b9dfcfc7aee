import {stringify} from 'yaml';
import {z} from 'zod';
import type {CelRule} from './common.js';
import {McpRouterSpecSchema, McpRouterStatusSchema} from './mcprouter.js';
import {McpUpstreamSpecSchema, McpUpstreamStatusSchema} from './mcpupstream.js';
import {GROUP, MCP_ROUTER, MCP_UPSTREAM, SERVED_VERSION, type KindNames} from './types.js';

/**
 * Generates the CustomResourceDefinitions from the zod schemas, so the schema the API server enforces and the one the
 * operator parses with are the same. The JSON Schema that zod emits is turned into a structural OpenAPI v3 schema
 * (apiextensions.k8s.io/v1, "Specifying a structural schema"): every node typed, no `additionalProperties: false`,
 * int-or-string and preserve-unknown-fields as Kubernetes extensions, CEL rules in `x-kubernetes-validations`.
 */

type JsonSchema = Record<string, unknown>;

/** A CRD's OpenAPI schema node. */
export type OpenApiSchema = Record<string, unknown>;

const COPIED = [
  'description',
  'type',
  'default',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
] as const;

// zod's .int() emits the bounds of a safe integer; they say nothing to a reader of the CRD.
const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * Turns one JSON Schema (draft 2020-12, as `z.toJSONSchema` emits it) into a structural OpenAPI v3 schema.
 * @param path where the node is, for errors
 * @throws Error naming the path for a construct a structural schema cannot express (a union other than int-or-string)
 */
export function toStructural(node: JsonSchema, path = '$'): OpenApiSchema {
  const description = node.description as string | undefined;
  if (node['x-kubernetes-int-or-string'] === true) {
    return {...(description && {description}), 'x-kubernetes-int-or-string': true};
  }
  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    return {...(description && {description}), type: 'object', 'x-kubernetes-preserve-unknown-fields': true};
  }
  for (const unsupported of ['anyOf', 'oneOf', 'allOf', '$ref', 'not']) {
    if (unsupported in node) throw new Error(`${path}: ${unsupported} cannot be expressed in a structural schema`);
  }
  if (Array.isArray(node.type)) throw new Error(`${path}: a node needs exactly one type`);
  const out: OpenApiSchema = {};
  for (const key of COPIED) {
    if (node[key] === undefined) continue;
    if ((key === 'minimum' || key === 'maximum') && SAFE_INTEGER_BOUNDS.has(node[key] as number)) continue;
    out[key] = node[key];
  }
  if (node.const !== undefined) out.enum = [node.const];
  if (typeof node.exclusiveMinimum === 'number') {
    out.minimum = node.exclusiveMinimum;
    out.exclusiveMinimum = true;
  }
  if (typeof node.exclusiveMaximum === 'number') {
    out.maximum = node.exclusiveMaximum;
    out.exclusiveMaximum = true;
  }
  if (out.type === undefined) throw new Error(`${path}: a node needs a type`);
  if (node.properties !== undefined) {
    const properties: Record<string, OpenApiSchema> = {};
    for (const [name, child] of Object.entries(node.properties as Record<string, JsonSchema>)) {
      properties[name] = toStructural(child, `${path}.${name}`);
    }
    out.properties = properties;
    if (Array.isArray(node.required) && node.required.length > 0) out.required = node.required;
  }
  if (typeof node.additionalProperties === 'object' && node.additionalProperties !== null) {
    out.additionalProperties = toStructural(node.additionalProperties as JsonSchema, `${path}.*`);
  }
  if (node.items !== undefined) out.items = toStructural(node.items as JsonSchema, `${path}[]`);
  return out;
}

/** The JSON Schema of a zod schema, as the API server sees input (defaults applied by the server, not required). */
export function openApiOf(schema: z.ZodType, path: string): OpenApiSchema {
  return toStructural(z.toJSONSchema(schema, {io: 'input', target: 'draft-2020-12'}) as JsonSchema, path);
}

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

interface KindDefinition {
  names: KindNames;
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  rules: CelRule[];
  columns: PrinterColumn[];
}

const ROUTER_NAME_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

export const DEFINITIONS: KindDefinition[] = [
  {
    names: MCP_UPSTREAM,
    description:
      'McpUpstream is one upstream MCP server, reached over stdio (a command run in the router pod) or HTTP. ' +
      'McpRouters in the same namespace select it by label or name.',
    spec: McpUpstreamSpecSchema,
    status: McpUpstreamStatusSchema,
    rules: [
      {
        rule: "has(self.spec.prefix) || self.metadata.name.matches('^[a-zA-Z0-9_-]{1,32}$')",
        message:
          'metadata.name is the default prefix and must then match ^[a-zA-Z0-9_-]{1,32}$; set spec.prefix otherwise',
        fieldPath: '.spec.prefix',
        reason: 'FieldValueRequired',
      },
    ],
    columns: [
      {name: 'Transport', type: 'string', jsonPath: '.status.transport', description: 'stdio, streamableHttp or sse'},
      {name: 'Prefix', type: 'string', jsonPath: '.status.prefix', description: 'Prefix in aggregated names'},
      {
        name: 'Accepted',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
        description: 'Whether the spec is valid',
        priority: 1,
      },
      {
        name: 'Routers',
        type: 'string',
        jsonPath: '.status.routers',
        description: 'Routers that select it',
        priority: 1,
      },
      {name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation'},
    ],
  },
  {
    names: MCP_ROUTER,
    description:
      'McpRouter is one MCP router: the operator runs it as a Deployment behind a Service, configured with the ' +
      'McpUpstreams it selects through a ConfigMap holding router.json.',
    spec: McpRouterSpecSchema,
    status: McpRouterStatusSchema,
    rules: [
      {
        rule: `self.metadata.name.size() <= 63 && self.metadata.name.matches('${ROUTER_NAME_PATTERN}')`,
        message:
          'must be a DNS-1035 label, as it names the router Service: at most 63 of a-z, 0-9 and -, starting with a ' +
          'letter',
        fieldPath: '.metadata.name',
      },
    ],
    columns: [
      {
        name: 'Ready',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Ready")].status',
        description: 'Whether the router serves its upstreams on all replicas',
      },
      {name: 'Replicas', type: 'integer', jsonPath: '.status.replicas', description: 'Router pods that exist'},
      {
        name: 'Upstreams',
        type: 'string',
        jsonPath: '.status.upstreamsReady',
        description: 'Upstreams ready on the router pods, of those in the rendered config',
      },
      {name: 'URL', type: 'string', jsonPath: '.status.url', description: 'In-cluster URL of the router'},
      {
        name: 'Reason',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
        description: 'Reason of the Ready condition',
        priority: 1,
      },
      {name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation'},
    ],
  },
];

/** Builds the CustomResourceDefinition object (apiextensions.k8s.io/v1) of one kind. */
export function buildCrd(definition: KindDefinition): Record<string, unknown> {
  const {names} = definition;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${names.plural}.${GROUP}`,
      labels: {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/part-of': 'kube-mcp-router'},
    },
    spec: {
      group: GROUP,
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        shortNames: names.shortNames,
        categories: names.categories,
      },
      scope: 'Namespaced',
      versions: [
        {
          name: SERVED_VERSION,
          served: true,
          storage: true,
          subresources: {status: {}},
          additionalPrinterColumns: definition.columns,
          schema: {
            openAPIV3Schema: {
              description: definition.description,
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: {
                  description: 'Versioned schema of this representation of an object: mcprouter.dev/v1alpha1.',
                  type: 'string',
                },
                kind: {description: `Kind of the object: ${names.kind}.`, type: 'string'},
                // Only name may be described here (and generateName); it lets CEL errors point at metadata.name.
                metadata: {
                  type: 'object',
                  properties: {name: {description: 'Name of the object, unique in its namespace.', type: 'string'}},
                },
                spec: openApiOf(definition.spec, 'spec'),
                status: openApiOf(definition.status, 'status'),
              },
              'x-kubernetes-validations': definition.rules,
            },
          },
        },
      ],
    },
  };
}

/** The checked-in CRD files: path relative to the repository root, and YAML text. */
export function renderCrdFiles(): {path: string; text: string}[] {
  return DEFINITIONS.map((definition) => ({
    path: `crds/${GROUP}_${definition.names.plural}.yaml`,
    text:
      '# Generated from the zod schemas in operator/api by `npm run crds`. Do not edit; a test fails on drift.\n' +
      stringify(buildCrd(definition), {lineWidth: 0}),
  }));
}
