import {createHash, timingSafeEqual} from 'node:crypto';
import {LRUCache} from 'lru-cache';
import {createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify, type JWTVerifyGetKey} from 'jose';
import {isHttpsOrLoopback, type AuthConfig, type JwtIssuerConfig} from '../config/schema.js';
import {AuthenticationError} from '../errors.js';
import {createFetch} from './fetch.js';
import type {Principal} from './principal.js';

/** Verified JWTs kept, and for how long at most (ms): a client sends the same token with every request. */
const VERIFIED_TOKENS = 10_000;
const VERIFIED_TTL_MS = 300_000;

/** Asymmetric JWS algorithms accepted (RFC 7518); `none` and HMAC never are: the router holds no issuer's secret. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** One OIDC issuer: its JWKS, found by discovery when not configured, fetched lazily and cached by `jose`. */
class Issuer {
  readonly config: JwtIssuerConfig;
  readonly #fetch: typeof fetch;
  #keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(config: JwtIssuerConfig) {
    this.config = config;
    this.#fetch = createFetch({caFile: config.caFile, tokenFile: config.tokenFile});
  }

  /**
   * The issuer's key set: cached for 10 minutes, fetched again at once (at most every 5 s) when a token names a key
   * it does not hold, which is how key rotation is picked up.
   */
  keys(): Promise<JWTVerifyGetKey> {
    if (!this.#keys) {
      const pending = this.#jwksUri().then((uri) =>
        createRemoteJWKSet(new URL(uri), {
          cacheMaxAge: 600_000,
          cooldownDuration: 5000,
          timeoutDuration: 5000,
          [customFetch]: this.#fetch,
        }),
      );
      pending.catch(() => this.#keys === pending && (this.#keys = undefined));
      this.#keys = pending;
    }
    return this.#keys;
  }

  /** `jwksUri`, else `jwks_uri` from OIDC discovery (OpenID Connect Discovery 1.0 section 4). */
  async #jwksUri(): Promise<string> {
    if (this.config.jwksUri) return this.config.jwksUri;
    const url = `${this.config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await this.#fetch(url, {signal: AbortSignal.timeout(5000)});
    if (!response.ok) throw new Error(`OIDC discovery of ${this.config.issuer} answered ${response.status}`);
    const metadata = (await response.json()) as {issuer?: unknown; jwks_uri?: unknown};
    if (metadata.issuer !== this.config.issuer || typeof metadata.jwks_uri !== 'string')
      throw new Error(`OIDC discovery of ${this.config.issuer} gave no jwks_uri for that issuer`);
    if (!isHttpsOrLoopback(metadata.jwks_uri))
      throw new Error(`OIDC discovery of ${this.config.issuer} gave a jwks_uri that is not https`);
    return metadata.jwks_uri;
  }
}

/** Whether verification failed for want of the issuer's keys (discovery or JWKS unreachable, or not a JWKS). */
function keysUnavailable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  if (!(error instanceof errors.JOSEError)) return true;
  return error.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(error.message);
}

/** Why `jose` refused a token, in words safe to send back (RFC 6750 `error_description`). */
function refusal(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "the token's algorithm is not accepted";
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches the token';
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature is not valid";
  return 'the token is not valid';
}

/**
 * Turns the `Authorization` header of a request into a principal (MCP 2025-11-25 basic/authorization: the router is
 * an OAuth 2.1 resource server; RFC 6750 bearer tokens).
 *
 * - Static bearer tokens are compared as SHA-256 digests in constant time, every configured token every time.
 * - Anything else is taken as a JWT: its unverified `iss` picks the configured issuer, then `jose` verifies the
 *   signature against that issuer's JWKS (asymmetric algorithms only), `iss`, `aud` (one of `audiences`), `exp`
 *   (required), `nbf` and `iat`, with `clockSkewSeconds` of tolerance. The principal is the `principalClaim` claim.
 *   A verified token is remembered (at most 10,000, each until it expires and for 5 minutes at most), so that the
 *   requests of a session after the first cost a lookup, not a signature check.
 *
 * @throws AuthenticationError (401) when the header is missing, malformed or the token is not accepted; the message
 *   never contains the token. Keys that cannot be fetched give an AuthenticationError with `fault` set, for a warning.
 */
export class Authenticator {
  readonly #bearer: {principal: string; digest: Buffer}[];
  readonly #issuers: Map<string, Issuer>;
  readonly #verified = new LRUCache<string, Principal>({max: VERIFIED_TOKENS});

  constructor(auth: AuthConfig) {
    this.#bearer = auth.bearerTokens.map((t) => ({principal: t.principal, digest: digest(t.token)}));
    this.#issuers = new Map(auth.jwt.map((config) => [config.issuer, new Issuer(config)]));
  }

  /** Issuers whose tokens are accepted, for the protected-resource metadata (RFC 9728). */
  get issuers(): string[] {
    return [...this.#issuers.keys()];
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined) throw new AuthenticationError('Authorization: Bearer is required');
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
    if (!match) throw new AuthenticationError('the Authorization header is not a Bearer token', 'invalid_request');
    const token = match[1] as string;
    const bearer = this.#matchBearer(token);
    if (bearer !== undefined) return {id: `bearer:${bearer}`, name: bearer, claims: {}};
    return this.#verifyJwt(token);
  }

  #matchBearer(token: string): string | undefined {
    const presented = digest(token);
    let found: string | undefined;
    for (const {principal, digest: expected} of this.#bearer) {
      if (timingSafeEqual(presented, expected) && found === undefined) found = principal;
    }
    return found;
  }

  async #verifyJwt(token: string): Promise<Principal> {
    const known = this.#verified.get(token);
    if (known) return known;
    let issuerName: unknown;
    try {
      issuerName = decodeJwt(token).iss;
    } catch {
      throw new AuthenticationError('the token is not valid', 'invalid_token');
    }
    const issuer = typeof issuerName === 'string' ? this.#issuers.get(issuerName) : undefined;
    if (!issuer) throw new AuthenticationError('the token is not valid', 'invalid_token');
    const {config} = issuer;
    try {
      const {payload} = await jwtVerify(token, await issuer.keys(), {
        issuer: config.issuer,
        audience: config.audiences,
        clockTolerance: config.clockSkewSeconds,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', config.principalClaim],
      });
      const name = payload[config.principalClaim];
      if (typeof name !== 'string' || name === '')
        throw new AuthenticationError(`the token's ${config.principalClaim} claim is not a name`, 'invalid_token');
      const principal = {id: `jwt:${config.issuer}#${name}`, name, claims: payload};
      const expiresInMs = (payload.exp as number) * 1000 - Date.now();
      if (expiresInMs > 0) this.#verified.set(token, principal, {ttl: Math.min(expiresInMs, VERIFIED_TTL_MS)});
      return principal;
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      if (keysUnavailable(error)) {
        const fault = `the keys of ${config.issuer} could not be fetched: ${(error as Error).message}`;
        throw new AuthenticationError('the token could not be verified', 'invalid_token', fault);
      }
      throw new AuthenticationError(refusal(error), 'invalid_token');
    }
  }
}
