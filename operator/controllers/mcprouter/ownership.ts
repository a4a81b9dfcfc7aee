import type {KubeObject} from '../../runtime/kube.js';

/**
 * Which objects a router may write: only those it created. Server-side apply with force would otherwise take over an
 * object that happens to have a child's name (a user's ConfigMap or Service, the operator's own Deployment), put this
 * router's controller owner reference on it, and the garbage collector would delete it with the router. Like the
 * Deployment controller and cert-manager, the operator leaves such an object alone and reports it.
 */

/** An object that holds the name of one of a router's children and is not controlled by that router. */
export interface ForeignObject {
  kind: string;
  name: string;
  /** Whose it is, when that can be told: `part of the operator's installation`, `controlled by ReplicaSet "x"`. */
  whose?: string;
}

// Labels of the objects the chart installs for the operator itself (charts/kube-mcp-router/templates/_helpers.tpl).
export const OPERATOR_LABELS = {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/component': 'operator'};

/**
 * Whether `live`, the object that has a child's name (undefined when none exists), stands in the router's way: it
 * does when it exists and its controller owner reference is not the router's (`routerUid`).
 * @returns the object to report, or undefined when the router may apply
 */
export function foreignObject(
  kind: string,
  live: KubeObject | undefined,
  routerUid: string | undefined,
): ForeignObject | undefined {
  if (!live) return undefined;
  const controller = live.metadata?.ownerReferences?.find((ref) => ref.controller);
  if (controller && routerUid !== undefined && controller.uid === routerUid) return undefined;
  const labels = live.metadata?.labels ?? {};
  const operators = Object.entries(OPERATOR_LABELS).every(([key, value]) => labels[key] === value);
  const whose = operators
    ? "part of the kube-mcp-router operator's installation"
    : controller
      ? `controlled by ${controller.kind} "${controller.name}" uid ${controller.uid}`
      : undefined;
  return {kind, name: live.metadata?.name ?? '', ...(whose !== undefined && {whose})};
}

/**
 * The message of Ready=False/ResourceExists: each object as `Kind "name"`, and what to do.
 * @param foreign at least one object
 */
export function resourceExistsMessage(foreign: readonly ForeignObject[]): string {
  const named = foreign.map((o) => `${o.kind} "${o.name}"${o.whose ? ` (${o.whose})` : ''}`).join(' and ');
  const serviceAccount = foreign.some((o) => o.kind === 'ServiceAccount')
    ? '; to run the router as an existing ServiceAccount, set spec.serviceAccountName'
    : '';
  return (
    `${named} already ${foreign.length === 1 ? 'exists' : 'exist'} and ${foreign.length === 1 ? 'is' : 'are'} not ` +
    'owned by this McpRouter; the operator does not adopt objects it did not create and applied nothing: rename ' +
    `the McpRouter or remove ${foreign.length === 1 ? 'that object' : 'those objects'}${serviceAccount}`
  );
}
