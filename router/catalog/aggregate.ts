import {UriTemplate} from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import {aggregatedName, prefixedUri, splitPrefixedUri, uriScheme} from './naming.js';

/** A tool or prompt as an upstream lists it; every other field passes through untouched. */
export type NamedEntry = {name: string} & Record<string, unknown>;
/** A resource as an upstream lists it. */
export type ResourceEntry = {uri: string} & Record<string, unknown>;
/** A resource template as an upstream lists it. */
export type TemplateEntry = {uriTemplate: string} & Record<string, unknown>;

/** Everything one upstream lists (MCP 2025-11-25 server/tools, server/prompts, server/resources). */
export interface UpstreamCatalog {
  tools: NamedEntry[];
  prompts: NamedEntry[];
  resources: ResourceEntry[];
  resourceTemplates: TemplateEntry[];
}

export const EMPTY_CATALOG: UpstreamCatalog = {tools: [], prompts: [], resources: [], resourceTemplates: []};

/** One upstream's part of an aggregate, in config order. */
export interface CatalogPart {
  upstream: string;
  prefix: string;
  catalog: UpstreamCatalog;
}

/** Where a downstream name or URI goes: the upstream and the name or URI it knows. */
export interface Route {
  upstream: string;
  target: string;
}

/** The catalog a downstream session sees, with the routes back to the upstreams. */
export interface AggregateCatalog {
  tools: NamedEntry[];
  prompts: NamedEntry[];
  resources: ResourceEntry[];
  resourceTemplates: TemplateEntry[];
  toolRoutes: Map<string, Route>;
  promptRoutes: Map<string, Route>;
  resourceRoutes: Map<string, Route>;
  templateRoutes: {template: UriTemplate; upstream: string; prefix?: string}[];
  /** Upstream by prefix, for URIs of the form `<prefix>+<uri>`. */
  prefixes: Map<string, string>;
  /** URI schemes that exactly one upstream uses, for URIs no list names (e.g. from a `resource_link`). */
  schemeOwners: Map<string, string>;
}

/** How names are exposed: `prefixed` for the aggregate endpoints, `unchanged` for `/mcp/{upstream}`. */
export type Naming = {kind: 'prefixed'; separator: string} | {kind: 'unchanged'};

function renameAll(
  part: CatalogPart,
  entries: NamedEntry[],
  naming: Naming,
  routes: Map<string, Route>,
  out: NamedEntry[],
): void {
  for (const entry of entries) {
    let name = naming.kind === 'prefixed' ? aggregatedName(part.prefix, naming.separator, entry.name) : entry.name;
    if (routes.has(name)) name = aggregatedName(part.prefix, '~', `${name}`);
    if (routes.has(name)) continue;
    routes.set(name, {upstream: part.upstream, target: entry.name});
    out.push({...entry, name});
  }
}

/**
 * Builds the catalog of a downstream session from the parts of its upstreams (pure).
 *
 * Tools and prompts are renamed by `naming` (see `aggregatedName`). Resources and templates keep their URIs; a URI or
 * template that an earlier part already uses gets the `<prefix>+` scheme prefix (DESIGN.md, Names).
 */
export function aggregateCatalog(parts: CatalogPart[], naming: Naming): AggregateCatalog {
  const result: AggregateCatalog = {
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
    toolRoutes: new Map(),
    promptRoutes: new Map(),
    resourceRoutes: new Map(),
    templateRoutes: [],
    prefixes: new Map(),
    schemeOwners: new Map(),
  };
  const templatesSeen = new Set<string>();
  const schemeUsers = new Map<string, Set<string>>();
  const useScheme = (uri: string, upstream: string) => {
    const scheme = uriScheme(uri);
    if (scheme !== undefined) schemeUsers.set(scheme, (schemeUsers.get(scheme) ?? new Set()).add(upstream));
  };
  for (const part of parts) {
    result.prefixes.set(part.prefix, part.upstream);
    renameAll(part, part.catalog.tools, naming, result.toolRoutes, result.tools);
    renameAll(part, part.catalog.prompts, naming, result.promptRoutes, result.prompts);
    for (const resource of part.catalog.resources) {
      useScheme(resource.uri, part.upstream);
      const uri = result.resourceRoutes.has(resource.uri) ? prefixedUri(part.prefix, resource.uri) : resource.uri;
      if (result.resourceRoutes.has(uri)) continue;
      result.resourceRoutes.set(uri, {upstream: part.upstream, target: resource.uri});
      result.resources.push({...resource, uri});
    }
    for (const template of part.catalog.resourceTemplates) {
      useScheme(template.uriTemplate, part.upstream);
      const collides = templatesSeen.has(template.uriTemplate);
      templatesSeen.add(template.uriTemplate);
      const uriTemplate = collides ? prefixedUri(part.prefix, template.uriTemplate) : template.uriTemplate;
      result.resourceTemplates.push({...template, uriTemplate});
      result.templateRoutes.push({
        template: new UriTemplate(template.uriTemplate),
        upstream: part.upstream,
        ...(collides && {prefix: part.prefix}),
      });
    }
  }
  for (const [scheme, users] of schemeUsers) {
    if (users.size === 1) result.schemeOwners.set(scheme, [...users][0] as string);
  }
  return result;
}

/**
 * The upstream and upstream URI of a downstream resource URI, or undefined when no upstream claims it.
 * Order: a listed URI; a `<prefix>+` URI; a template match; the one upstream that uses the URI's scheme.
 */
export function resolveResource(catalog: AggregateCatalog, uri: string): Route | undefined {
  const listed = catalog.resourceRoutes.get(uri);
  if (listed) return listed;
  const split = splitPrefixedUri(uri);
  const prefixed = split && catalog.prefixes.get(split.prefix);
  if (split && prefixed) return {upstream: prefixed, target: split.uri};
  const byTemplate = catalog.templateRoutes.find((t) => t.prefix === undefined && t.template.match(uri) !== null);
  if (byTemplate) return {upstream: byTemplate.upstream, target: uri};
  const scheme = uriScheme(uri);
  const owner = scheme === undefined ? undefined : catalog.schemeOwners.get(scheme);
  return owner === undefined ? undefined : {upstream: owner, target: uri};
}
