import {namedUpstreams, selects} from '../../api/selector.js';
import {
  parseMcpUpstream,
  prefixOf,
  type McpRouter,
  type McpUpstream,
  type McpUpstreamResource,
  type SpecIssue,
} from '../../api/types.js';

/** The upstreams of a router, as found in its namespace. */
export interface ResolvedUpstreams {
  /** Valid upstreams with unique prefixes, sorted by name: what goes into router.json. */
  selected: McpUpstream[];
  /** Names listed in spec.upstreams or spec.groups that do not exist (or are being deleted), sorted. */
  missing: string[];
  /** Selected upstreams whose spec does not validate, with the problems. */
  invalid: {name: string; issues: SpecIssue[]}[];
  /** Selected upstreams left out because an earlier one (by name) has the same prefix. */
  conflicts: {name: string; prefix: string; with: string}[];
}

/**
 * Resolves a router's upstreams from the McpUpstreams of its namespace: those its selector matches plus those it
 * names. Pure: the caller passes the candidates (from the informer cache); the order of `candidates` does not matter.
 */
export function resolveUpstreams(router: McpRouter, candidates: readonly McpUpstreamResource[]): ResolvedUpstreams {
  const inNamespace = candidates
    .filter((u) => u.metadata.namespace === router.metadata.namespace && !u.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const names = new Set(inNamespace.map((u) => u.metadata.name));
  const missing = [...new Set(namedUpstreams(router))].filter((name) => !names.has(name)).sort();

  const selected: McpUpstream[] = [];
  const invalid: ResolvedUpstreams['invalid'] = [];
  const conflicts: ResolvedUpstreams['conflicts'] = [];
  const prefixOwners = new Map<string, string>();
  for (const candidate of inNamespace) {
    if (!selects(router, candidate)) continue;
    const parsed = parseMcpUpstream(candidate);
    if (!parsed.ok) {
      invalid.push({name: candidate.metadata.name, issues: parsed.issues});
      continue;
    }
    const prefix = prefixOf(parsed.value);
    const owner = prefixOwners.get(prefix);
    if (owner !== undefined) {
      conflicts.push({name: candidate.metadata.name, prefix, with: owner});
      continue;
    }
    prefixOwners.set(prefix, candidate.metadata.name);
    selected.push(parsed.value);
  }
  return {selected, missing, invalid, conflicts};
}
