/* eslint-disable @typescript-eslint/no-explicit-any -- these tests read rendered manifests as plain JSON */
/**
 * Rendering what decides who may use a router: spec.auth, spec.access and spec.limits into router.json, the
 * router's ServiceAccount and token volume, allowedHosts, and the escaping of every literal copied from a custom
 * resource (review finding 6).
 */
import {describe, expect, it} from 'vitest';
import {z} from 'zod';
import {AccessRuleSpecSchema, JwtIssuerSpecSchema} from '../../../operator/api/auth.js';
import {parseMcpRouter} from '../../../operator/api/types.js';
import {validateRendered} from '../../../operator/controllers/mcprouter/reconcile.js';
import {allowedHosts, escapeStrings, renderRouter} from '../../../operator/controllers/mcprouter/render.js';
import {parseRouterConfig} from '../../../router/config/index.js';
import {AccessRuleSchema, AuthSchema} from '../../../router/config/schema.js';
import {parsedRouter, parsedUpstream, renderOptions, routerResource} from '../fixtures.js';

const options = renderOptions;

const router = parsedRouter;

const upstream = parsedUpstream;

const routerOptions = (rendered: {routerJson: string}) => JSON.parse(rendered.routerJson).router;
const podSpec = (rendered: {deployment: any}) => rendered.deployment.spec.template.spec;

describe('rendering spec.auth', () => {
  it.each([
    [
      'ServiceAccount tokens, as a JWT issuer with the API server JWKS, the pod token and the cluster CA',
      {serviceAccountTokens: {audiences: ['http://tools.team-a.svc.cluster.local']}},
      {
        jwt: [
          {
            issuer: 'https://kubernetes.default.svc.cluster.local',
            audiences: ['http://tools.team-a.svc.cluster.local'],
            jwksUri: 'https://kubernetes.default.svc.cluster.local/openid/v1/jwks',
            caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
            tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
          },
        ],
        bearerTokens: [],
      },
      [],
    ],
    [
      'other JWT issuers, copied through',
      {
        jwt: [
          {
            issuer: 'https://dex.example.test',
            audiences: ['mcp'],
            jwksUri: 'https://dex.example.test/keys',
            principalClaim: 'email',
            clockSkewSeconds: 5,
          },
          {issuer: 'https://idp.example.test/realms/a', audiences: ['router']},
        ],
        resource: 'https://mcp.example.test/mcp',
        authorizationServers: ['https://dex.example.test'],
      },
      {
        jwt: [
          {
            issuer: 'https://dex.example.test',
            audiences: ['mcp'],
            jwksUri: 'https://dex.example.test/keys',
            principalClaim: 'email',
            clockSkewSeconds: 5,
          },
          {issuer: 'https://idp.example.test/realms/a', audiences: ['router']},
        ],
        bearerTokens: [],
        resource: 'https://mcp.example.test/mcp',
        authorizationServers: ['https://dex.example.test'],
      },
      [],
    ],
    [
      'bearer tokens, as env vars from their Secrets, two of one principal told apart',
      {
        bearerTokens: [
          {principal: 'ci-bot', secretKeyRef: {name: 'ci', key: 'token'}},
          {principal: 'ci-bot', secretKeyRef: {name: 'ci', key: 'next'}},
          {principal: 'ops@example.test', secretKeyRef: {name: 'ops', key: 'token'}},
        ],
      },
      {
        jwt: [],
        bearerTokens: [
          {principal: 'ci-bot', token: '${MCPR_BEARER_CI_BOT}'},
          {principal: 'ci-bot', token: expect.stringMatching(/^\$\{MCPR_BEARER_CI_BOT_[0-9A-F]{8}\}$/)},
          {principal: 'ops@example.test', token: '${MCPR_BEARER_OPS_EXAMPLE_TEST}'},
        ],
      },
      [
        {name: 'MCPR_BEARER_CI_BOT', valueFrom: {secretKeyRef: {name: 'ci', key: 'token'}}},
        {
          name: expect.stringMatching(/^MCPR_BEARER_CI_BOT_[0-9A-F]{8}$/),
          valueFrom: {secretKeyRef: {name: 'ci', key: 'next'}},
        },
        {name: 'MCPR_BEARER_OPS_EXAMPLE_TEST', valueFrom: {secretKeyRef: {name: 'ops', key: 'token'}}},
      ],
    ],
  ])('renders %s', (_name, auth, expected, env) => {
    const rendered = renderRouter(router({upstreamSelector: {}, auth}), [], options);
    expect(routerOptions(rendered).auth).toEqual(expected);
    expect(rendered.env).toEqual(env);
    expect(podSpec(rendered).containers[0].env.slice(2, -2)).toEqual(env);
    expect(validateRendered(rendered)).toBeUndefined();
  });

  it('uses the issuer and cluster domain the operator is given', () => {
    const rendered = renderRouter(
      router({upstreamSelector: {}, auth: {serviceAccountTokens: {audiences: ['mcp']}}}),
      [],
      {...options, clusterDomain: 'corp.internal', serviceAccountIssuer: 'https://oidc.eks.example.test/id/ABC'},
    );
    expect(routerOptions(rendered).auth.jwt[0]).toMatchObject({
      issuer: 'https://oidc.eks.example.test/id/ABC',
      jwksUri: 'https://kubernetes.default.svc.corp.internal/openid/v1/jwks',
    });
  });

  it('resolves a bearer token from the env of the pod, and router.json holds only its name', () => {
    const rendered = renderRouter(
      router({upstreamSelector: {}, auth: {bearerTokens: [{principal: 'ci', secretKeyRef: {name: 'ci', key: 't'}}]}}),
      [],
      options,
    );
    const token = 'a-token-from-the-secret-0123456789';
    expect(rendered.routerJson).not.toContain(token);
    const config = parseRouterConfig(rendered.routerJson, {MCPR_BEARER_CI: token}, 'router.json');
    expect(config.router.auth?.bearerTokens).toEqual([{principal: 'ci', token}]);
  });

  it('mounts a short-lived projected token and the cluster CA (for the JWKS and the EndpointSlices); no automount', () => {
    const withTokens = renderRouter(
      router({upstreamSelector: {}, auth: {serviceAccountTokens: {audiences: ['mcp']}}}),
      [],
      options,
    );
    const pod = podSpec(withTokens);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.volumes).toContainEqual({
      name: 'serviceaccount-token',
      projected: {
        sources: [
          {serviceAccountToken: {path: 'token', expirationSeconds: 3600}},
          {configMap: {name: 'kube-root-ca.crt', items: [{key: 'ca.crt', path: 'ca.crt'}]}},
        ],
      },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 'serviceaccount-token',
      mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      readOnly: true,
    });
  });
});

