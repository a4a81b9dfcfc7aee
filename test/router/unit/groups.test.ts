import {readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {aggregateCatalog, type CatalogPart, type UpstreamCatalog} from '../../../router/catalog/aggregate.js';
import {parseRouterConfig} from '../../../router/config/load.js';
import type {UpstreamGroupConfig} from '../../../router/config/schema.js';
import {
  ConfigError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  UpstreamUnreachableError,
} from '../../../router/errors.js';
import {CircuitOpenError} from '../../../router/upstream/breaker.js';
import {mayFailOver, memberOrder, type MemberView} from '../../../router/upstream/group.js';

const group = (strategy: UpstreamGroupConfig['strategy'], routes: UpstreamGroupConfig['routes'] = []) => ({
  name: 'search',
  prefix: 'search',
  strategy,
  members: ['a', 'b', 'c'],
  routes,
});

const view = (name: string, over: Partial<MemberView> = {}): MemberView => ({
  name,
  available: true,
  pending: 0,
  exposes: true,
  ...over,
});

describe('memberOrder', () => {
  it.each([
    ['priority: member order', group('priority'), [view('a'), view('b'), view('c')], {turn: 7}, ['a', 'b', 'c']],
    [
      'priority: an unavailable member goes last',
      group('priority'),
      [view('a', {available: false}), view('b'), view('c')],
      {turn: 0},
      ['b', 'c', 'a'],
    ],
    ['roundRobin: turn 0', group('roundRobin'), [view('a'), view('b'), view('c')], {turn: 0}, ['a', 'b', 'c']],
    ['roundRobin: turn 4', group('roundRobin'), [view('a'), view('b'), view('c')], {turn: 4}, ['b', 'c', 'a']],
    [
      'roundRobin: turns over the available members only',
      group('roundRobin'),
      [view('a'), view('b', {available: false}), view('c')],
      {turn: 1},
      ['c', 'a', 'b'],
    ],
    [
      'leastPending: fewest in flight first, ties in member order',
      group('leastPending'),
      [view('a', {pending: 3}), view('b', {pending: 1}), view('c', {pending: 1})],
      {turn: 0},
      ['b', 'c', 'a'],
    ],
    [
      'capability: only members that list the name',
      group('capability'),
      [view('a', {exposes: false}), view('b'), view('c', {exposes: false})],
      {turn: 0},
      ['b'],
    ],
    [
      'capability: among several that list it, the least busy',
      group('capability'),
      [view('a', {pending: 2}), view('b', {exposes: false}), view('c')],
      {turn: 0},
      ['c', 'a'],
    ],
    [
      'no member lists the name',
      group('priority'),
      [view('a', {exposes: false}), view('b', {exposes: false}), view('c', {exposes: false})],
      {turn: 0},
      [],
    ],
    [
      'sticky member first, when available',
      group('roundRobin'),
      [view('a'), view('b'), view('c')],
      {turn: 0, sticky: 'c'},
      ['c', 'a', 'b'],
    ],
    [
      'an unavailable sticky member is left for the others',
      group('priority'),
      [view('a'), view('b'), view('c', {available: false})],
      {turn: 0, sticky: 'c'},
      ['a', 'b', 'c'],
    ],
    [
      'an explicit route wins over the strategy, in its own order',
      group('roundRobin', [{tools: ['write_*'], upstreams: ['c', 'a']}]),
      [view('a'), view('b'), view('c')],
      {turn: 1, tool: 'write_file'},
      ['c', 'a'],
    ],
    [
      'a tool no route matches follows the strategy',
      group('roundRobin', [{tools: ['write_*'], upstreams: ['c']}]),
      [view('a'), view('b'), view('c')],
      {turn: 1, tool: 'read_file'},
      ['b', 'c', 'a'],
    ],
  ])('%s', (_title, config, views, request, expected) => {
    expect(memberOrder(config, views, request)).toEqual(expected);
  });
});

describe('mayFailOver', () => {
  const unreachable = new UpstreamUnavailableError('a', 'it did not answer a ping');
  it.each([
    ['unreachable, never sent', unreachable, {sent: false, repeatable: false}, true],
    ['circuit open', new CircuitOpenError('a', 'circuit open'), {sent: false, repeatable: false}, true],
    ['lost while in flight, not repeatable', unreachable, {sent: true, repeatable: false}, false],
    ['lost while in flight, repeatable (a read)', unreachable, {sent: true, repeatable: true}, true],
    [
      'refused at connect, so never sent',
      new UpstreamUnreachableError('a', 'fetch failed'),
      {sent: true, repeatable: false},
      true,
    ],
    [
      'timed out, not repeatable',
      new UpstreamTimeoutError('a', 'tools/call', 1, 'idle'),
      {sent: true, repeatable: false},
      false,
    ],
    ['an answer of the upstream', new UpstreamError('a', -32602, 'bad'), {sent: true, repeatable: true}, false],
  ])('%s', (_title, error, facts, expected) => {
    expect(mayFailOver(error, facts)).toBe(expected);
  });
});

const catalog = (tools: string[], resources: string[] = []): UpstreamCatalog => ({
  tools: tools.map((name) => ({name, description: name})),
  prompts: [],
  resources: resources.map((uri) => ({uri, name: uri})),
  resourceTemplates: [],
});

describe('aggregateCatalog with a group', () => {
  const inGroup = {name: 'search', prefix: 'search'};
  const parts: CatalogPart[] = [
    {upstream: 'a', prefix: 'a', catalog: catalog(['echo', 'only_a'], ['demo://x']), group: inGroup},
    {upstream: 'b', prefix: 'b', catalog: catalog(['echo', 'only_b'], ['demo://x']), group: inGroup},
    {upstream: 'other', prefix: 'other', catalog: catalog(['echo'], ['demo://x'])},
  ];
  const aggregate = aggregateCatalog(parts, {kind: 'prefixed', separator: '__'});

  it('lists the union of the members under the group prefix, a shared name once', () => {
    expect(aggregate.tools.map((t) => t.name)).toEqual([
      'search__echo',
      'search__only_a',
      'search__only_b',
      'other__echo',
    ]);
    expect(aggregate.toolRoutes.get('search__only_b')).toEqual({upstream: 'search', target: 'only_b'});
  });

  it('records which members list each tool, in member order', () => {
    const tools = aggregate.groups.get('search')?.tools;
    expect(tools?.get('echo')).toEqual(['a', 'b']);
    expect(tools?.get('only_b')).toEqual(['b']);
  });

  it('lists a resource the members share once, routed to the group; another upstream gets the prefixed URI', () => {
    expect(aggregate.resources.map((r) => r.uri)).toEqual(['demo://x', 'other+demo://x']);
    expect(aggregate.resourceRoutes.get('demo://x')).toEqual({upstream: 'search', target: 'demo://x'});
  });
});

describe('router.groups in router.json', () => {
  const servers = {
    a: {command: 'node'},
    b: {command: 'node'},
    c: {command: 'node', disabled: true},
  };
  const parse = (groups: unknown) =>
    parseRouterConfig(JSON.stringify({mcpServers: servers, router: {groups}}), {}, 'router.json');
  const issues = (groups: unknown) => {
    try {
      parse(groups);
      return [];
    } catch (error) {
      return (error as ConfigError).issues;
    }
  };

  it('normalizes a group: default strategy priority, prefix the group name, disabled members left out', () => {
    expect(parse({search: {members: ['a', 'b', 'c']}}).groups).toEqual([
      {name: 'search', prefix: 'search', strategy: 'priority', members: ['a', 'b'], routes: []},
    ]);
  });

  it('reads examples/groups-config.json, the README example, as it says', () => {
    const text = readFileSync(new URL('../../../examples/groups-config.json', import.meta.url), 'utf8');
    expect(parseRouterConfig(text, {}, 'examples/groups-config.json').groups).toEqual([
      {
        name: 'everything',
        prefix: 'everything',
        strategy: 'roundRobin',
        members: ['everything-a', 'everything-b'],
        routes: [{tools: ['trigger-*'], upstreams: ['everything-a']}],
      },
      {name: 'kit', prefix: 'kit', strategy: 'capability', members: ['memory', 'files'], routes: []},
    ]);
  });

  it('takes a server that remove_upstream removed out of its group, and a group left empty goes', () => {
    const text = JSON.stringify({
      mcpServers: servers,
      router: {management: {register: true}, groups: {pair: {members: ['a', 'b']}, solo: {members: ['b']}}},
    });
    const config = parseRouterConfig(text, {}, 'router.json', {mcpServers: {}, removed: ['b']});
    expect(config.groups.map((g) => [g.name, g.members])).toEqual([['pair', ['a']]]);
  });

  it.each([
    ['an unknown member', {g: {members: ['a', 'nosuch']}}, 'router.groups.g.members.1', '"nosuch" is not a server'],
    [
      'a member of two groups',
      {g: {members: ['a']}, h: {members: ['a']}},
      'router.groups.h.members.0',
      'already a member of "g"',
    ],
    ['a group named as a server', {a: {members: ['b']}}, 'router.groups.a', 'already the name of a server'],
    [
      'a route to a non-member',
      {g: {members: ['a'], routes: [{tools: ['x*'], upstreams: ['b']}]}},
      'router.groups.g.routes.0.upstreams',
      '"b" is not a member',
    ],
    [
      'a prefix of a server outside the group',
      {g: {members: ['a'], prefix: 'b'}},
      'router.groups.g.prefix',
      'already used by "b"',
    ],
    ['an unknown strategy', {g: {members: ['a'], strategy: 'random'}}, 'router.groups.g.strategy', ''],
  ])('names %s with its path', (_title, groups, path, message) => {
    const found = issues(groups).find((issue) => issue.path === path);
    expect(found?.message).toContain(message);
  });
});
