import type {IncomingMessage} from 'node:http';
import type {TLSSocket} from 'node:tls';
import type {AuthConfig} from '../config/schema.js';

/** The path of RFC 9728 protected-resource metadata; a resource's own path follows it. */
export const METADATA_PATH = '/.well-known/oauth-protected-resource';

/** `scheme://host` of a request, as the client addressed the router. */
export function requestOrigin(req: Pick<IncomingMessage, 'socket' | 'headers'>): string {
  const protocol = (req.socket as Partial<TLSSocket>).encrypted ? 'https' : 'http';
  return `${protocol}://${req.headers.host ?? 'localhost'}`;
}

/**
 * The `WWW-Authenticate` value of a 401 or 403 (RFC 6750 section 3, MCP 2025-11-25 basic/authorization): the metadata
 * URL of the resource the client asked for, and the error when there is one. Quotes and backslashes in the description
 * are dropped, as the header's quoted-string cannot hold them unescaped.
 */
export function bearerChallenge(
  metadataUrl: string,
  error?: {code: 'invalid_token' | 'invalid_request' | 'insufficient_scope'; description: string},
): string {
  const parts = [`resource_metadata="${metadataUrl}"`];
  if (error) parts.push(`error="${error.code}"`, `error_description="${error.description.replace(/["\\]/g, '')}"`);
  return `Bearer ${parts.join(', ')}`;
}

/**
 * RFC 9728 protected-resource metadata of the resource at `path` (`''` for the origin itself): its identifier, the
 * authorization servers whose tokens it accepts (none listed with static bearer tokens only), and that tokens go in
 * the Authorization header only.
 */
export function protectedResourceMetadata(
  auth: AuthConfig,
  issuers: string[],
  origin: string,
  path: string,
): Record<string, unknown> {
  const servers = auth.authorizationServers ?? issuers;
  return {
    resource: auth.resource ?? `${origin}${path}`,
    ...(servers.length > 0 && {authorization_servers: servers}),
    bearer_methods_supported: ['header'],
    resource_name: 'kube-mcp-router',
  };
}
