import picomatch from 'picomatch';
import type {UpstreamCatalog} from '../catalog/aggregate.js';
import type {AccessRule} from '../config/schema.js';
import type {Principal} from '../auth/principal.js';

/** Tool annotations as MCP 2025-11-25 server/tools defines them; absent hints take the spec defaults. */
type Annotations = Partial<Record<keyof typeof HINT_DEFAULTS, unknown>>;

const HINT_DEFAULTS = {readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true};

/**
 * What one principal may use, decided by pure functions over upstream names and the names, URIs and annotations the
 * upstream itself uses (never the aggregated names, so that the same rules hold on `/mcp` and `/mcp/{upstream}`).
 */
export interface Grant {
  /** False when the principal may use nothing of the upstream. */
  upstream(upstream: string): boolean;
  tool(upstream: string, name: string, annotations?: Annotations): boolean;
  prompt(upstream: string, name: string): boolean;
  /** A resource URI or a resource template's URI template. */
  resource(upstream: string, uri: string): boolean;
}

/** The grant of a router without auth: everything. */
export const GRANT_ALL: Grant = {upstream: () => true, tool: () => true, prompt: () => true, resource: () => true};

type Match = (value: string) => boolean;

/**
 * A filter of names or URIs: all when `include` is absent, none matching `exclude`. Globs are picomatch's: `*` stays
 * within a `/`-separated segment, `**` crosses them (`file:///data/**`).
 */
function nameFilter(filter: {include?: string[]; exclude?: string[]} | undefined): Match {
  if (!filter) return () => true;
  const include = filter.include ? picomatch(filter.include, {dot: true}) : () => true;
  const exclude = filter.exclude?.length ? picomatch(filter.exclude, {dot: true}) : () => false;
  return (value) => include(value) && !exclude(value);
}

/** The namespace of a ServiceAccount principal (`system:serviceaccount:<namespace>:<name>`), else undefined. */
export function serviceAccountNamespace(principal: string): string | undefined {
  const match = /^system:serviceaccount:([^:]+):[^:]+$/.exec(principal);
  return match?.[1];
}

function claimMatches(value: unknown, accepted: string[]): boolean {
  if (Array.isArray(value)) return value.some((item) => claimMatches(item, accepted));
  return (
    (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') &&
    accepted.includes(String(value))
  );
}

interface CompiledRule {
  appliesTo(principal: Principal): boolean;
  grant: Grant;
}

function compileRule(rule: AccessRule): CompiledRule {
  const principals = rule.principals ? picomatch(rule.principals, {dot: true}) : undefined;
  const namespaces = rule.namespaces;
  const claims = rule.claims ? Object.entries(rule.claims) : undefined;
  const upstreams = picomatch(rule.upstreams, {dot: true});
  const tools = nameFilter(rule.tools);
  const hints = Object.entries(rule.tools?.annotations ?? {}) as [keyof typeof HINT_DEFAULTS, boolean][];
  const prompts = nameFilter(rule.prompts);
  const resources = nameFilter(rule.resources);
  return {
    appliesTo: (principal) => {
      if (principals && !principals(principal.name)) return false;
      if (namespaces) {
        const namespace = serviceAccountNamespace(principal.name);
        if (namespace === undefined || !namespaces.includes(namespace)) return false;
      }
      return !claims || claims.every(([claim, accepted]) => claimMatches(principal.claims[claim], accepted));
    },
    grant: {
      upstream: upstreams,
      tool: (upstream, name, annotations = {}) =>
        upstreams(upstream) &&
        tools(name) &&
        hints.every(([hint, wanted]) => (annotations[hint] ?? HINT_DEFAULTS[hint]) === wanted),
      prompt: (upstream, name) => upstreams(upstream) && prompts(name),
      resource: (upstream, uri) => upstreams(upstream) && resources(uri),
    },
  };
}

/**
 * Access rules compiled once per config (globs become matchers). `grantFor` decides what one principal may use: the
 * union of what the rules that apply to it grant; no rule, nothing (deny by default).
 */
export class AccessPolicy {
  readonly #rules: CompiledRule[];
  /** Grants by the set of rules they unite: principals under the same rules share one (and its catalogs). */
  readonly #grants = new Map<string, Grant>();

  constructor(rules: AccessRule[]) {
    this.#rules = rules.map(compileRule);
  }

  grantFor(principal: Principal): Grant {
    const applied = this.#rules.filter((rule) => rule.appliesTo(principal));
    const key = applied.map((rule) => this.#rules.indexOf(rule)).join(',');
    let grant = this.#grants.get(key);
    if (!grant) this.#grants.set(key, (grant = unite(applied.map((rule) => rule.grant))));
    return grant;
  }

  /** True when some rule applies to the principal at all (else every MCP request of it gets 403). */
  applies(principal: Principal): boolean {
    return this.#rules.some((rule) => rule.appliesTo(principal));
  }
}

/** What any of `grants` grants. */
function unite(grants: Grant[]): Grant {
  return {
    upstream: (upstream) => grants.some((g) => g.upstream(upstream)),
    tool: (upstream, name, annotations) => grants.some((g) => g.tool(upstream, name, annotations)),
    prompt: (upstream, name) => grants.some((g) => g.prompt(upstream, name)),
    resource: (upstream, uri) => grants.some((g) => g.resource(upstream, uri)),
  };
}

/** An upstream's catalog as a grant allows it to be seen (pure). */
export function filterCatalog(upstream: string, catalog: UpstreamCatalog, grant: Grant): UpstreamCatalog {
  if (grant === GRANT_ALL) return catalog;
  return {
    tools: catalog.tools.filter((t) => grant.tool(upstream, t.name, (t.annotations ?? {}) as Annotations)),
    prompts: catalog.prompts.filter((p) => grant.prompt(upstream, p.name)),
    resources: catalog.resources.filter((r) => grant.resource(upstream, r.uri)),
    resourceTemplates: catalog.resourceTemplates.filter((t) => grant.resource(upstream, t.uriTemplate)),
  };
}
