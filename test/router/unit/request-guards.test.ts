import {describe, expect, it} from 'vitest';
import {bearerChallenge, protectedResourceMetadata} from '../../../router/http/auth.js';
import {nestedDeeperThan} from '../../../router/http/body.js';
import {PendingRequestIds} from '../../../router/http/request-ids.js';
import {metricMethod} from '../../../router/metrics.js';
import {AuthSchema} from '../../../router/config/schema.js';

const bytes = (text: string) => Buffer.from(text);

describe('nestedDeeperThan', () => {
  it.each([
    ['{}', 1, false],
    ['{"a":{}}', 1, true],
    ['[[[1]]]', 3, false],
    ['[[[[1]]]]', 3, true],
    ['{"a":"[[[[[[[["}', 1, false],
    ['{"a":"\\"[[[["}', 1, false],
    ['[{}, {}, {}, {}]', 2, false],
    ['['.repeat(5000) + ']'.repeat(5000), 64, true],
  ])('%s, at most %d: %s', (json, max, deeper) => {
    expect(nestedDeeperThan(bytes(json), max)).toBe(deeper);
  });
});

describe('PendingRequestIds', () => {
  it('refuses a request whose id is pending, until it is answered or cancelled', () => {
    const pending = new PendingRequestIds();
    expect(pending.admit({jsonrpc: '2.0', id: 1, method: 'tools/call'})).toBeUndefined();
    expect(pending.admit({jsonrpc: '2.0', id: 1, method: 'tools/call'})).toBe(1);
    expect(pending.admit({jsonrpc: '2.0', id: '1', method: 'tools/call'})).toBeUndefined();
    pending.settle(1);
    expect(pending.admit({jsonrpc: '2.0', id: 1, method: 'tools/call'})).toBeUndefined();
    expect(pending.admit({jsonrpc: '2.0', method: 'notifications/cancelled', params: {requestId: 1}})).toBeUndefined();
    expect(pending.admit({jsonrpc: '2.0', id: 1, method: 'tools/call'})).toBeUndefined();
  });

  it('refuses a batch that repeats an id, and takes none of it', () => {
    const pending = new PendingRequestIds();
    const batch = [
      {jsonrpc: '2.0', id: 7, method: 'ping'},
      {jsonrpc: '2.0', id: 7, method: 'ping'},
    ];
    expect(pending.admit(batch)).toBe(7);
    expect(pending.admit({jsonrpc: '2.0', id: 7, method: 'ping'})).toBeUndefined();
  });

  it('ignores responses and notifications', () => {
    const pending = new PendingRequestIds();
    expect(pending.admit({jsonrpc: '2.0', id: 3, result: {}})).toBeUndefined();
    expect(pending.admit({jsonrpc: '2.0', id: 3, result: {}})).toBeUndefined();
    expect(
      pending.requestIds([
        {jsonrpc: '2.0', id: 3, result: {}},
        {jsonrpc: '2.0', id: 4, method: 'x'},
      ]),
    ).toEqual([4]);
  });
});

describe('metricMethod', () => {
  it.each([
    ['tools/call', 'tools/call'],
    ['resources/read', 'resources/read'],
    ['x'.repeat(1024), 'other'],
    ['tools/call2', 'other'],
  ])('%s', (method, label) => {
    expect(metricMethod(method)).toBe(label);
  });
});

describe('bearerChallenge (RFC 6750 section 3)', () => {
  it.each([
    [undefined, 'Bearer resource_metadata="https://r.example/.well-known/oauth-protected-resource/mcp"'],
    [
      {code: 'invalid_token' as const, description: 'the token has "expired"'},
      'Bearer resource_metadata="https://r.example/.well-known/oauth-protected-resource/mcp", ' +
        'error="invalid_token", error_description="the token has expired"',
    ],
  ])('%j', (error, header) => {
    expect(bearerChallenge('https://r.example/.well-known/oauth-protected-resource/mcp', error)).toBe(header);
  });
});

describe('protectedResourceMetadata (RFC 9728)', () => {
  it('names the resource after the request unless configured, and the issuers as authorization servers', () => {
    const auth = AuthSchema.parse({jwt: [{issuer: 'https://issuer.example', audiences: ['r']}]});
    expect(protectedResourceMetadata(auth, ['https://issuer.example'], 'http://127.0.0.1:8080', '/mcp')).toEqual({
      resource: 'http://127.0.0.1:8080/mcp',
      authorization_servers: ['https://issuer.example'],
      bearer_methods_supported: ['header'],
      resource_name: 'kube-mcp-router',
    });
    const configured = AuthSchema.parse({...auth, resource: 'https://router.example/mcp'});
    expect(protectedResourceMetadata(configured, [], 'http://x', '').resource).toBe('https://router.example/mcp');
    expect(protectedResourceMetadata(configured, [], 'http://x', '')).not.toHaveProperty('authorization_servers');
  });
});

describe('AuthSchema', () => {
  it.each([
    [{jwt: [{issuer: 'http://issuer.example', audiences: ['a']}]}, 'jwt.0.issuer: must be https'],
    [
      {jwt: [{issuer: 'https://issuer.example', audiences: ['a'], jwksUri: 'http://keys.example/jwks'}]},
      'jwt.0.jwksUri: must be https',
    ],
    [{jwt: [{issuer: 'http://127.0.0.1:9000', audiences: ['a']}]}, undefined],
    [{bearerTokens: [{principal: 'ci', token: 'short'}]}, 'bearerTokens.0.token: must be at least 16'],
  ])('%j: %s', (input, problem) => {
    const parsed = AuthSchema.safeParse(input);
    const first = parsed.error?.issues[0];
    expect(first && `${first.path.join('.')}: ${first.message}`.slice(0, problem?.length)).toBe(problem);
  });
});
