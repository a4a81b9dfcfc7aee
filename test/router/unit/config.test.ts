import {readFile} from 'node:fs/promises';
import {describe, expect, it} from 'vitest';
import {interpolate, parseRouterConfig} from '../../../router/config/load.js';
import {ConfigError} from '../../../router/errors.js';

const parse = (config: unknown, env: Record<string, string> = {}) =>
  parseRouterConfig(JSON.stringify(config), env, 'router.json');

function issuesOf(config: unknown, env: Record<string, string> = {}): string[] {
  try {
    parse(config, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

describe('parseRouterConfig', () => {
  it.each([
    ['Claude Desktop stdio', {command: 'npx', args: ['-y', 'x']}, {transport: 'stdio', session: 'shared'}],
    ['Claude Code http', {type: 'http', url: 'https://h/mcp'}, {transport: 'streamableHttp', session: 'perSession'}],
    ['VS Code / SDK spelling', {type: 'streamable-http', url: 'https://h/mcp'}, {transport: 'streamableHttp'}],
    ['Claude Code sse', {type: 'sse', url: 'https://h/sse'}, {transport: 'sse'}],
    ['Cursor url only (path /sse)', {url: 'https://h/sse'}, {transport: 'sse'}],
    ['Cursor url only (path /mcp)', {url: 'https://h/mcp'}, {transport: 'streamableHttp'}],
    ['Windsurf serverUrl', {serverUrl: 'https://h/mcp'}, {transport: 'streamableHttp', url: 'https://h/mcp'}],
    ['VS Code stdio with type', {type: 'stdio', command: 'node'}, {transport: 'stdio'}],
  ])('accepts the %s spelling', (_name, server, expected) => {
    expect(parse({mcpServers: {s: server}}).upstreams[0]).toMatchObject(expected);
  });

  it('accepts the VS Code "servers" key', () => {
    expect(parse({servers: {s: {command: 'node'}}}).upstreams.map((u) => u.name)).toEqual(['s']);
  });

  it('applies defaults, prefix from the key, and skips disabled servers', () => {
    const config = parse({mcpServers: {'my.server': {command: 'node'}, off: {command: 'node', disabled: true}}});
    expect(config.upstreams).toEqual([
      {
        name: 'my.server',
        prefix: 'my_server',
        transport: 'stdio',
        session: 'shared',
        command: 'node',
        args: [],
        env: {},
        tools: {include: [], exclude: []},
        timeouts: {connectSeconds: 10, callSeconds: 60, maxCallSeconds: 600, tools: {}},
        circuitBreaker: {consecutiveFailures: 5, halfOpenAfterSeconds: 30},
        retries: {maxAttempts: 3, backoffSeconds: 0.2, maxBackoffSeconds: 5, toolCalls: false},
      },
    ]);
    expect(config.router.toolNameSeparator).toBe('__');
  });

  it('interpolates ${VAR} and ${VAR:-default} in values', () => {
    const config = parse(
      {mcpServers: {s: {type: 'http', url: 'https://${HOST}/mcp', headers: {Authorization: 'Bearer ${TOKEN:-none}'}}}},
      {HOST: 'example.com'},
    );
    expect(config.upstreams[0]).toMatchObject({
      url: 'https://example.com/mcp',
      headers: {Authorization: 'Bearer none'},
    });
  });

  it.each([
    [{}, 'mcpServers: the config needs an mcpServers (or servers) object'],
    [{mcpServers: {s: {}}}, 'mcpServers.s.url: a server needs either a command (stdio) or a url (http, sse)'],
    [{mcpServers: {s: {command: 'x', bogus: 1}}}, 'mcpServers.s: Unrecognized key: "bogus"'],
    [
      {mcpServers: {s: {type: 'http'}}},
      'mcpServers.s.url: a server needs either a command (stdio) or a url (http, sse)',
    ],
    [{mcpServers: {s: {url: 'ftp://h'}}}, 'mcpServers.s.url: Invalid URL'],
    [{mcpServers: {s: {command: 'x', prefix: 'bad prefix'}}}, 'mcpServers.s.prefix: must match ^[a-zA-Z0-9_-]{1,32}$'],
    [
      {mcpServers: {s: {command: 'x', session: 'pooled'}}},
      'mcpServers.s.session: Invalid option: expected one of "perSession"|"shared"',
    ],
    [
      {mcpServers: {s: {command: 'x', timeouts: {callSeconds: -1}}}},
      'mcpServers.s.timeouts.callSeconds: Too small: expected number to be >0',
    ],
    [
      {mcpServers: {a: {command: 'x', prefix: 'p'}, b: {command: 'y', prefix: 'p'}}},
      'mcpServers.b.prefix: prefix "p" is already used by "a"',
    ],
    [{mcpServers: {s: {command: '${MISSING}'}}}, 'mcpServers.s.command: environment variable MISSING is not set'],
    [
      {mcpServers: {s: {command: 'x', output: {maxResultTokens: 10}}}},
      'mcpServers.s.output.maxResultTokens: Too small: expected number to be >=256',
    ],
    [
      {mcpServers: {s: {command: 'x'}}, router: {output: {keepSeconds: 0}}},
      'router.output.keepSeconds: Too small: expected number to be >0',
    ],
  ])('rejects %j with its path and reason', (config, issue) => {
    expect(issuesOf(config)).toContain(issue);
  });

  it('reads examples/output-caps-config.json, the README example of output caps', async () => {
    const text = await readFile('examples/output-caps-config.json', 'utf8');
    const config = parseRouterConfig(text, {}, 'examples/output-caps-config.json');
    expect(config.upstreams.find((u) => u.name === 'filesystem')?.output).toEqual({maxResultTokens: 4000});
    expect(config.router.output).toMatchObject({minifyJson: true, keepSeconds: 300});
  });

  it('rejects text that is not JSON', () => {
    expect(() => parseRouterConfig('{', {}, 'router.json')).toThrow(/router.json[\s\S]*not valid JSON/);
  });
});

describe('interpolate', () => {
  it('leaves keys alone and reports every unset variable', () => {
    const {value, issues} = interpolate({'${K}': ['${A}', '${B}']}, {A: '1'});
    expect(value).toEqual({'${K}': ['1', '${B}']});
    expect(issues).toEqual([{path: '${K}.1', message: 'environment variable B is not set'}]);
  });
});
