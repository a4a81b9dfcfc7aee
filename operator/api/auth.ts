import {z} from 'zod';
import {withCel} from './common.js';

/**
 * The trust part of an McpRouter spec: who may connect (`spec.auth`), what each principal may use (`spec.access`)
 * and how many sessions they may hold (`spec.limits`). The operator renders them into `router.auth`,
 * `router.access` and `router.limits` of router.json (`router/config/schema.ts`).
 *
 * These mirror the router's schemas field for field (a unit test fails when the two drift apart), with bounds on
 * every list and string so the CRD's CEL rules stay within the API server's cost budget, and with one change: a
 * bearer token is a reference to a Secret, never a value, so the operator never reads it and router.json only names
 * the env var that carries it.
 */

const URL_PATTERN = /^https?:\/\/[^\s/]+(\/\S*)?$/;

const urlString = (description: string) =>
  z.string().max(2048).regex(URL_PATTERN, 'must be an http:// or https:// URL').describe(description);

const audiencesSchema = (description: string) =>
  z.array(z.string().min(1).max(512)).min(1).max(32).describe(description);

export const ServiceAccountTokensSchema = z
  .object({
    audiences: audiencesSchema(
      'Accepted `aud` values, e.g. the router URL; an agent pod requests a token for one of them with a projected ' +
        'serviceAccountToken volume (audience: ...). Never the API server audience: a token for the router must not ' +
        'also open the Kubernetes API.',
    ),
  })
  .describe(
    "Accept Kubernetes ServiceAccount tokens, verified offline against the cluster's OIDC issuer (the operator's " +
      '--service-account-issuer) and the JWKS of the API server. The principal is ' +
      'system:serviceaccount:<namespace>:<name>. ' +
      'The router pods get a short-lived projected token of their own to read the JWKS.',
  );

const HTTPS_JWKS = 'keys are fetched over https only: jwksUri (or, without it, issuer) must be an https:// URL';

export const JwtIssuerSpecSchema = withCel(
  z
    .object({
      issuer: urlString(
        'Expected `iss` claim; also where OIDC discovery (/.well-known/openid-configuration) is read, unless jwksUri is set.',
      ),
      audiences: audiencesSchema('Accepted `aud` values; a token must carry at least one of them.'),
      jwksUri: urlString(
        'URL of the JWKS, https://; default: jwks_uri from discovery (the issuer must then be https://).',
      ).optional(),
      principalClaim: z
        .string()
        .min(1)
        .max(256)
        .optional()
        .describe('Claim whose value names the principal. Router default: sub.'),
      clockSkewSeconds: z
        .number()
        .min(0)
        .max(300)
        .optional()
        .describe('Seconds of clock difference tolerated on exp, nbf and iat. Router default: 30.'),
    })
    .describe('An OIDC issuer whose JWTs are accepted, verified offline against its JWKS (RFC 7519, RFC 7517).'),
  [
    {
      rule: "has(self.jwksUri) ? self.jwksUri.startsWith('https://') : self.issuer.startsWith('https://')",
      message: HTTPS_JWKS,
    },
  ],
  (v) =>
    !(v.jwksUri ?? v.issuer).startsWith('https://')
      ? [{message: HTTPS_JWKS, path: [v.jwksUri === undefined ? 'issuer' : 'jwksUri']}]
      : [],
);

export const BearerTokenSpecSchema = z
  .object({
    principal: z.string().min(1).max(256).describe('Name of the principal this token authenticates.'),
    secretKeyRef: z
      .object({
        name: z.string().min(1).max(253).describe('Name of the Secret, in the namespace of the McpRouter.'),
        key: z.string().min(1).max(253).describe('The key holding the token (at least 16 characters).'),
      })
      .describe(
        'The Secret key holding the token. It becomes an env var of the router container (valueFrom); the operator ' +
          'never reads it, and router.json holds only ${VAR}.',
      ),
  })
  .describe('A static bearer token, for scripts and clients outside the cluster; compared in constant time.');

const authRule = 'has(self.serviceAccountTokens) || has(self.jwt) || has(self.bearerTokens)';
const authMessage = 'set at least one of serviceAccountTokens, jwt or bearerTokens';

