import {describe, expect, it} from 'vitest';
import {matchesSelector} from '../../../operator/api/selector.js';
import {parseMcpRouter} from '../../../operator/api/types.js';
import {resolveUpstreams} from '../../../operator/controllers/mcprouter/resolve.js';
import {routerResource, upstreamResource} from '../fixtures.js';

describe('matchesSelector', () => {
  it.each([
    ['an empty selector', {}, {}, true],
    ['matching labels', {matchLabels: {team: 'a'}}, {team: 'a', x: 'y'}, true],
    ['a different value', {matchLabels: {team: 'a'}}, {team: 'b'}, false],
    ['In', {matchExpressions: [{key: 'tier', operator: 'In' as const, values: ['1', '2']}]}, {tier: '2'}, true],
    ['In without the key', {matchExpressions: [{key: 'tier', operator: 'In' as const, values: ['1']}]}, {}, false],
    ['NotIn without the key', {matchExpressions: [{key: 'tier', operator: 'NotIn' as const, values: ['1']}]}, {}, true],
    [
      'NotIn with the value',
      {matchExpressions: [{key: 'tier', operator: 'NotIn' as const, values: ['1']}]},
      {tier: '1'},
      false,
    ],
    ['Exists', {matchExpressions: [{key: 'beta', operator: 'Exists' as const}]}, {beta: ''}, true],
    ['DoesNotExist', {matchExpressions: [{key: 'beta', operator: 'DoesNotExist' as const}]}, {beta: ''}, false],
  ])('%s', (_name, selector, labels, expected) => {
    expect(matchesSelector(selector, labels)).toBe(expected);
  });
});

describe('resolveUpstreams', () => {
  const candidates = [
    upstreamResource('zeta', {stdio: {command: 'z'}}, {team: 'a'}),
    upstreamResource('alpha', {http: {url: 'https://a.test/mcp'}}, {team: 'a'}),
    upstreamResource('named', {stdio: {command: 'n'}}),
    upstreamResource('broken', {stdio: {command: 'b'}, http: {url: 'https://b.test/mcp'}}, {team: 'a'}),
    upstreamResource('clash', {stdio: {command: 'c'}, prefix: 'alpha'}, {team: 'a'}),
    upstreamResource('elsewhere', {stdio: {command: 'e'}}, {team: 'a'}, 'team-b'),
  ];
  function router(spec: Record<string, unknown>) {
    const parsed = parseMcpRouter(routerResource('tools', spec));
    if (!parsed.ok) throw new Error('invalid');
    return parsed.value;
  }

  it('selects by label and by name in the router namespace, sorted, and reports what it left out', () => {
    const resolved = resolveUpstreams(
      router({upstreamSelector: {matchLabels: {team: 'a'}}, upstreams: [{name: 'named'}, {name: 'ghost'}]}),
      candidates,
    );
    expect(resolved.selected.map((u) => u.metadata.name)).toEqual(['alpha', 'named', 'zeta']);
    expect(resolved.missing).toEqual(['ghost']);
    expect(resolved.invalid.map((i) => i.name)).toEqual(['broken']);
    expect(resolved.conflicts).toEqual([{name: 'clash', prefix: 'alpha', with: 'alpha'}]);
  });

  it('selects the members of spec.groups as if named, and reports a missing member', () => {
    const resolved = resolveUpstreams(
      router({groups: [{name: 'pair', members: ['named', 'zeta', 'gone']}]}),
      candidates,
    );
    expect(resolved.selected.map((u) => u.metadata.name)).toEqual(['named', 'zeta']);
    expect(resolved.missing).toEqual(['gone']);
  });

  it('selects nothing without a selector or names', () => {
    expect(resolveUpstreams(router({}), candidates).selected).toEqual([]);
  });

  it('treats an upstream being deleted as missing', () => {
    const deleting = {...upstreamResource('named', {stdio: {command: 'n'}})};
    deleting.metadata = {...deleting.metadata, deletionTimestamp: '2026-01-01T00:00:00Z'};
    expect(resolveUpstreams(router({upstreams: [{name: 'named'}]}), [deleting]).missing).toEqual(['named']);
  });
});
