import {describe, expect, it} from 'vitest';
import {parseRouterConfig} from '../../../router/config/load.js';
import {overlayFile, withOverlay, withoutServer, withServer, EMPTY_OVERLAY} from '../../../router/config/overlay.js';
import {ConfigError} from '../../../router/errors.js';
import {adminRefusal} from '../../../router/management/admin.js';
import {upstreamHealth, upstreamReport} from '../../../router/management/report.js';

const parse = (config: unknown, overlay?: Parameters<typeof parseRouterConfig>[3]) =>
  parseRouterConfig(JSON.stringify(config), {}, 'router.json', overlay);
const names = (config: unknown, overlay?: Parameters<typeof parseRouterConfig>[3]) =>
  parse(config, overlay).upstreams.map((u) => `${u.name}:${u.transport}`);

describe('router.management in the config', () => {
  it('adds the built-in upstream "router" last when enabled, and nothing when not', () => {
    const servers = {mcpServers: {a: {command: 'node'}}};
    expect(names(servers)).toEqual(['a:stdio']);
    expect(names({...servers, router: {management: {enabled: true}}})).toEqual(['a:stdio', 'router:builtin']);
    expect(parse({...servers, router: {management: {enabled: true, register: true}}}).upstreams[1]).toMatchObject({
      name: 'router',
      prefix: 'router',
      session: 'perSession',
      register: true,
    });
  });

  it.each([
    ['a server named router', {router: {command: 'node'}}],
    ['a server with the prefix router', {other: {command: 'node', prefix: 'router'}}],
  ])('refuses %s while management is enabled', (_what, mcpServers) => {
    expect(() => parse({mcpServers, router: {management: {enabled: true}}})).toThrow(ConfigError);
    expect(() => parse({mcpServers})).not.toThrow();
  });

  it('applies the overlay only when register is on', () => {
    const overlay = {mcpServers: {added: {command: 'node'}}, removed: ['a']};
    const base = {mcpServers: {a: {command: 'node'}, b: {command: 'node'}}};
    expect(names(base, overlay)).toEqual(['a:stdio', 'b:stdio']);
    expect(names({...base, router: {management: {enabled: true, register: true}}}, overlay)).toEqual([
      'b:stdio',
      'added:stdio',
      'router:builtin',
    ]);
  });
});

describe('the overlay', () => {
  it.each([
    ['router.json', 'router.overlay.json'],
    ['/etc/mcp', '/etc/mcp.overlay.json'],
  ])('of %s is %s', (file, expected) => expect(overlayFile(file)).toBe(expected));

  it('adds to the key the config uses (servers for VS Code), replaces by name, and removes', () => {
    const overlay = {mcpServers: {b: {url: 'https://b'}, c: {url: 'https://c'}}, removed: ['a']};
    expect(withOverlay({servers: {a: {}, b: {}}}, overlay)).toEqual({
      servers: {b: {url: 'https://b'}, c: {url: 'https://c'}},
    });
  });

  it('records a removal only for a server of the config, and undoes it on a new registration', () => {
    const added = withServer(EMPTY_OVERLAY, 'x', {command: 'node'});
    expect(withoutServer(added, 'x', false)).toEqual(EMPTY_OVERLAY);
    const removed = withoutServer(EMPTY_OVERLAY, 'base', true);
    expect(removed).toEqual({mcpServers: {}, removed: ['base']});
    expect(withoutServer(removed, 'base', true)).toEqual(removed);
    expect(withServer(removed, 'base', {command: 'node'})).toEqual({
      mcpServers: {base: {command: 'node'}},
      removed: [],
    });
  });
});

describe('adminRefusal', () => {
  const principal = (name: string) => ({id: `bearer:${name}`, name, claims: {}});
  it.each([
    ['an admin, with auth', 'alice', {auth: true, admins: ['alice'], localOnly: false}, true],
    ['an admin by glob', 'ops-1', {auth: true, admins: ['ops-*'], localOnly: false}, true],
    ['a principal not among the admins', 'bob', {auth: true, admins: ['alice'], localOnly: false}, false],
    ['anyone, with auth and no admins', 'alice', {auth: true, admins: [], localOnly: true}, false],
    ['anonymous, without auth, on loopback', 'anonymous', {auth: false, admins: [], localOnly: true}, true],
    // Regression guard: register_upstream starts commands; without auth on a network it would let anyone run them.
    ['anonymous, without auth, beyond loopback', 'anonymous', {auth: false, admins: [], localOnly: false}, false],
  ])('%s: allowed %s', (_what, name, policy, allowed) => {
    expect(adminRefusal(principal(name), policy) === undefined).toBe(allowed);
  });
});

describe('upstreamHealth', () => {
  const status = {
    name: 'gh',
    transport: 'streamableHttp' as const,
    session: 'perSession' as const,
    state: 'down' as const,
    circuit: 'open' as const,
    error: 'failed to connect: fetch failed',
    lastError: 'failed to connect: fetch failed',
    since: '2026-01-01T00:00:00.000Z',
  };

  it('reports the median in ms, null without calls, and the last error', () => {
    const health = upstreamHealth(status, {tools: 3, inFlight: 2, p50Seconds: 0.01234});
    expect(health).toEqual({
      name: 'gh',
      transport: 'streamableHttp',
      era: null,
      state: 'down',
      circuit: 'open',
      tools: 3,
      inFlight: 2,
      p50Ms: 12.3,
      lastError: 'failed to connect: fetch failed',
      group: null,
      session: 'perSession',
      since: '2026-01-01T00:00:00.000Z',
    });
    expect(upstreamHealth(status, {tools: 0, inFlight: 0, p50Seconds: Number.NaN}).p50Ms).toBeNull();
    expect(upstreamHealth(status, {group: 'search', tools: 0, inFlight: 0, p50Seconds: 0}).group).toBe('search');
    expect(upstreamHealth({...status, era: 'modern'}, {tools: 0, inFlight: 0, p50Seconds: 0}).era).toBe('modern');
    expect(
      upstreamHealth({...status, lastError: undefined}, {tools: 0, inFlight: 0, p50Seconds: undefined}),
    ).toMatchObject({p50Ms: null, lastError: null});
    expect(Object.keys(upstreamReport(health))).toEqual([
      'name',
      'transport',
      'era',
      'state',
      'circuit',
      'tools',
      'inFlight',
      'p50Ms',
      'lastError',
      'group',
    ]);
  });
});
