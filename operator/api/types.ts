import type {z} from 'zod';
import type {KubeObject, ResourceType} from '../runtime/kube.js';
import {PREFIX_PATTERN} from '../../router/config/index.js';
import type {McpRouterSpec, McpRouterStatus} from './mcprouter.js';
import {McpRouterSpecSchema} from './mcprouter.js';
import type {McpUpstreamSpec, McpUpstreamStatus} from './mcpupstream.js';
import {McpUpstreamSpecSchema} from './mcpupstream.js';

/** API group of the custom resources. */
export const GROUP = 'mcprouter.dev';
/** The one served and stored version. */
export const SERVED_VERSION = 'v1alpha1';
/** `apiVersion` of both kinds. */
export const API_VERSION = `${GROUP}/${SERVED_VERSION}`;

/** Names of a kind as the API server knows them. */
export interface KindNames {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
}

export const MCP_UPSTREAM: KindNames = {
  kind: 'McpUpstream',
  listKind: 'McpUpstreamList',
  plural: 'mcpupstreams',
  singular: 'mcpupstream',
  shortNames: ['mcpu'],
  categories: ['mcp'],
};

export const MCP_ROUTER: KindNames = {
  kind: 'McpRouter',
  listKind: 'McpRouterList',
  plural: 'mcprouters',
  singular: 'mcprouter',
  shortNames: ['mcpr'],
  categories: ['mcp'],
};

/** A custom resource as the API server returns it: `spec` not yet validated. */
export interface CustomResource<Status> extends KubeObject {
  metadata: NonNullable<KubeObject['metadata']> & {name: string; namespace: string};
  spec?: unknown;
  status?: Status;
}

export type McpUpstreamResource = CustomResource<McpUpstreamStatus>;
export type McpRouterResource = CustomResource<McpRouterStatus>;

/** An McpUpstream whose spec passed validation. */
export interface McpUpstream extends McpUpstreamResource {
  spec: McpUpstreamSpec;
}

/** An McpRouter whose spec passed validation. */
export interface McpRouter extends McpRouterResource {
  spec: McpRouterSpec;
}

/** One problem of a spec: `path` from the object root (`spec.http.url`), `message` the reason. */
export interface SpecIssue {
  path: string;
  message: string;
}

function issuesOf(error: z.ZodError): SpecIssue[] {
  return error.issues.map((issue) => ({
    path: ['spec', ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/**
 * Validates an McpUpstream from the API server. The CRD's schema and CEL rules normally reject what this rejects;
 * this is the entry-point check for objects admitted under an older CRD.
 * @returns the typed object, or the issues with their paths
 */
export function parseMcpUpstream(
  object: McpUpstreamResource,
): {ok: true; value: McpUpstream} | {ok: false; issues: SpecIssue[]} {
  const parsed = McpUpstreamSpecSchema.safeParse(object.spec ?? {});
  if (!parsed.success) return {ok: false, issues: issuesOf(parsed.error)};
  if (parsed.data.prefix === undefined && !PREFIX_PATTERN.test(object.metadata.name)) {
    return {
      ok: false,
      issues: [
        {path: 'metadata.name', message: 'is the default prefix and must match ^[a-zA-Z0-9_-]{1,32}$; set spec.prefix'},
      ],
    };
  }
  return {ok: true, value: {...object, spec: parsed.data}};
}

/** Validates an McpRouter from the API server; see `parseMcpUpstream`. */
export function parseMcpRouter(
  object: McpRouterResource,
): {ok: true; value: McpRouter} | {ok: false; issues: SpecIssue[]} {
  const parsed = McpRouterSpecSchema.safeParse(object.spec ?? {});
  if (!parsed.success) return {ok: false, issues: issuesOf(parsed.error)};
  return {ok: true, value: {...object, spec: parsed.data}};
}

/** The prefix an upstream gets in aggregated names: `spec.prefix`, or its name. */
export function prefixOf(upstream: McpUpstream): string {
  return upstream.spec.prefix ?? upstream.metadata.name;
}

/** Where McpUpstreams are served, for the REST client. */
export const MCP_UPSTREAMS: ResourceType = {
  group: GROUP,
  version: SERVED_VERSION,
  kind: MCP_UPSTREAM.kind,
  plural: MCP_UPSTREAM.plural,
};
/** Where McpRouters are served, for the REST client. */
export const MCP_ROUTERS: ResourceType = {
  group: GROUP,
  version: SERVED_VERSION,
  kind: MCP_ROUTER.kind,
  plural: MCP_ROUTER.plural,
};
