import {describe, expect, it} from 'vitest';
import type {Principal} from '../../../router/auth/principal.js';
import {AccessRuleSchema, type AccessRule} from '../../../router/config/schema.js';
import {AccessPolicy, filterCatalog, serviceAccountNamespace} from '../../../router/policy/rules.js';

const rule = (input: unknown): AccessRule => AccessRuleSchema.parse(input);
const principal = (name: string, claims: Record<string, unknown> = {}): Principal => ({id: name, name, claims});

const ciBot = principal('ci-bot');
const agent = principal('system:serviceaccount:agents:planner');
const other = principal('system:serviceaccount:default:web');
const platform = principal('alice', {groups: ['platform', 'dev']});

const policy = new AccessPolicy([
  rule({
    principals: ['ci-bot', 'system:serviceaccount:agents:*'],
    upstreams: ['everything'],
    tools: {include: ['*'], exclude: ['get-env']},
  }),
  rule({claims: {groups: ['platform']}, upstreams: ['*']}),
  rule({namespaces: ['readers'], tools: {annotations: {readOnlyHint: true}}, prompts: {include: []}}),
  rule({principals: ['files'], upstreams: ['fs'], resources: {include: ['file:///data/**']}}),
]);

describe('AccessPolicy: which rules apply to a principal', () => {
  it.each([
    [ciBot, true],
    [agent, true],
    [other, false],
    [platform, true],
    [principal('alice', {groups: ['dev']}), false],
    [principal('system:serviceaccount:readers:bot'), true],
    [principal('readers'), false],
  ])('%j: %s', (who, applies) => {
    expect(policy.applies(who)).toBe(applies);
  });
});

describe('AccessPolicy: what a principal may use (deny by default)', () => {
  const reader = principal('system:serviceaccount:readers:bot');
  it.each([
    ['ci-bot, a tool of everything', ciBot, 'tool', 'everything', 'echo', {}, true],
    ['ci-bot, the excluded get-env', ciBot, 'tool', 'everything', 'get-env', {}, false],
    ['ci-bot, another upstream', ciBot, 'tool', 'memory', 'read_graph', {}, false],
    ['an agents ServiceAccount, a prompt', agent, 'prompt', 'everything', 'simple-prompt', {}, true],
    ['default:web, anything', other, 'tool', 'everything', 'echo', {}, false],
    ['a platform group member, get-env', platform, 'tool', 'everything', 'get-env', {}, true],
    ['a reader, a read-only tool', reader, 'tool', 'memory', 'read_graph', {readOnlyHint: true}, true],
    ['a reader, a tool without hints', reader, 'tool', 'memory', 'create_entities', {}, false],
    ['a reader, a prompt (include: [])', reader, 'prompt', 'everything', 'simple-prompt', {}, false],
    ['files, a file under /data', principal('files'), 'resource', 'fs', 'file:///data/a/b.txt', {}, true],
    ['files, a file elsewhere', principal('files'), 'resource', 'fs', 'file:///etc/passwd', {}, false],
    ['files, a template under /data', principal('files'), 'resource', 'fs', 'file:///data/{path}', {}, true],
  ] as const)('%s: %s', (_what, who, kind, upstream, name, annotations, allowed) => {
    const grant = policy.grantFor(who);
    const decided =
      kind === 'tool'
        ? grant.tool(upstream, name, annotations)
        : kind === 'prompt'
          ? grant.prompt(upstream, name)
          : grant.resource(upstream, name);
    expect(decided).toBe(allowed);
  });

  it('grants nothing when no rule applies, not even the upstream', () => {
    expect(policy.grantFor(other).upstream('everything')).toBe(false);
    expect(new AccessPolicy([]).grantFor(ciBot).tool('everything', 'echo')).toBe(false);
  });
});

describe('filterCatalog', () => {
  it('keeps only what the grant allows, by original names, URIs and annotations', () => {
    const reader = policy.grantFor(principal('system:serviceaccount:readers:bot'));
    const catalog = {
      tools: [
        {name: 'read_graph', annotations: {readOnlyHint: true}},
        {name: 'delete_entities', annotations: {destructiveHint: true}},
      ],
      prompts: [{name: 'p'}],
      resources: [{uri: 'memory://graph'}],
      resourceTemplates: [{uriTemplate: 'memory://{id}'}],
    };
    expect(filterCatalog('memory', catalog, reader)).toEqual({
      tools: [{name: 'read_graph', annotations: {readOnlyHint: true}}],
      prompts: [],
      resources: [{uri: 'memory://graph'}],
      resourceTemplates: [{uriTemplate: 'memory://{id}'}],
    });
  });
});

describe('serviceAccountNamespace', () => {
  it.each([
    ['system:serviceaccount:agents:planner', 'agents'],
    ['system:serviceaccount:agents', undefined],
    ['ci-bot', undefined],
    ['system:serviceaccount:a:b:c', undefined],
  ])('%s: %s', (name, namespace) => {
    expect(serviceAccountNamespace(name)).toBe(namespace);
  });
});

describe('AccessRuleSchema', () => {
  it('refuses a rule that says nothing of whom it is for', () => {
    const parsed = AccessRuleSchema.safeParse({upstreams: ['*']});
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe(
      'a rule needs principals, namespaces or claims to say whom it is for',
    );
  });
});
