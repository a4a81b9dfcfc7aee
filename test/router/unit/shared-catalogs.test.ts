import {describe, expect, it} from 'vitest';
import type {Principal} from '../../../router/auth/principal.js';
import type {UpstreamCatalog} from '../../../router/catalog/aggregate.js';
import {SharedCatalogs} from '../../../router/catalog/shared.js';
import {AccessRuleSchema} from '../../../router/config/schema.js';
import {AccessPolicy, GRANT_ALL} from '../../../router/policy/rules.js';

// Sessions that see the same thing share one catalog: the memory of a session does not grow with the catalog.
const principal = (name: string): Principal => ({id: name, name, claims: {}});
const catalog = (...tools: string[]): UpstreamCatalog => ({
  tools: tools.map((name) => ({name, inputSchema: {type: 'object'}})),
  prompts: [],
  resources: [],
  resourceTemplates: [],
});
const PREFIXED = {kind: 'prefixed', separator: '__'} as const;

describe('SharedCatalogs', () => {
  it('gives sessions with the same upstream catalogs, grant and naming one aggregate', () => {
    const catalogs = new SharedCatalogs();
    const everything = catalog('echo', 'get-sum');
    const parts = () => [{upstream: 'everything', prefix: 'everything', catalog: everything}];
    const first = catalogs.aggregate(parts(), PREFIXED);
    expect(first.tools.map((tool) => tool.name)).toEqual(['everything__echo', 'everything__get-sum']);
    expect(catalogs.aggregate(parts(), PREFIXED)).toBe(first);
    expect(catalogs.aggregate(parts(), {kind: 'unchanged'})).not.toBe(first);
  });

  it('builds a new aggregate when an upstream replaces its catalog (list_changed)', () => {
    const catalogs = new SharedCatalogs();
    const before = catalogs.aggregate([{upstream: 'u', prefix: 'u', catalog: catalog('a')}], PREFIXED);
    const after = catalogs.aggregate([{upstream: 'u', prefix: 'u', catalog: catalog('a', 'b')}], PREFIXED);
    expect(after).not.toBe(before);
    expect(after.tools.map((tool) => tool.name)).toEqual(['u__a', 'u__b']);
  });

  it('filters a catalog once per grant, and principals under the same rules share the grant', () => {
    const policy = new AccessPolicy([
      AccessRuleSchema.parse({principals: ['alice', 'bob'], upstreams: ['u'], tools: {include: ['a']}}),
      AccessRuleSchema.parse({principals: ['carol'], upstreams: ['u']}),
    ]);
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((name) => policy.grantFor(principal(name)));
    expect(bob).toBe(alice);
    expect(carol).not.toBe(alice);
    const catalogs = new SharedCatalogs();
    const upstream = catalog('a', 'b');
    const seenByAlice = catalogs.filtered('u', upstream, alice!);
    expect(seenByAlice.tools.map((tool) => tool.name)).toEqual(['a']);
    expect(catalogs.filtered('u', upstream, bob!)).toBe(seenByAlice);
    expect(catalogs.filtered('u', upstream, carol!).tools.map((tool) => tool.name)).toEqual(['a', 'b']);
    expect(catalogs.filtered('u', upstream, GRANT_ALL)).toBe(upstream);
  });
});
