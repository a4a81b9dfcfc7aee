import {isDeepStrictEqual} from 'node:util';
import type {UpstreamConfig} from './schema.js';

/** What changed between two upstream lists, by name. */
export interface UpstreamDiff {
  added: UpstreamConfig[];
  removed: UpstreamConfig[];
  /** The new config of each upstream whose config differs in any field. */
  changed: UpstreamConfig[];
  unchanged: string[];
}

/** Compares the upstreams of two configs by name (pure); order does not matter. */
export function diffUpstreams(before: UpstreamConfig[], after: UpstreamConfig[]): UpstreamDiff {
  const old = new Map(before.map((u) => [u.name, u]));
  const diff: UpstreamDiff = {added: [], removed: [], changed: [], unchanged: []};
  for (const upstream of after) {
    const previous = old.get(upstream.name);
    if (!previous) diff.added.push(upstream);
    else if (!isDeepStrictEqual(previous, upstream)) diff.changed.push(upstream);
    else diff.unchanged.push(upstream.name);
    old.delete(upstream.name);
  }
  diff.removed = [...old.values()];
  return diff;
}
