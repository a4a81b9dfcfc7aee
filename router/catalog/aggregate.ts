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
  /** The group the upstream serves in (`router.groups`): its entries are the group's, under the group's prefix. */
  group?: {name: string; prefix: string};
}

/** The members of a group that list a tool or prompt, by its upstream name, in member order. */
export interface GroupExposure {
  tools: Map<string, string[]>;
  prompts: Map<string, string[]>;
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
  /** URI schemes that exactly one upstream (or group) uses, for URIs no list names (e.g. from a `resource_link`). */
  schemeOwners: Map<string, string>;
  /** Per group: which members list each of its tools and prompts (a route's upstream is then the group's name). */
  groups: Map<string, GroupExposure>;
}

/** How names are exposed: `prefixed` for the aggregate endpoints, `unchanged` for `/mcp/{upstream}`. */
export type Naming = {kind: 'prefixed'; separator: string} | {kind: 'unchanged'};

/** Where a part's entries go: the upstream, or the group it serves in, and that one's prefix. */
function ownerOf(part: CatalogPart): {owner: string; prefix: string} {
  return part.group ? {owner: part.group.name, prefix: part.group.prefix} : {owner: part.upstream, prefix: part.prefix};
}

function renameAll(
  part: CatalogPart,
  entries: NamedEntry[],
  naming: Naming,
  routes: Map<string, Route>,
  out: NamedEntry[],
  exposure: Map<string, string[]> | undefined,
): void {
  const {owner, prefix} = ownerOf(part);
  for (const entry of entries) {
    let name = naming.kind === 'prefixed' ? aggregatedName(prefix, naming.separator, entry.name) : entry.name;
    const existing = routes.get(name);
    // Names collide only within a group: another member's entry of the same name is the same entry.
    if (exposure && existing?.upstream === owner && existing.target === entry.name) {
      exposure.get(entry.name)?.push(part.upstream);
      continue;
    }
    if (existing) name = aggregatedName(prefix, '~', `${name}`);
    if (routes.has(name)) continue;
    routes.set(name, {upstream: owner, target: entry.name});
    exposure?.set(entry.name, [part.upstream]);
    out.push({...entry, name});
  }
}

/** The exposure record of a group part, made on its first part. */
function exposureOf(result: AggregateCatalog, part: CatalogPart): GroupExposure | undefined {
  if (!part.group) return undefined;
  let exposure = result.groups.get(part.group.name);
  if (!exposure) result.groups.set(part.group.name, (exposure = {tools: new Map(), prompts: new Map()}));
  return exposure;
}

/**
 * Builds the catalog of a downstream session from the parts of its upstreams (pure).
 *
 * Tools and prompts are renamed by `naming` (see `aggregatedName`). Resources and templates keep their URIs; a URI or
 * template that an earlier part already uses gets the `<prefix>+` scheme prefix (DESIGN.md, Names).
 *
 * The parts of a group's members make one entry set under the group's prefix, routed to the group: the union of
 * their lists, an entry that several members list taken from the first of them; `groups` records which members list
 * each tool and prompt.
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
    groups: new Map(),
  };
  const templatesSeen = new Map<string, string>();
  const schemeUsers = new Map<string, Set<string>>();
  const useScheme = (uri: string, upstream: string) => {
    const scheme = uriScheme(uri);
    if (scheme !== undefined) schemeUsers.set(scheme, (schemeUsers.get(scheme) ?? new Set()).add(upstream));
  };
  for (const part of parts) {
    const {owner, prefix} = ownerOf(part);
    const exposure = exposureOf(result, part);
    result.prefixes.set(prefix, owner);
    renameAll(part, part.catalog.tools, naming, result.toolRoutes, result.tools, exposure?.tools);
    renameAll(part, part.catalog.prompts, naming, result.promptRoutes, result.prompts, exposure?.prompts);
    for (const resource of part.catalog.resources) {
      useScheme(resource.uri, owner);
      const existing = result.resourceRoutes.get(resource.uri);
      if (existing?.upstream === owner) continue;
      const uri = existing ? prefixedUri(prefix, resource.uri) : resource.uri;
      if (result.resourceRoutes.has(uri)) continue;
      result.resourceRoutes.set(uri, {upstream: owner, target: resource.uri});
      result.resources.push({...resource, uri});
    }
    for (const template of part.catalog.resourceTemplates) {
      useScheme(template.uriTemplate, owner);
      const seen = templatesSeen.get(template.uriTemplate);
      if (seen === owner) continue;
      const collides = seen !== undefined;
      if (!collides) templatesSeen.set(template.uriTemplate, owner);
      const uriTemplate = collides ? prefixedUri(prefix, template.uriTemplate) : template.uriTemplate;
      result.resourceTemplates.push({...template, uriTemplate});
      result.templateRoutes.push({
        template: new UriTemplate(template.uriTemplate),
        upstream: owner,
        ...(collides && {prefix}),
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