export const AuthSpecSchema = withCel(
  z
    .object({
      serviceAccountTokens: ServiceAccountTokensSchema.optional(),
      jwt: z
        .array(JwtIssuerSpecSchema)
        .min(1)
        .max(16)
        .optional()
        .describe('Other OIDC issuers whose JWTs are accepted.'),
      bearerTokens: z
        .array(BearerTokenSpecSchema)
        .min(1)
        .max(64)
        .optional()
        .describe('Static bearer tokens from Secrets. Two entries may name one principal (to rotate a token).'),
      resource: urlString(
        'Canonical URL of the router as an OAuth resource (RFC 9728 `resource`); default: the URL of the request.',
      ).optional(),
      authorizationServers: z
        .array(urlString('An authorization server URL.'))
        .min(1)
        .max(16)
        .optional()
        .describe('Authorization servers named in the protected-resource metadata; default: the JWT issuers.'),
    })
    .describe(
      'Inbound authentication (MCP 2025-11-25 basic/authorization): every MCP request then needs ' +
        '`Authorization: Bearer`, and spec.access decides what each principal may use (nothing when no rule matches).',
    ),
  [{rule: authRule, message: authMessage}],
  (v) =>
    v.serviceAccountTokens === undefined && v.jwt === undefined && v.bearerTokens === undefined
      ? [{message: authMessage}]
      : [],
);

const globs = (description: string) => z.array(z.string().min(1).max(512)).max(256).optional().describe(description);

const NameFilterShape = {
  include: globs('Globs (picomatch) of names to allow; all when absent.'),
  exclude: globs('Globs of names to withhold; applied after include.'),
};

const hint = (name: string, fallback: boolean) =>
  z
    .boolean()
    .optional()
    .describe(`Required value of ${name} (undeclared: ${String(fallback)}).`);

export const AnnotationFilterSpecSchema = z
  .object({
    readOnlyHint: hint('readOnlyHint', false),
    destructiveHint: hint('destructiveHint', true),
    idempotentHint: hint('idempotentHint', false),
    openWorldHint: hint('openWorldHint', true),
  })
  .describe(
    'Tool annotations a tool must carry with these values (MCP 2025-11-25 server/tools); a hint the tool does not ' +
      'declare takes its spec default.',
  );

const accessRuleMessage = 'a rule needs principals, namespaces or claims to say whom it is for';

export const AccessRuleSpecSchema = withCel(
  z
    .object({
      principals: globs('Globs of principal names, e.g. ci-bot or system:serviceaccount:agents:*.'),
      namespaces: z
        .array(z.string().min(1).max(63))
        .max(256)
        .optional()
        .describe('Namespaces whose ServiceAccounts match (principals system:serviceaccount:<namespace>:<name>).'),
      claims: z
        .record(z.string().min(1).max(256), z.array(z.string().max(512)).min(1).max(64))
        .optional()
        .describe('JWT claims and accepted values, e.g. {groups: [platform]}; an array claim matches on any element.'),
      upstreams: z
        .array(z.string().min(1).max(253))
        .max(256)
        .default(['*'])
        .describe('Globs of the names of the McpUpstreams the rule grants.'),
      tools: z
        .object({...NameFilterShape, annotations: AnnotationFilterSpecSchema.optional()})
        .optional()
        .describe('Tools granted, by original (upstream) name; all tools of the upstreams when absent.'),
      prompts: z.object(NameFilterShape).optional().describe('Prompts granted, by original name; all when absent.'),
      resources: z
        .object(NameFilterShape)
        .optional()
        .describe(
          'Resources and resource templates granted, by URI or URI template (globs, e.g. file:///data/**); all ' +
            'when absent.',
        ),
    })
    .describe(
      'An access rule: whom it is for (every given selector must match) and what they may use. A principal may use ' +
        'what any of its rules grants.',
    ),
  [{rule: 'has(self.principals) || has(self.namespaces) || has(self.claims)', message: accessRuleMessage}],
  (v) =>
    v.principals === undefined && v.namespaces === undefined && v.claims === undefined
      ? [{message: accessRuleMessage}]
      : [],
);

export const LimitsSpecSchema = z
  .object({
    maxSessions: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe('Open downstream sessions one router pod holds at most; more get 503. Router default: 10000.'),
    maxSessionsPerPrincipal: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe('Open sessions one principal holds at most in one router pod. Router default: 10000.'),
  })
  .describe('Bounds that protect the router from clients that use too much.');

export type AuthSpec = z.infer<typeof AuthSpecSchema>;
export type AccessRuleSpec = z.infer<typeof AccessRuleSpecSchema>;
export type LimitsSpec = z.infer<typeof LimitsSpecSchema>;
