import {describe, expect, it} from 'vitest';
import {compositeRefusal, stepRoutes} from '../../../router/composites/access.js';
import {planComposite, readySteps} from '../../../router/composites/plan.js';
import {CompositeSchema} from '../../../router/composites/schema.js';
import {
  parseReference,
  renderTemplate,
  TemplateError,
  type TemplateContext,
} from '../../../router/composites/template.js';
import {parseRouterConfig} from '../../../router/config/load.js';
import {ConfigError} from '../../../router/errors.js';
import {AccessPolicy, GRANT_ALL} from '../../../router/policy/rules.js';

// The pure parts of composite tools: references, templates, the plan (which step waits for which), access.

describe('parseReference', () => {
  it.each([
    ['input.pattern', {root: 'input', path: ['pattern']}],
    [' input ', {root: 'input', path: []}],
    ['input.a[2].b-c', {root: 'input', path: ['a', 2, 'b-c']}],
    ['steps.search.text', {root: 'step', step: 'search', path: ['text']}],
    [
      'steps.s-1.structuredContent.entities[0].name',
      {root: 'step', step: 's-1', path: ['structuredContent', 'entities', 0, 'name']},
    ],
  ])('reads {{%s}}', (text, reference) => {
    expect(parseReference(text)).toEqual(reference);
  });

  it.each([
    ['output.x', /is not a reference/],
    ['steps', /is not a reference/],
    ['input..a', /is not a reference/],
    ['steps.search', /a step's result has structuredContent, content, text, isError/],
    ['steps.search.result', /a step's result has/],
  ])('refuses {{%s}}', (text, message) => {
    expect(parseReference(text)).toMatch(message);
  });
});

describe('renderTemplate', () => {
  const context: TemplateContext = {
    input: {pattern: '*.md', limit: 3, tags: ['a', 'b']},
    steps: {
      search: {
        structuredContent: {entities: [{name: 'x'}]},
        content: [{type: 'text', text: 'one'}],
        text: 'one',
        isError: false,
      },
    },
  };

  it.each([
    ['a whole reference keeps its type', {n: '{{input.limit}}'}, {n: 3}],
    ['an object stays an object', {e: '{{steps.search.structuredContent.entities[0]}}'}, {e: {name: 'x'}}],
    ['a reference in text becomes text', {q: 'find {{input.pattern}} ({{input.limit}})'}, {q: 'find *.md (3)'}],
    ['a non-string in text becomes JSON', {q: 'tags: {{input.tags}}'}, {q: 'tags: ["a","b"]'}],
    ['a whole reference that finds nothing leaves its key out', {a: '{{input.missing}}', b: 1}, {b: 1}],
    [
      'arrays and nesting',
      {list: ['{{steps.search.text}}', {deep: '{{input.tags[1]}}'}]},
      {list: ['one', {deep: 'b'}]},
    ],
    [
      'other values pass as they are',
      {n: 1, t: true, z: null, s: 'no braces'},
      {n: 1, t: true, z: null, s: 'no braces'},
    ],
  ])('%s', (_name, template, rendered) => {
    expect(renderTemplate(template, context)).toEqual(rendered);
  });

  it.each([
    ['in text', {q: 'find {{input.missing}}'}, /\{\{input\.missing\}\} found nothing/],
    ['in an array', {q: ['{{steps.search.structuredContent.nope}}']}, /found nothing/],
  ])('a reference that finds nothing %s is an error that names it', (_name, template, message) => {
    expect(() => renderTemplate(template, context)).toThrow(TemplateError);
    expect(() => renderTemplate(template, context)).toThrow(message);
  });
});

describe('planComposite', () => {
  it('makes a step wait for the steps it reads and those it names in after; the others run at once', () => {
    const {dependencies, issues} = planComposite([
      {id: 'a', arguments: {}},
      {id: 'b', arguments: {x: '{{input.x}}'}},
      {id: 'c', arguments: {x: '{{steps.a.text}} and {{steps.b.structuredContent.y}}'}},
      {id: 'd', arguments: {}, after: ['c']},
    ]);
    expect(issues).toEqual([]);
    expect(Object.fromEntries(dependencies)).toEqual({a: [], b: [], c: ['a', 'b'], d: ['c']});
    expect(readySteps(dependencies, new Set(), new Set())).toEqual(['a', 'b']);
    expect(readySteps(dependencies, new Set(['a', 'b']), new Set(['a']))).toEqual([]);
    expect(readySteps(dependencies, new Set(['a', 'b']), new Set(['a', 'b']))).toEqual(['c']);
  });

  it.each([
    [
      'a duplicate id',
      [
        {id: 'a', arguments: {}},
        {id: 'a', arguments: {}},
      ],
      undefined,
      ['steps', 1, 'id'],
      /used twice/,
    ],
    [
      'an unknown step',
      [{id: 'a', arguments: {q: ['{{steps.b.text}}']}}],
      undefined,
      ['steps', 0, 'arguments', 'q', 0],
      /there is no step "b"/,
    ],
    [
      'its own result',
      [{id: 'a', arguments: {q: '{{steps.a.text}}'}}],
      undefined,
      ['steps', 0, 'arguments', 'q'],
      /its own result/,
    ],
    [
      'a bad reference',
      [{id: 'a', arguments: {q: '{{env.HOME}}'}}],
      undefined,
      ['steps', 0, 'arguments', 'q'],
      /not a reference/,
    ],
    [
      'an unknown after',
      [{id: 'a', arguments: {}, after: ['z']}],
      undefined,
      ['steps', 0, 'after', 0],
      /no other step "z"/,
    ],
    [
      'a cycle',
      [
        {id: 'a', arguments: {q: '{{steps.b.text}}'}},
        {id: 'b', arguments: {}, after: ['a']},
      ],
      undefined,
      ['steps', 0],
      /steps "a", "b" wait for each other/,
    ],
    [
      'an output of an unknown step',
      [{id: 'a', arguments: {}}],
      {r: '{{steps.z.text}}'},
      ['output', 'r'],
      /no step "z"/,
    ],
  ])('names the path of %s', (_name, steps, output, path, message) => {
    const {issues} = planComposite(steps, output);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(path);
    expect(issues[0]?.message).toMatch(message);
  });
});

describe('a composite in router.json', () => {
  const config = (composites: unknown) =>
    JSON.stringify({
      mcpServers: {memory: {command: 'node', args: ['memory.js']}, files: {command: 'node', args: ['fs.js']}},
      router: {composites},
    });
  const step = (tool: string, args: object = {}) => ({id: 'one', tool, arguments: args});

  it('adds the built-in upstream "composite" with each composite’s timeout', () => {
    const parsed = parseRouterConfig(
      config({remember: {description: 'd', steps: [step('memory__create_entities')], timeoutSeconds: 30}}),
      {},
      'router.json',
    );
    const builtin = parsed.upstreams.at(-1);
    expect(builtin).toMatchObject({
      name: 'composite',
      prefix: 'composite',
      transport: 'builtin',
      session: 'perSession',
    });
    expect(builtin?.timeouts.tools.remember).toEqual({callSeconds: 30, maxCallSeconds: 30});
  });

  it.each([
    [
      'a step of no upstream',
      {x: {description: 'd', steps: [step('github__search')]}},
      'router.composites.x.steps.0.tool',
      /no upstream's/,
    ],
    [
      'a step that calls a composite',
      {x: {description: 'd', steps: [step('composite__x')]}},
      'router.composites.x.steps.0.tool',
      /not another composite/,
    ],
    [
      'a reference to no step',
      {x: {description: 'd', steps: [step('memory__read_graph', {note: '{{steps.nope.text}}'})]}},
      'router.composites.x.steps.0.arguments.note',
      /there is no step "nope"/,
    ],
    [
      'a name that is too long',
      {['x'.repeat(49)]: {description: 'd', steps: [step('memory__read_graph')]}},
      'router.composites',
      /\^\[a-zA-Z0-9_-\]\{1,48\}\$/,
    ],
    [
      'an input schema that is not an object',
      {x: {description: 'd', inputSchema: {type: 'string'}, steps: [step('memory__read_graph')]}},
      'router.composites.x.inputSchema.type',
      /object/,
    ],
    ['no steps', {x: {description: 'd', steps: []}}, 'router.composites.x.steps', /at least 1|>=1/],
    ['a missing description', {x: {steps: [step('memory__read_graph')]}}, 'router.composites.x.description', /string/],
  ])('rejects %s, naming its path', (_name, composites, path, message) => {
    let error: unknown;
    try {
      parseRouterConfig(config(composites), {}, 'router.json');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issue = (error as ConfigError).issues.find((i) => i.path.startsWith(path));
    expect(issue, JSON.stringify((error as ConfigError).issues)).toBeDefined();
    expect(issue?.message).toMatch(message);
  });

  it('rejects a server that takes the name "composite"', () => {
    const text = JSON.stringify({
      mcpServers: {composite: {command: 'node'}},
      router: {composites: {x: {description: 'd', steps: [step('composite__x')]}}},
    });
    expect(() => parseRouterConfig(text, {}, 'router.json')).toThrow(
      /mcpServers\.composite: the name and prefix "composite"/,
    );
  });
});

describe('who may run a composite', () => {
  const composite = CompositeSchema.parse({
    description: 'd',
    steps: [
      {id: 'find', tool: 'files__search_files'},
      {id: 'note', tool: 'memory__create_entities'},
    ],
  });
  const upstreams = [
    {name: 'files', prefix: 'files', tools: [{name: 'search_files', annotations: {readOnlyHint: true}}]},
    {name: 'memory', prefix: 'memory', tools: []},
  ];
  const route = (tool: string) => stepRoutes(tool, upstreams, '__');
  const policy = new AccessPolicy([
    {principals: ['all'], upstreams: ['*']},
    {principals: ['reader'], upstreams: ['composite', 'files']},
    {principals: ['no-composites'], upstreams: ['files', 'memory']},
    {principals: ['read-only'], upstreams: ['*'], tools: {annotations: {readOnlyHint: true}}},
  ]);
  const grant = (name: string) => policy.grantFor({id: name, name, claims: {}});

  it('resolves a step to its upstream and the upstream’s own name, with its annotations when listed', () => {
    expect(route('files__search_files')).toEqual([
      {upstream: 'files', tool: 'search_files', annotations: {readOnlyHint: true}},
    ]);
    expect(route('memory__create_entities')).toEqual([{upstream: 'memory', tool: 'create_entities'}]);
    expect(route('github__x')).toEqual([]);
  });

  it('resolves a group’s tool to each of its members, and runs it when the grant covers one member', () => {
    const members = [
      {name: 'mem-a', prefix: 'mem', tools: [{name: 'read_graph'}]},
      {name: 'mem-b', prefix: 'mem', tools: [{name: 'read_graph'}]},
      {name: 'memory', prefix: 'memory', tools: []},
    ];
    const routes = (tool: string) => stepRoutes(tool, members, '__');
    expect(routes('mem__read_graph')).toEqual([
      {upstream: 'mem-a', tool: 'read_graph', annotations: {}},
      {upstream: 'mem-b', tool: 'read_graph', annotations: {}},
    ]);
    const grouped = CompositeSchema.parse({description: 'd', steps: [{id: 'read', tool: 'mem__read_graph'}]});
    const rules = new AccessPolicy([
      {principals: ['b-only'], upstreams: ['composite', 'mem-b']},
      {principals: ['neither'], upstreams: ['composite', 'memory']},
    ]);
    const as = (name: string) => rules.grantFor({id: name, name, claims: {}});
    expect(compositeRefusal('grouped', grouped, as('b-only'), routes)).toBeUndefined();
    expect(compositeRefusal('grouped', grouped, as('neither'), routes)).toMatch(/step "read" calls a tool/);
  });

  it.each([
    ['without auth', GRANT_ALL, undefined],
    ['a principal granted everything', grant('all'), undefined],
    ['a principal not granted one step’s tool', grant('reader'), /step "note" calls a tool this principal may not use/],
    ['a principal not granted the composite', grant('no-composites'), /Access denied: tool "pipe"/],
    ['a principal granted read-only tools only', grant('read-only'), /Access denied: tool "pipe"/],
  ])('%s', (_name, given, refusal) => {
    const refused = compositeRefusal('pipe', composite, given, route);
    if (refusal === undefined) expect(refused).toBeUndefined();
    else expect(refused).toMatch(refusal);
  });
});
