import picomatch from 'picomatch';
import type {Principal} from '../auth/principal.js';

/** What decides who may register and remove upstreams. */
export interface AdminPolicy {
  /** Whether the router has `auth`. */
  auth: boolean;
  /** `router.management.admins`: globs of principal names. */
  admins: string[];
  /** Whether only this machine can reach the router (it listens on loopback, or on stdio). */
  localOnly: boolean;
}

/**
 * Why a principal may not register or remove upstreams, or undefined when it may (pure). With auth, only the principals
 * that `admins` names may. Without auth every client is anonymous, so only a router that nobody else can reach lets
 * them: `register_upstream` starts commands, and must not be open to a network.
 */
export function adminRefusal(principal: Principal, policy: AdminPolicy): string | undefined {
  if (policy.auth) {
    return policy.admins.length > 0 && picomatch(policy.admins, {dot: true})(principal.name)
      ? undefined
      : 'the principal is not one of router.management.admins';
  }
  return policy.localOnly
    ? undefined
    : 'without auth, upstreams may be registered and removed only on a router that listens on loopback or stdio';
}