describe('rendering spec.access, spec.limits and allowedOrigins', () => {
  it('copies access rules, limits and allowed origins into router.json, where the router accepts them', () => {
    const access = [
      {
        namespaces: ['agents'],
        upstreams: ['github'],
        tools: {include: ['search_*'], annotations: {readOnlyHint: true}},
      },
      {principals: ['ci-bot'], claims: {groups: ['platform']}, prompts: {exclude: ['admin_*']}},
      {principals: ['*'], upstreams: ['docs'], resources: {include: ['file:///docs/**']}},
    ];
    const rendered = renderRouter(
      router({
        upstreamSelector: {},
        auth: {serviceAccountTokens: {audiences: ['mcp']}},
        access,
        limits: {maxSessions: 500, maxSessionsPerPrincipal: 20},
        allowedOrigins: ['https://inspector.example.test'],
      }),
      [],
      options,
    );
    const rendered_ = routerOptions(rendered);
    expect(rendered_.access).toEqual([access[0], {...access[1], upstreams: ['*']}, access[2]]);
    expect(rendered_.limits).toEqual({maxSessions: 500, maxSessionsPerPrincipal: 20});
    expect(rendered_.allowedOrigins).toEqual(['https://inspector.example.test']);
    const config = parseRouterConfig(rendered.routerJson, {}, 'router.json');
    expect(config.router.access?.[0]).toMatchObject(access[0]!);
    expect(config.router.limits).toMatchObject({maxSessions: 500, maxSessionsPerPrincipal: 20});
  });

  it('leaves auth, access, limits and allowedOrigins out when the spec has none', () => {
    const options_ = routerOptions(renderRouter(router({upstreamSelector: {}}), [], options));
    expect(Object.keys(options_)).toEqual(['toolNameSeparator', 'transports', 'allowedHosts']);
  });

  it.each([
    ['access without auth', {access: [{principals: ['*']}]}, /spec\.access: access rules need auth/],
    ['auth with no way in', {auth: {}}, /spec\.auth: set at least one of serviceAccountTokens, jwt or bearerTokens/],
    [
      'a rule for nobody',
      {auth: {jwt: [{issuer: 'https://idp.example.test', audiences: ['a']}]}, access: [{upstreams: ['*']}]},
      /spec\.access\.0: a rule needs principals, namespaces or claims/,
    ],
    [
      'a JWKS over plain http',
      {auth: {jwt: [{issuer: 'http://idp.example.test', audiences: ['a']}]}},
      /spec\.auth\.jwt\.0\.issuer: keys are fetched over https only/,
    ],
    [
      'a bearer token as a value',
      {auth: {bearerTokens: [{principal: 'ci', token: 'literal-token-0123456789'}]}},
      /spec\.auth\.bearerTokens\.0\.secretKeyRef/,
    ],
  ])('refuses %s, naming the path', (_name, spec, message) => {
    const parsed = parseMcpRouter(routerResource('tools', {upstreamSelector: {}, ...spec}));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')).toMatch(message);
  });
});

