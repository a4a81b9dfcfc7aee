/**
 * The CRDs on a real API server: applied with kubectl, they reject invalid resources with the CEL and schema
 * messages, default what they should and explain every field.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createNamespace, kubectl, useCluster} from '../support/cluster.js';
import {applyCrds, getJson, kc} from './support.js';

describe('CRDs on a real API server', () => {
  const cluster = useCluster();
  let namespace: string;

  beforeAll(async () => {
    await applyCrds(cluster());
    namespace = await createNamespace(cluster(), 'crds');
  }, 180_000);

  afterAll(async () => {
    if (namespace) await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']);
  });

  const apply = (object: Record<string, unknown>) =>
    kubectl(
      cluster(),
      ['apply', '-n', namespace, '-f', '-'],
      JSON.stringify({apiVersion: 'mcprouter.dev/v1alpha1', ...object}),
    );
  const upstream = (name: string, spec: Record<string, unknown>) =>
    apply({kind: 'McpUpstream', metadata: {name}, spec});
  const router = (name: string, spec: Record<string, unknown>) => apply({kind: 'McpRouter', metadata: {name}, spec});

  it.each([
    [
      'both stdio and http',
      () => upstream('both', {stdio: {command: 'x'}, http: {url: 'https://x.test/mcp'}}),
      'set exactly one of stdio or http',
    ],
    ['neither stdio nor http', () => upstream('neither', {prefix: 'p'}), 'set exactly one of stdio or http'],
    [
      'http with neither url nor serviceRef',
      () => upstream('nourl', {http: {transport: 'sse'}}),
      'set exactly one of url or serviceRef',
    ],
    [
      'http with both url and serviceRef',
      () => upstream('twice', {http: {url: 'https://x.test/mcp', serviceRef: {name: 's', port: 80}}}),
      'set exactly one of url or serviceRef',
    ],
    [
      'a name that cannot be the prefix, naming spec.prefix',
      () => upstream('my.upstream', {stdio: {command: 'x'}}),
      'spec.prefix: Required value: metadata.name is the default prefix',
    ],
    [
      'a prefix containing the default separator, naming spec.prefix',
      () => upstream('sep', {stdio: {command: 'x'}, prefix: 'a__b'}),
      "spec.prefix: Invalid value: must not contain __, the routers' default tool name separator",
    ],
    ['a bad prefix', () => upstream('badprefix', {stdio: {command: 'x'}, prefix: 'has space'}), 'spec.prefix'],
    [
      'an env var with value and valueFrom',
      () =>
        upstream('env', {
          stdio: {command: 'x', env: [{name: 'A', value: 'v', valueFrom: {secretKeyRef: {name: 's', key: 'k'}}}]},
        }),
      'set exactly one of value or valueFrom',
    ],
    ['a URL that is not http(s)', () => upstream('ftp', {http: {url: 'ftp://x.test/mcp'}}), 'spec.http.url'],
    [
      'a router name that cannot name a Service, naming metadata.name',
      () => router('bad.name', {}),
      'metadata.name: Invalid value: must be a DNS-1035 label, as it names the router Service',
    ],
    [
      'a router without transports',
      () => router('quiet', {transports: {sse: false, streamableHttp: false}}),
      'enable at least one transport',
    ],
    ['a router with a bad separator', () => router('sep', {toolNameSeparator: '::'}), 'spec.toolNameSeparator'],
    [
      'two timeouts for one tool',
      () => upstream('twice', {stdio: {command: 'x'}, timeouts: {tools: [{name: 'slow'}, {name: 'slow'}]}}),
      'Duplicate value',
    ],
    [
      'a group name that cannot be a prefix',
      () => router('grouped', {groups: [{name: 'a.b', members: ['a']}]}),
      'spec.groups[0].name',
    ],
    [
      'two groups of one name',
      () =>
        router('twice', {
          groups: [
            {name: 'g', members: ['a']},
            {name: 'g', members: ['b']},
          ],
        }),
      'Duplicate value',
    ],
    [
      'retries without any attempt',
      () => upstream('never', {stdio: {command: 'x'}, retries: {maxAttempts: 0}}),
      'spec.retries.maxAttempts',
    ],
  ])('rejects %s with the message', async (_name, create, message) => {
    const result = await create();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
    // Every CEL error names its field (not "<nil>: Invalid value").
    expect(result.stderr).not.toContain('<nil>');
  });

  it('accepts valid resources and applies the defaults', async () => {
    const timeouts = {callSeconds: 30, tools: [{name: 'slow', callSeconds: 300}]};
    const retries = {maxAttempts: 2, toolCalls: true};
    expect((await upstream('fine', {http: {serviceRef: {name: 's', port: 8080}}, timeouts, retries})).code).toBe(0);
    expect((await router('fine', {upstreams: [{name: 'fine'}], management: {enabled: true}})).code).toBe(0);
    const created = await getJson(cluster(), namespace, 'mcprouter', 'fine');
    expect(created.spec).toMatchObject({
      replicas: 1,
      toolNameSeparator: '__',
      service: {type: 'ClusterIP', port: 80},
      transports: {sse: true, streamableHttp: true},
    });
    const up = await getJson(cluster(), namespace, 'mcpupstream', 'fine');
    expect(up.spec.http).toMatchObject({transport: 'streamableHttp', serviceRef: {path: '/mcp'}});
    expect(up.spec).toMatchObject({timeouts, retries});
    expect(created.spec.management).toEqual({enabled: true});
    const groups = [{name: 'search', members: ['fine', 'other'], routes: [{tools: ['w*'], upstreams: ['fine']}]}];
    expect((await router('grouped', {groups})).code).toBe(0);
    const grouped = await getJson(cluster(), namespace, 'mcprouter', 'grouped');
    expect(grouped.spec.groups).toEqual([{...groups[0], strategy: 'priority'}]);
  });

  it('keeps the free-form JSON of a composite as it is, and refuses two composites of one name', async () => {
    const composite = {
      name: 'find_and_remember',
      description: 'Finds files and records them.',
      inputSchema: {type: 'object', properties: {pattern: {type: 'string'}}, required: ['pattern']},
      steps: [
        {id: 'search', tool: 'files__search_files', arguments: {path: '.', pattern: '{{input.pattern}}'}},
        {
          id: 'remember',
          tool: 'memory__create_entities',
          arguments: {entities: [{name: 'x', entityType: 'y', observations: ['{{steps.search.text}}']}]},
        },
      ],
      output: {files: '{{steps.search.text}}', count: {nested: [1, 'two']}},
    };
    expect((await router('pipelines', {composites: [composite]})).code).toBe(0);
    expect((await getJson(cluster(), namespace, 'mcprouter', 'pipelines')).spec.composites).toEqual([composite]);
    const twice = await router('twice', {composites: [composite, composite]});
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toContain('Duplicate value');
  });

  it('explains fields with kubectl explain', async () => {
    // kubectl wraps descriptions; compare with single spaces.
    const selector = (await kc(cluster(), ['explain', 'mcprouter.spec.upstreamSelector'])).replace(/\s+/g, ' ');
    expect(selector).toContain('Selects McpUpstreams in the namespace of the router by label');
    expect(selector).toContain('matchLabels');
    const headers = (await kc(cluster(), ['explain', 'mcpupstream.spec.http.headers.valueFrom'])).replace(/\s+/g, ' ');
    expect(headers).toContain('never copied into the router ConfigMap');
  });
});
