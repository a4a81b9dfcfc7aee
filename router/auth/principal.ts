/**
 * Who sent a request. `id` identifies it across authentication methods (a bearer-token principal and a JWT subject of
 * the same name are different principals); `name` is what rules and audit lines use: the `sub` claim (a Kubernetes
 * ServiceAccount is `system:serviceaccount:<namespace>:<name>`), or a bearer token's principal.
 */
export interface Principal {
  id: string;
  name: string;
  /** The verified JWT claims (e.g. `groups`); empty for bearer tokens. */
  claims: Record<string, unknown>;
}

/** Every client of a router without auth. */
export const ANONYMOUS: Principal = {id: 'anonymous', name: 'anonymous', claims: {}};