describe('allowedHosts', () => {
  it.each([
    [
      'the Service names with and without the service port, and loopback with and without the container port',
      {upstreamSelector: {}},
      [
        'tools',
        'tools:80',
        'tools.team-a',
        'tools.team-a:80',
        'tools.team-a.svc',
        'tools.team-a.svc:80',
        'tools.team-a.svc.cluster.local',
        'tools.team-a.svc.cluster.local:80',
        'localhost',
        'localhost:8080',
        '127.0.0.1',
        '127.0.0.1:8080',
        '[::1]',
        '[::1]:8080',
      ],
    ],
    [
      'extra hosts from the spec, after them, without duplicates',
      {upstreamSelector: {}, service: {port: 8080}, allowedHosts: ['mcp.example.test', 'tools', 'localhost:8080']},
      [
        'tools',
        'tools:8080',
        'tools.team-a',
        'tools.team-a:8080',
        'tools.team-a.svc',
        'tools.team-a.svc:8080',
        'tools.team-a.svc.cluster.local',
        'tools.team-a.svc.cluster.local:8080',
        'localhost',
        'localhost:8080',
        '127.0.0.1',
        '127.0.0.1:8080',
        '[::1]',
        '[::1]:8080',
        'mcp.example.test',
      ],
    ],
  ])('are %s', (_name, spec, expected) => {
    expect(allowedHosts(router(spec), 'cluster.local')).toEqual(expected);
    expect(routerOptions(renderRouter(router(spec), [], options)).allowedHosts).toEqual(expected);
  });
});

describe('the router ServiceAccount', () => {
  it('is rendered owned by the router, without an automounted token, and runs the pods', () => {
    const rendered = renderRouter(router({upstreamSelector: {}}), [], options);
    expect(rendered.serviceAccount).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'tools',
        namespace: 'team-a',
        labels: rendered.configMap.metadata.labels,
        ownerReferences: rendered.configMap.metadata.ownerReferences,
      },
      automountServiceAccountToken: false,
    });
    expect(podSpec(rendered).serviceAccountName).toBe('tools');
  });

  it("is not rendered for a router named default, which runs as the namespace's default ServiceAccount untouched", () => {
    const rendered = renderRouter(router({upstreamSelector: {}}, 'default'), [], options);
    expect(rendered.serviceAccount).toBeUndefined();
    expect(podSpec(rendered).serviceAccountName).toBe('default');
    expect(podSpec(rendered).automountServiceAccountToken).toBe(false);
  });

  it('is not rendered when the McpRouter names one, which the pods then use', () => {
    const rendered = renderRouter(router({upstreamSelector: {}, serviceAccountName: 'mcp-router'}), [], options);
    expect(rendered.serviceAccount).toBeUndefined();
    expect(podSpec(rendered).serviceAccountName).toBe('mcp-router');
  });
});

describe('router container defaults', () => {
  it.each([
    [
      'default requests and a memory limit when the spec sets none',
      {},
      {requests: {cpu: '100m', memory: '128Mi'}, limits: {memory: '1Gi'}},
    ],
    ['the spec resources when set', {resources: {limits: {memory: '1Gi'}}}, {limits: {memory: '1Gi'}}],
  ])('has %s', (_name, spec, resources) => {
    const container = podSpec(renderRouter(router({upstreamSelector: {}, ...spec}), [], options)).containers[0];
    expect(container.resources).toEqual(resources);
  });
});

