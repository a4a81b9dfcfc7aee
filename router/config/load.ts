import {readFile} from 'node:fs/promises';
import type {z} from 'zod';
import {COMPOSITE_UPSTREAM, type Composite} from '../composites/schema.js';
import {ConfigError, type ConfigIssue} from '../errors.js';
import {readOverlay, withOverlay, type Overlay} from './overlay.js';
import {
  CircuitBreakerSchema,
  MANAGEMENT_UPSTREAM,
  PREFIX_PATTERN,
  RetriesSchema,
  RouterConfigSchema,
  TimeoutsSchema,
  type BuiltinUpstreamConfig,
  type ManagementOptions,
  type RouterConfig,
  type UpstreamConfig,
  type UpstreamGroupConfig,
  type UpstreamGroupOptions,
} from './schema.js';

/** `$$` (an escaped `$`), or `${VAR}` / `${VAR:-default}`. */
const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of `value` (not in object keys) from `env`, and `$$` with a
 * literal `$` (as Docker Compose does), so that a literal value can hold `${...}` text that is never expanded: the
 * operator escapes every value it copies from a custom resource this way. Replacement is one pass: a value taken from
 * the environment is never expanded again. A variable that is unset and has no default becomes an issue at the
 * string's JSON path.
 */
export function interpolate(
  value: unknown,
  env: Record<string, string | undefined>,
  path: string[] = [],
  issues: ConfigIssue[] = [],
): {value: unknown; issues: ConfigIssue[]} {
  if (typeof value === 'string') {
    const replaced = value.replace(VARIABLE, (whole, name: string | undefined, fallback: string | undefined) => {
      if (name === undefined) return '$';
      const found = env[name] ?? fallback;
      if (found === undefined) {
        issues.push({path: path.join('.'), message: `environment variable ${name} is not set`});
        return whole;
      }
      return found;
    });
    return {value: replaced, issues};
  }
  if (Array.isArray(value)) {
    return {value: value.map((item, i) => interpolate(item, env, [...path, String(i)], issues).value), issues};
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolate(item, env, [...path, key], issues).value;
    return {value: out, issues};
  }
  return {value, issues};
}

/**
 * Flattens zod issues into path + message. For a server that matches neither the stdio nor the remote shape, the
 * issues of the shape it came closest to are reported, so a typo says which key is wrong.
 */
function zodIssues(issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): ConfigIssue[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const sizes = issue.errors.map((branch) => branch.length);
      const fewest = Math.min(...sizes);
      if (sizes.filter((n) => n === fewest).length === 1) {
        return zodIssues(issue.errors[sizes.indexOf(fewest)] ?? [], path);
      }
    }
    // A record key that does not match its pattern: the key's own issues say why (e.g. the pattern).
    const message =
      issue.code === 'invalid_key' ? `key: ${issue.issues.map((inner) => inner.message).join('; ')}` : issue.message;
    return [{path: path.map(String).join('.'), message}];
  });
}

/** The default prefix of a server: its key, with characters outside `[a-zA-Z0-9_-]` replaced by `_`, cut to 32. */
export function defaultPrefix(name: string): string {
  return name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 32);
}

function transportOf(type: string | undefined, url: string): 'streamableHttp' | 'sse' {
  if (type === 'sse') return 'sse';
  if (type !== undefined) return 'streamableHttp';
  return new URL(url).pathname.replace(/\/+$/, '').endsWith('/sse') ? 'sse' : 'streamableHttp';
}

/** Escapes a literal string for router.json: `$` becomes `$$`, so that interpolation gives back the string itself. */
export function escapeLiteral(value: string): string {
  return value.replaceAll('$', '$$$$');
}

/** The built-in management upstream of `router.management` (see `router/management/`), with default options. */
function managementUpstream(management: ManagementOptions): BuiltinUpstreamConfig {
  return {
    name: MANAGEMENT_UPSTREAM,
    prefix: MANAGEMENT_UPSTREAM,
    transport: 'builtin',
    session: 'perSession',
    register: management.register,
    tools: {include: [], exclude: []},
    timeouts: TimeoutsSchema.parse({}),
    circuitBreaker: CircuitBreakerSchema.parse({}),
    retries: RetriesSchema.parse({}),
  };
}

/**
 * The built-in composite upstream of `router.composites` (see `router/composites/`). Each composite's
 * `timeoutSeconds` is its call timeout; it is never retried.
 */
