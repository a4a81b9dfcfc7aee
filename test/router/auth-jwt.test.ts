import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK} from 'jose';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {capturedLogger, connectClient, postInitialize, startLoggedRouter} from '../support/router.js';

// JWTs through the real router, verified against a real JWKS that this test serves on loopback (OIDC discovery
// included), with tokens signed by jose: good, expired, not yet valid, wrong audience, wrong issuer, unknown key,
// rotated key, alg none, HMAC. 401s carry WWW-Authenticate with the RFC 9728 metadata URL.
const AUDIENCE = 'kube-mcp-router';
let issuer: string;
let jwks: Server;
let publishedKeys: JWK[] = [];
const signing: Record<string, CryptoKey> = {};
const captured = capturedLogger('debug');
let router: Awaited<ReturnType<typeof startLoggedRouter>>;

async function newKey(kid: string): Promise<JWK> {
  const {publicKey, privateKey} = await generateKeyPair('ES256', {extractable: true});
  signing[kid] = privateKey;
  return {...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig'};
}

function token(
  claims: Record<string, unknown>,
  options: {kid?: string; iss?: string; aud?: string; expiresIn?: string | number; notBefore?: string} = {},
) {
  const kid = options.kid ?? 'k1';
  const jwt = new SignJWT(claims)
    .setProtectedHeader({alg: 'ES256', kid})
    .setIssuer(options.iss ?? issuer)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m');
  if (options.notBefore) jwt.setNotBefore(options.notBefore);
  return jwt.sign(signing[kid] as CryptoKey);
}

beforeAll(async () => {
  publishedKeys = [await newKey('k1')];
  await newKey('k2');
  jwks = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration')
      return res.end(JSON.stringify({issuer, jwks_uri: `${issuer}/keys`}));
    if (req.url === '/keys') return res.end(JSON.stringify({keys: publishedKeys}));
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  router = await startLoggedRouter(
    {
      mcpServers: {everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']}},
      router: {
        auth: {jwt: [{issuer, audiences: [AUDIENCE, 'other-audience-of-this-router']}]},
        access: [
          {principals: ['agent-*'], tools: {exclude: ['get-env']}},
          {claims: {groups: ['platform']}, upstreams: ['everything']},
        ],
      },
    },
    captured.log,
  );
});
afterAll(async () => {
  await router?.stop();
  jwks?.close();
});

async function initialize(authorization?: string) {
  const {status, headers} = await postInitialize(
    `${router.url}/mcp`,
    authorization === undefined ? {} : {authorization},
  );
  return {status, challenge: headers.get('www-authenticate')};
}

describe('a request without valid credentials', () => {
  it('without Authorization: 401 and a challenge naming the protected-resource metadata', async () => {
    const {status, challenge} = await initialize();
    expect(status).toBe(401);
    expect(challenge).toBe(`Bearer resource_metadata="${router.url}/.well-known/oauth-protected-resource/mcp"`);
  });

  it.each([
    ['expired', () => token({sub: 'agent-1'}, {expiresIn: Math.floor(Date.now() / 1000) - 120}), 'expired'],
    ['not yet valid', () => token({sub: 'agent-1'}, {notBefore: '10m'}), 'nbf claim'],
    ['for another audience', () => token({sub: 'agent-1'}, {aud: 'someone-else'}), 'aud claim'],
    ['from another issuer', () => token({sub: 'agent-1'}, {iss: 'https://evil.example'}), 'not valid'],
    ['signed by a key the issuer does not publish', () => token({sub: 'agent-1'}, {kid: 'k2'}), 'no key'],
    ['unsigned (alg none)', async () => new UnsecuredJWT({sub: 'agent-1'}).setIssuer(issuer).encode(), 'algorithm'],
    [
      'signed with HMAC',
      () =>
        new SignJWT({sub: 'agent-1'})
          .setProtectedHeader({alg: 'HS256'})
          .setIssuer(issuer)
          .setAudience(AUDIENCE)
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode('a-shared-secret-anyone-could-guess')),
      'algorithm',
    ],
    ['without a subject', () => token({}), 'sub'],
    ['not a JWT at all', async () => 'garbage-token-0123456789', 'not valid'],
  ])('%s: 401 invalid_token', async (_what, make, reason) => {
    const jwt = await make();
    const {status, challenge} = await initialize(`Bearer ${jwt}`);
    expect(status).toBe(401);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(reason);
  });

  it('a malformed Authorization header: 401 invalid_request', async () => {
    const {status, challenge} = await initialize('Basic dXNlcjpwYXNz');
    expect(status).toBe(401);
    expect(challenge).toContain('error="invalid_request"');
  });
});

describe('a valid JWT', () => {
  it('opens a session as its sub, and the rules for that name apply', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`, {
      headers: {authorization: `Bearer ${await token({sub: 'agent-7'})}`},
    });
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('everything__echo');
      expect(names).not.toContain('everything__get-env');
    } finally {
      await close();
    }
  });

  it('any of the configured audiences is accepted', async () => {
    expect(
      (await initialize(`Bearer ${await token({sub: 'agent-7'}, {aud: 'other-audience-of-this-router'})}`)).status,
    ).toBe(200);
  });

  it('claims such as groups select rules', async () => {
    const jwt = await token({sub: 'alice', groups: ['dev', 'platform']});
    const {client, close} = await connectClient(`${router.url}/mcp`, {headers: {authorization: `Bearer ${jwt}`}});
    try {
      const result = await client.callTool({name: 'everything__get-env', arguments: {}});
      expect(result.isError).not.toBe(true);
    } finally {
      await close();
    }
  });

  it('a principal that no rule is for gets 403', async () => {
    const {status, challenge} = await initialize(`Bearer ${await token({sub: 'bob', groups: ['dev']})}`);
    expect(status).toBe(403);
    expect(challenge).toContain('error="insufficient_scope"');
  });

  it('after the issuer rotates its key, tokens signed with the new key are accepted', async () => {
    expect((await initialize(`Bearer ${await token({sub: 'agent-1'})}`)).status).toBe(200);
    publishedKeys = [await exportPublic('k2')];
    // The key set is fetched again for an unknown key at most every 5 s.
    await new Promise((resolve) => setTimeout(resolve, 5200));
    expect((await initialize(`Bearer ${await token({sub: 'agent-1'}, {kid: 'k2'})}`)).status).toBe(200);
  });

  it('is never written to the log', async () => {
    const jwt = await token({sub: 'agent-log'}, {kid: 'k2'});
    await initialize(`Bearer ${jwt}`);
    await initialize(`Bearer ${jwt.slice(0, -4)}AAAA`);
    expect(captured.text()).not.toContain(jwt.split('.')[2]);
  });
});

async function exportPublic(kid: string): Promise<JWK> {
  const {d: _private, ...publicJwk} = await exportJWK(signing[kid] as CryptoKey);
  return {...publicJwk, kid, alg: 'ES256', use: 'sig'};
}

describe('protected-resource metadata (RFC 9728)', () => {
  it.each([
    ['/.well-known/oauth-protected-resource', ''],
    ['/.well-known/oauth-protected-resource/mcp', '/mcp'],
  ])('%s names the resource and the issuer', async (path, resourcePath) => {
    const response = await fetch(`${router.url}${path}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      resource: `${router.url}${resourcePath}`,
      authorization_servers: [issuer],
      bearer_methods_supported: ['header'],
      resource_name: 'kube-mcp-router',
    });
  });
});