describe('literal values from custom resources (review finding 6)', () => {
  it('finding 6: a literal header value ${MCPU_GITHUB_HEADER_AUTHORIZATION} is not expanded from the Secret of another upstream', () => {
    const github = upstream('github', {
      http: {
        url: 'https://api.example.test/mcp',
        headers: [{name: 'Authorization', valueFrom: {secretKeyRef: {name: 'github', key: 'authorization'}}}],
      },
    });
    const curious = upstream('curious', {
      http: {
        url: 'https://curious.example.test/mcp',
        headers: [{name: 'X-Leak', value: '${MCPU_GITHUB_HEADER_AUTHORIZATION}'}],
      },
    });
    const rendered = renderRouter(router({upstreamSelector: {}}), [github, curious], options);
    const env = {MCPU_GITHUB_HEADER_AUTHORIZATION: 'Bearer the-github-secret'};
    const config = parseRouterConfig(rendered.routerJson, env, 'router.json');
    const headersOf = (name: string) => {
      const found = config.upstreams.find((u) => u.name === name);
      return found && 'headers' in found ? found.headers : undefined;
    };
    expect(headersOf('curious')).toEqual({'X-Leak': '${MCPU_GITHUB_HEADER_AUTHORIZATION}'});
    expect(headersOf('github')).toEqual({Authorization: 'Bearer the-github-secret'});
  });

  const literal = 'a$b ${HOME} $${PATH} ${UNSET:-x} $';
  it.each([
    ['a command, its args, env values and cwd', 'stdio'],
    ['a URL and header values', 'http'],
  ])('keeps %s as written', (_name, kind) => {
    const spec =
      kind === 'stdio'
        ? {
            stdio: {
              command: `run${literal}`,
              args: [literal, 'plain'],
              env: [{name: 'X', value: literal}],
              cwd: `/srv/${literal}`,
            },
            tools: {include: [`t${literal}`]},
          }
        : {http: {url: `https://h.example.test/${encodeURIComponent('$')}$x`, headers: [{name: 'X', value: literal}]}};
    const one = upstream('one', spec);
    const rendered = renderRouter(router({upstreamSelector: {}}), [one], options);
    const [parsed] = parseRouterConfig(rendered.routerJson, {HOME: '/home', PATH: '/bin'}, 'router.json').upstreams;
    if (parsed?.transport === 'stdio') {
      expect(parsed).toMatchObject({
        command: `run${literal}`,
        args: [literal, 'plain'],
        env: {X: literal},
        cwd: `/srv/${literal}`,
        tools: {include: [`t${literal}`]},
      });
    } else {
      expect(parsed).toMatchObject({url: 'https://h.example.test/%24$x', headers: {X: literal}});
    }
  });

  it('keeps the strings of auth, access, allowedHosts and allowedOrigins as written', () => {
    const rendered = renderRouter(
      router({
        upstreamSelector: {},
        auth: {
          jwt: [{issuer: 'https://idp.example.test/$tenant', audiences: ['${HOME}'], principalClaim: '$sub'}],
          bearerTokens: [{principal: '${HOME}', secretKeyRef: {name: 's', key: 'k'}}],
        },
        access: [{principals: ['${HOME}'], claims: {$groups: ['${PATH}']}, upstreams: ['$x']}],
        allowedHosts: ['${HOME}.example.test'],
        allowedOrigins: ['https://${HOME}'],
      }),
      [],
      options,
    );
    const env = {HOME: '/home', PATH: '/bin', MCPR_BEARER___HOME_: 'a-token-from-the-secret-0123456789'};
    const {router: parsed} = parseRouterConfig(rendered.routerJson, env, 'router.json');
    expect(parsed.auth?.jwt[0]).toMatchObject({
      issuer: 'https://idp.example.test/$tenant',
      audiences: ['${HOME}'],
      principalClaim: '$sub',
    });
    expect(parsed.auth?.bearerTokens[0]).toEqual({principal: '${HOME}', token: env.MCPR_BEARER___HOME_});
    expect(parsed.access?.[0]).toMatchObject({
      principals: ['${HOME}'],
      claims: {$groups: ['${PATH}']},
      upstreams: ['$x'],
    });
    expect(parsed.allowedHosts).toContain('${HOME}.example.test');
    expect(parsed.allowedOrigins).toEqual(['https://${HOME}']);
  });

  it.each([
    ['a string', 'a$b', 'a$$b'],
    ['nested arrays and objects, values only', {$k: ['$v', {n: 1, s: '$'}]}, {$k: ['$$v', {n: 1, s: '$$'}]}],
    ['numbers and booleans', [1, true, null], [1, true, null]],
  ])('escapeStrings escapes %s', (_name, input, output) => {
    expect(escapeStrings(input)).toEqual(output);
  });
});

/** Paths of every property of a JSON Schema, e.g. `tools.annotations.readOnlyHint`. */
function propertyPaths(schema: any, prefix = ''): string[] {
  return Object.entries(schema.properties ?? {}).flatMap(([name, child]: [string, any]) => [
    `${prefix}${name}`,
    ...propertyPaths(child, `${prefix}${name}.`),
  ]);
}

describe('the McpRouter trust schemas mirror the router config schema', () => {
  const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, {io: 'input'});

  it('an access rule has the same fields in both (edit operator/api/auth.ts when the router schema changes)', () => {
    expect(propertyPaths(jsonSchema(AccessRuleSpecSchema)).sort()).toEqual(
      propertyPaths(jsonSchema(AccessRuleSchema)).sort(),
    );
  });

  it('a JWT issuer has the fields of the router one, except the files only the operator can fill in', () => {
    const routerJwt = (jsonSchema(AuthSchema) as any).properties.jwt.items;
    expect(propertyPaths(jsonSchema(JwtIssuerSpecSchema)).sort()).toEqual(
      propertyPaths(routerJwt)
        .filter((path) => path !== 'caFile' && path !== 'tokenFile')
        .sort(),
    );
  });
});
