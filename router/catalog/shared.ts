import {LRUCache} from 'lru-cache';
import {filterCatalog, type Grant} from '../policy/rules.js';
import {
  aggregateCatalog,
  type AggregateCatalog,
  type CatalogPart,
  type Naming,
  type UpstreamCatalog,
} from './aggregate.js';

/**
 * The catalogs of a router's sessions, shared by every session that sees the same thing. A session's catalog is the
 * aggregate of its upstreams' catalogs as its grant lets it see them; an upstream connection replaces its catalog
 * object when it changes (`list_changed`), and `AccessPolicy` gives principals under the same rules the same grant.
 * So sessions with the same upstream catalog objects, the same grant and the same naming get one aggregate, built on
 * first need: a session holds a reference, not a copy. The last `max` combinations are kept.
 */
export class SharedCatalogs {
  readonly #ids = new WeakMap<object, number>();
  #nextId = 0;
  readonly #filtered = new WeakMap<UpstreamCatalog, WeakMap<Grant, Map<string, UpstreamCatalog>>>();
  readonly #aggregates: LRUCache<string, AggregateCatalog>;

  constructor(max = 256) {
    this.#aggregates = new LRUCache({max});
  }

  /** `filterCatalog(upstream, catalog, grant)`, one object for the same three. */
  filtered(upstream: string, catalog: UpstreamCatalog, grant: Grant): UpstreamCatalog {
    let byGrant = this.#filtered.get(catalog);
    if (!byGrant) this.#filtered.set(catalog, (byGrant = new WeakMap()));
    let byUpstream = byGrant.get(grant);
    if (!byUpstream) byGrant.set(grant, (byUpstream = new Map()));
    let filtered = byUpstream.get(upstream);
    if (!filtered) byUpstream.set(upstream, (filtered = filterCatalog(upstream, catalog, grant)));
    return filtered;
  }

  /** `aggregateCatalog(parts, naming)`, one object for parts of the same catalog objects, prefixes, groups and order. */
  aggregate(parts: CatalogPart[], naming: Naming): AggregateCatalog {
    const key = [
      naming.kind === 'prefixed' ? `prefixed ${naming.separator}` : 'unchanged',
      ...parts.map(
        (part) =>
          `${part.upstream}\t${part.prefix}\t${part.group?.name ?? ''}\t${part.group?.prefix ?? ''}\t${this.#id(part.catalog)}`,
      ),
    ].join('\n');
    let aggregate = this.#aggregates.get(key);
    if (!aggregate) this.#aggregates.set(key, (aggregate = aggregateCatalog(parts, naming)));
    return aggregate;
  }

  #id(catalog: UpstreamCatalog): number {
    let id = this.#ids.get(catalog);
    if (id === undefined) this.#ids.set(catalog, (id = ++this.#nextId));
    return id;
  }
}
