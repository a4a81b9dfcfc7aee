import {createHash} from 'node:crypto';

/** What the major model APIs accept as a tool name; every aggregated name matches it. */
export const AGGREGATED_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_NAME_LENGTH = 64;
const HASH_LENGTH = 8;

/**
 * The aggregated name of an upstream tool or prompt: `<prefix><separator><name>`.
 *
 * A name that would not match `^[a-zA-Z0-9_-]{1,64}$` (too long, or with characters such as `.` that MCP allows but
 * model APIs do not) is made to: other characters become `_`, and when anything changed it is cut to 55 characters
 * and ended with `-` and the first 8 hex digits of the SHA-256 of the full name. The result is deterministic; the
 * router maps it back through its route table, never by parsing.
 */
export function aggregatedName(prefix: string, separator: string, name: string): string {
  const full = `${prefix}${separator}${name}`;
  if (AGGREGATED_NAME_PATTERN.test(full)) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, HASH_LENGTH);
  const safe = full.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1);
  return `${safe}-${hash}`;
}

/**
 * The downstream URI of an upstream resource whose URI another upstream already uses: `<prefix>+<uri>`.
 * `+` is legal in a URI scheme (RFC 3986 section 3.1), so the result is still a URI.
 */
export function prefixedUri(prefix: string, uri: string): string {
  return `${prefix}+${uri}`;
}

/** The prefix and upstream URI of a URI made by `prefixedUri`, or undefined for any other URI. */
export function splitPrefixedUri(uri: string): {prefix: string; uri: string} | undefined {
  const match = /^([a-zA-Z0-9_-]{1,32})\+(.+)$/.exec(uri);
  return match ? {prefix: match[1] as string, uri: match[2] as string} : undefined;
}

/** The scheme of a URI or URI template (`demo` of `demo://x`), or undefined when it has none. */
export function uriScheme(uri: string): string | undefined {
  return /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri)?.[1];
}