function compositeUpstream(composites: Record<string, Composite>): BuiltinUpstreamConfig {
  const tools = Object.fromEntries(
    Object.entries(composites).map(([name, c]) => [
      name,
      {callSeconds: c.timeoutSeconds, maxCallSeconds: c.timeoutSeconds},
    ]),
  );
  return {
    name: COMPOSITE_UPSTREAM,
    prefix: COMPOSITE_UPSTREAM,
    transport: 'builtin',
    session: 'perSession',
    composites,
    tools: {include: [], exclude: []},
    timeouts: TimeoutsSchema.parse({tools}),
    circuitBreaker: CircuitBreakerSchema.parse({}),
    retries: RetriesSchema.parse({maxAttempts: 1}),
  };
}

/**
 * The problems of composite steps whose tool no upstream serves (pure): a step names a tool by its aggregated name,
 * `<prefix><separator><name>`, of an upstream of the config other than the composite upstream itself, or of a group
 * (whose members' tools the aggregate names with the group's prefix only).
 */
function compositeStepIssues(
  composites: Record<string, Composite>,
  upstreams: UpstreamConfig[],
  groups: UpstreamGroupConfig[],
  separator: string,
): ConfigIssue[] {
  const members = new Set(groups.flatMap((g) => g.members));
  const prefixes = [...upstreams.filter((u) => !members.has(u.name)), ...groups].map((u) => `${u.prefix}${separator}`);
  return Object.entries(composites).flatMap(([name, composite]) =>
    composite.steps.flatMap((step, index) => {
      const path = `router.composites.${name}.steps.${index}.tool`;
      if (step.tool.startsWith(`${COMPOSITE_UPSTREAM}${separator}`))
        return [{path, message: `"${step.tool}": a step calls an upstream tool, not another composite`}];
      if (prefixes.some((prefix) => step.tool.startsWith(prefix))) return [];
      return [{path, message: `"${step.tool}" is no upstream's: aggregated names start with ${prefixes.join(', ')}`}];
    }),
  );
}

/** True when a raw config (before validation) turns on `register_upstream`, and so its overlay applies. */
function registerEnabled(json: unknown): boolean {
  const router = (json as {router?: {management?: {register?: unknown}}} | null)?.router;
  return router?.management?.register === true;
}

/**
 * Checks and normalizes `router.groups` (pure): members must name servers (disabled ones are left out), belong to one
 * group, and not be the management upstream; routes may name only members of their group; a group's name may not be
 * a server's, and its prefix not that of another group or of a server outside every group. Problems are added to
 * `problems` with their JSON path. A group without enabled members is left out.
 */
function normalizeGroups(
  groups: Record<string, UpstreamGroupOptions>,
  known: {servers: Set<string>; upstreams: UpstreamConfig[]; problems: ConfigIssue[]},
): UpstreamGroupConfig[] {
  const {servers, upstreams, problems} = known;
  const enabled = new Set(upstreams.map((u) => u.name));
  const groupOf = new Map<string, string>();
  const normalized: UpstreamGroupConfig[] = [];
  for (const [name, group] of Object.entries(groups)) {
    const path = `router.groups.${name}`;
    if (servers.has(name) || name === MANAGEMENT_UPSTREAM)
      problems.push({path, message: `the group name "${name}" is already the name of a server`});
    group.members.forEach((member, index) => {
      const owner = groupOf.get(member);
      if (member === MANAGEMENT_UPSTREAM || !servers.has(member))
        problems.push({path: `${path}.members.${index}`, message: `"${member}" is not a server of mcpServers`});
      else if (owner !== undefined)
        problems.push({path: `${path}.members.${index}`, message: `"${member}" is already a member of "${owner}"`});
      groupOf.set(member, name);
    });
    group.routes.forEach((route, index) => {
      for (const upstream of route.upstreams.filter((u) => !group.members.includes(u)))
        problems.push({
          path: `${path}.routes.${index}.upstreams`,
          message: `"${upstream}" is not a member of the group`,
        });
    });
    const members = group.members.filter((member) => enabled.has(member));
    if (members.length > 0)
      normalized.push({name, prefix: group.prefix ?? name, strategy: group.strategy, members, routes: group.routes});
  }
  const prefixOwners = new Map<string, string>();
  for (const upstream of upstreams.filter((u) => !groupOf.has(u.name)))
    prefixOwners.set(upstream.prefix, upstream.name);
  for (const group of normalized) {
    const owner = prefixOwners.get(group.prefix);
    if (owner !== undefined)
      problems.push({
        path: `router.groups.${group.name}.prefix`,
        message: `prefix "${group.prefix}" is already used by "${owner}"`,
      });
    prefixOwners.set(group.prefix, group.name);
  }
  return normalized;
}

/**
 * Parses and validates the text of a `router.json`.
 *
 * @param text the file's content (JSON)
 * @param env where `${VAR}` values come from
 * @param source what to call the file in errors (its path)
 * @param overlay servers added and removed at run time (see `overlay.ts`), applied when the config sets
 *   `router.management.register`
 * @returns the normalized config: enabled upstreams in file order, with defaults applied, then the built-in `router`
 *   upstream when `router.management.enabled` and the built-in `composite` upstream when `router.composites` has any
 * @throws ConfigError listing every problem with its JSON path
 */
