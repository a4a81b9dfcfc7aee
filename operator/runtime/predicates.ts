import {objectHash} from './apply.js';
import type {KubeObject} from './kube.js';

/**
 * Whether an update of a custom resource changed only its status (and the bookkeeping that comes with a write):
 * such updates are the operator's own status writes and need no reconcile (controller-runtime users filter them with
 * a generation predicate; this also lets label and annotation changes through).
 */
export function statusOnlyChange(before: KubeObject, after: KubeObject): boolean {
  const strip = ({status: _status, metadata, ...rest}: KubeObject) => {
    const {resourceVersion: _rv, managedFields: _mf, ...meta} = metadata ?? {};
    return {...rest, metadata: meta};
  };
  return objectHash(strip(before)) === objectHash(strip(after));
}
