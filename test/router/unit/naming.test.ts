import {describe, expect, it} from 'vitest';
import {aggregateCatalog, resolveResource, type CatalogPart} from '../../../router/catalog/aggregate.js';
import {toolFilter} from '../../../router/catalog/filter.js';
import {AGGREGATED_NAME_PATTERN, aggregatedName, splitPrefixedUri} from '../../../router/catalog/naming.js';

describe('aggregatedName', () => {
  it.each([
    ['github', '__', 'search_issues', 'github__search_issues'],
    ['fs', '-', 'read', 'fs-read'],
    ['a', '__', 'x'.repeat(61), `a__${'x'.repeat(61)}`],
  ])('keeps %s%s%s as it is when it fits', (prefix, separator, name, expected) => {
    expect(aggregatedName(prefix, separator, name)).toBe(expected);
  });

  it.each([
    ['a', '__', 'x'.repeat(62)],
    ['svc', '__', 'tool.with.dots'],
    ['svc', '__', 'ünïcode name'],
    ['p'.repeat(32), '__', 'y'.repeat(40)],
  ])('shortens or cleans %s %s %s into a valid, stable name', (prefix, separator, name) => {
    const result = aggregatedName(prefix, separator, name);
    expect(result).toMatch(AGGREGATED_NAME_PATTERN);
    expect(result).toMatch(/-[0-9a-f]{8}$/);
    expect(aggregatedName(prefix, separator, name)).toBe(result);
  });

  it('gives different long names different results', () => {
    const a = aggregatedName('svc', '__', `${'x'.repeat(70)}a`);
    const b = aggregatedName('svc', '__', `${'x'.repeat(70)}b`);
    expect(a).not.toBe(b);
  });
});

describe('toolFilter', () => {
  it.each([
    [{include: [], exclude: []}, 'anything', true],
    [{include: ['search_*'], exclude: []}, 'search_code', true],
    [{include: ['search_*'], exclude: []}, 'delete_repo', false],
    [{include: [], exclude: ['delete_*']}, 'delete_repo', false],
    [{include: ['*'], exclude: ['delete_*']}, 'create_repo', true],
    [{include: ['read_{file,text_file}'], exclude: []}, 'read_text_file', true],
  ])('%j on %s is %s', (filter, name, kept) => {
    expect(toolFilter(filter)(name)).toBe(kept);
  });
});

const part = (upstream: string, prefix: string, catalog: Partial<CatalogPart['catalog']>): CatalogPart => ({
  upstream,
  prefix,
  catalog: {tools: [], prompts: [], resources: [], resourceTemplates: [], ...catalog},
});

describe('aggregateCatalog', () => {
  const parts = [
    part('one', 'a', {
      tools: [{name: 'echo', description: 'first', extra: {kept: true}}],
      prompts: [{name: 'hello'}],
      resources: [{uri: 'demo://doc/1', name: 'doc'}],
      resourceTemplates: [{uriTemplate: 'demo://item/{id}', name: 'item'}],
    }),
    part('two', 'b', {
      tools: [{name: 'echo'}],
      resources: [
        {uri: 'demo://doc/1', name: 'doc'},
        {uri: 'file:///x', name: 'x'},
      ],
      resourceTemplates: [{uriTemplate: 'demo://item/{id}', name: 'item'}],
    }),
  ];
  const catalog = aggregateCatalog(parts, {kind: 'prefixed', separator: '__'});

  it('prefixes tool and prompt names and keeps every other field', () => {
    expect(catalog.tools).toEqual([{name: 'a__echo', description: 'first', extra: {kept: true}}, {name: 'b__echo'}]);
    expect(catalog.toolRoutes.get('b__echo')).toEqual({upstream: 'two', target: 'echo'});
    expect(catalog.promptRoutes.get('a__hello')).toEqual({upstream: 'one', target: 'hello'});
  });

  it('prefixes the later of two colliding resource URIs and templates with <prefix>+', () => {
    expect(catalog.resources.map((r) => r.uri)).toEqual(['demo://doc/1', 'b+demo://doc/1', 'file:///x']);
    expect(catalog.resourceTemplates.map((t) => t.uriTemplate)).toEqual(['demo://item/{id}', 'b+demo://item/{id}']);
  });

  it.each([
    ['demo://doc/1', {upstream: 'one', target: 'demo://doc/1'}],
    ['b+demo://doc/1', {upstream: 'two', target: 'demo://doc/1'}],
    ['demo://item/42', {upstream: 'one', target: 'demo://item/42'}],
    ['b+demo://item/42', {upstream: 'two', target: 'demo://item/42'}],
    ['file:///y', {upstream: 'two', target: 'file:///y'}],
    ['unknown://z', undefined],
  ])('routes %s', (uri, route) => {
    expect(resolveResource(catalog, uri)).toEqual(route);
  });

  it('keeps names unchanged for a single-upstream endpoint', () => {
    const single = aggregateCatalog([parts[0] as CatalogPart], {kind: 'unchanged'});
    expect(single.tools.map((t) => t.name)).toEqual(['echo']);
  });

  it('splits only URIs of the <prefix>+ form', () => {
    expect(splitPrefixedUri('b+demo://x')).toEqual({prefix: 'b', uri: 'demo://x'});
    expect(splitPrefixedUri('demo://x')).toBeUndefined();
  });
});
