import {randomBytes} from 'node:crypto';
import {LRUCache} from 'lru-cache';
import type {KeptContent} from './cap.js';

/** The URI scheme and path of kept content: `router://results/{id}`. */
export const RESULTS_URI_PREFIX = 'router://results/';

/** Whether a URI names content the router kept (it is then read from the store, never from an upstream). */
export function isResultUri(uri: string): boolean {
  return uri.startsWith(RESULTS_URI_PREFIX);
}

interface Kept {
  /** The session the content was cut for: the only one that may read it. */
  owner: object;
  content: KeptContent;
}

/** One item of a `resources/read` result (MCP 2025-11-25 server/resources). */
export type ResourceContents =
  {uri: string; mimeType: string; text: string} | {uri: string; mimeType: string; blob: string};

/**
 * Content that output caps took out of `tools/call` results, kept for a while so that the session it was cut for can
 * read it with `resources/read`. One store per router: at most `maxBytes` bytes in all (text as UTF-16 code units,
 * media as base64 characters), each entry for `ttlSeconds`, the least recently used first out. Ids come from `newId`
 * (default 144 random bits, base64url), so that they cannot be guessed; with replicas they name this pod, signed
 * (`SessionIds.newId('result')`), so that a read landing on another pod is forwarded here (`http/forward.ts`). A read
 * by any other session finds nothing, as for an unknown id.
 */
export class ResultStore {
  readonly #entries: LRUCache<string, Kept>;
  readonly #newId: () => string;

  constructor(options: {maxBytes: number; ttlSeconds: number; newId?: () => string}) {
    this.#newId = options.newId ?? (() => randomBytes(18).toString('base64url'));
    this.#entries = new LRUCache<string, Kept>({
      maxSize: options.maxBytes,
      sizeCalculation: ({content}) => Math.max(1, content.kind === 'text' ? content.text.length : content.data.length),
      ttl: options.ttlSeconds * 1000,
    });
  }

  /** Keeps content for `owner`; its URI, or undefined when it is larger than the whole store. */
  keep(owner: object, content: KeptContent): string | undefined {
    const id = this.#newId();
    this.#entries.set(id, {owner, content});
    return this.#entries.has(id) ? `${RESULTS_URI_PREFIX}${id}` : undefined;
  }

  /** The contents of a kept URI as `resources/read` returns them, when `owner` kept it and it has not expired. */
  read(owner: object, uri: string): ResourceContents | undefined {
    const kept = isResultUri(uri) ? this.#entries.get(uri.slice(RESULTS_URI_PREFIX.length)) : undefined;
    if (kept?.owner !== owner) return undefined;
    const {content} = kept;
    return content.kind === 'text'
      ? {uri, mimeType: content.mimeType ?? 'text/plain', text: content.text}
      : {uri, mimeType: content.mimeType, blob: content.data};
  }

  /** Forgets everything kept for `owner` (its session closed). */
  forget(owner: object): void {
    for (const [id, kept] of this.#entries.entries()) if (kept.owner === owner) this.#entries.delete(id);
  }
}
