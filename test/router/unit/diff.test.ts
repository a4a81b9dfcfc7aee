import {describe, expect, it} from 'vitest';
import {parseRouterConfig} from '../../../router/config/load.js';
import {diffUpstreams} from '../../../router/config/diff.js';

const upstreams = (servers: Record<string, unknown>) =>
  parseRouterConfig(JSON.stringify({mcpServers: servers}), {}, 'router.json').upstreams;

describe('diffUpstreams', () => {
  const a = {command: 'a'};
  const b = {type: 'http', url: 'http://b/mcp'};
  it.each([
    ['nothing', {a, b}, {a, b}, {added: [], removed: [], changed: [], unchanged: ['a', 'b']}],
    ['an added server', {a}, {a, b}, {added: ['b'], removed: [], changed: [], unchanged: ['a']}],
    ['a removed server', {a, b}, {b}, {added: [], removed: ['a'], changed: [], unchanged: ['b']}],
    [
      'a changed filter',
      {a, b},
      {a: {...a, tools: {exclude: ['x']}}, b},
      {added: [], removed: [], changed: ['a'], unchanged: ['b']},
    ],
    ['a changed header', {b}, {b: {...b, headers: {X: '1'}}}, {added: [], removed: [], changed: ['b'], unchanged: []}],
    ['a reordered file', {a, b}, {b, a}, {added: [], removed: [], changed: [], unchanged: ['b', 'a']}],
  ])('finds %s', (_what, before, after, expected) => {
    const diff = diffUpstreams(upstreams(before), upstreams(after));
    const names = (list: {name: string}[]) => list.map((u) => u.name);
    expect({
      added: names(diff.added),
      removed: names(diff.removed),
      changed: names(diff.changed),
      unchanged: diff.unchanged,
    }).toEqual(expected);
  });
});