export function parseRouterConfig(
  text: string,
  env: Record<string, string | undefined>,
  source: string,
  overlay?: Overlay,
): RouterConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(source, [{path: '', message: `not valid JSON: ${(error as Error).message}`}]);
  }
  if (overlay && registerEnabled(json)) json = withOverlay(json as Record<string, unknown>, overlay);
  const {value, issues} = interpolate(json, env);
  if (issues.length > 0) throw new ConfigError(source, issues);
  const parsed = RouterConfigSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(source, zodIssues(parsed.error.issues));

  const serversKey = parsed.data.mcpServers ? 'mcpServers' : 'servers';
  const servers = parsed.data.mcpServers ?? parsed.data.servers ?? {};
  const upstreams: UpstreamConfig[] = [];
  const problems: ConfigIssue[] = [];
  const prefixOwners = new Map<string, string>();
  for (const [name, server] of Object.entries(servers)) {
    if (server.disabled) continue;
    const prefix = server.prefix ?? defaultPrefix(name);
    const owner = prefixOwners.get(prefix);
    if (owner !== undefined) {
      problems.push({
        path: `${serversKey}.${name}.prefix`,
        message: `prefix "${prefix}" is already used by "${owner}"`,
      });
      continue;
    }
    if (!PREFIX_PATTERN.test(prefix)) {
      problems.push({path: `${serversKey}.${name}.prefix`, message: `prefix "${prefix}" is not valid`});
      continue;
    }
    prefixOwners.set(prefix, name);
    const common = {
      name,
      prefix,
      tools: {include: server.tools?.include ?? [], exclude: server.tools?.exclude ?? []},
      timeouts: server.timeouts ?? TimeoutsSchema.parse({}),
      circuitBreaker: server.circuitBreaker ?? CircuitBreakerSchema.parse({}),
      retries: server.retries ?? RetriesSchema.parse({}),
      ...(server.output && {output: server.output}),
    };
    if ('command' in server) {
      upstreams.push({
        ...common,
        transport: 'stdio',
        session: server.session ?? 'shared',
        command: server.command,
        args: server.args,
        env: server.env,
        ...(server.cwd !== undefined && {cwd: server.cwd}),
      });
    } else {
      const url = (server.url ?? server.serverUrl) as string;
      upstreams.push({
        ...common,
        transport: transportOf(server.type, url),
        session: server.session ?? 'perSession',
        url,
        headers: server.headers,
      });
    }
  }
  const {management} = parsed.data.router;
  if (management.enabled) {
    const taken = upstreams.find((u) => u.name === MANAGEMENT_UPSTREAM || u.prefix === MANAGEMENT_UPSTREAM);
    if (taken) {
      problems.push({
        path: `${serversKey}.${taken.name}`,
        message: `the name and prefix "${MANAGEMENT_UPSTREAM}" belong to the management upstream (router.management.enabled)`,
      });
    } else upstreams.push(managementUpstream(management));
  }
  const groups = normalizeGroups(parsed.data.router.groups, {
    servers: new Set(Object.keys(servers)),
    upstreams,
    problems,
  });
  const {composites, toolNameSeparator} = parsed.data.router;
  if (Object.keys(composites).length > 0) {
    const taken = upstreams.find((u) => u.name === COMPOSITE_UPSTREAM || u.prefix === COMPOSITE_UPSTREAM);
    if (taken) {
      problems.push({
        path: `${serversKey}.${taken.name}`,
        message: `the name and prefix "${COMPOSITE_UPSTREAM}" belong to the composite tools (router.composites)`,
      });
    } else {
      problems.push(...compositeStepIssues(composites, upstreams, groups, toolNameSeparator));
      upstreams.push(compositeUpstream(composites));
    }
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return {upstreams, groups, router: parsed.data.router};
}

/**
 * Reads and parses a config file, with its overlay file when there is one (see `overlay.ts`).
 * @returns the config and the text it was parsed from, the overlay's appended (to tell later whether either changed)
 * @throws ConfigError when the file or its overlay cannot be read or is not valid (see `parseRouterConfig`)
 */
export async function loadRouterConfig(
  file: string,
  env: Record<string, string | undefined> = process.env,
): Promise<{config: RouterConfig; text: string}> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [
      {path: '', message: `cannot read the file: ${(error as NodeJS.ErrnoException).code}`},
    ]);
  }
  const overlay = await readOverlay(file);
  return {config: parseRouterConfig(text, env, file, overlay?.overlay), text: `${text}\n${overlay?.text ?? ''}`};
}
