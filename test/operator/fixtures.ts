import {
  parseMcpRouter,
  parseMcpUpstream,
  type McpRouter,
  type McpRouterResource,
  type McpUpstream,
  type McpUpstreamResource,
} from '../../operator/api/types.js';
import type {RenderOptions} from '../../operator/controllers/mcprouter/render.js';

/** An McpRouter as the API server would return it (spec unvalidated), with defaults left to the parser. */
export function routerResource(
  name: string,
  spec: Record<string, unknown>,
  extra: Partial<McpRouterResource['metadata']> = {},
): McpRouterResource {
  return {
    apiVersion: 'mcprouter.dev/v1alpha1',
    kind: 'McpRouter',
    metadata: {name, namespace: 'team-a', uid: `uid-${name}`, generation: 1, ...extra},
    spec,
  };
}

/** An McpUpstream as the API server would return it. */
export function upstreamResource(
  name: string,
  spec: Record<string, unknown>,
  labels: Record<string, string> = {},
  namespace = 'team-a',
): McpUpstreamResource {
  return {
    apiVersion: 'mcprouter.dev/v1alpha1',
    kind: 'McpUpstream',
    metadata: {name, namespace, uid: `uid-${name}`, generation: 1, labels},
    spec,
  };
}

/** Render options of the unit tests. */
export const renderOptions: RenderOptions = {
  routerImage: 'example.test/router:1',
  clusterDomain: 'cluster.local',
  serviceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
};

/** A validated McpRouter, as the controller gets it from the parser; throws on an invalid spec. */
export function parsedRouter(spec: Record<string, unknown> = {upstreamSelector: {}}, name = 'tools'): McpRouter {
  const parsed = parseMcpRouter(routerResource(name, spec));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** A validated McpUpstream; throws on an invalid spec. */
export function parsedUpstream(name: string, spec: Record<string, unknown>): McpUpstream {
  const parsed = parseMcpUpstream(upstreamResource(name, spec));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}
