import {objectHash} from './apply.js';
import type {InformerHandlers} from './informer.js';
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

/**
 * Informer handlers that call `handler` on an add, a delete, and an update that is not `statusOnlyChange`; an update
 * passes the new version first, then the old one (a mapping may need both: what an object selected before and after).
 */
export function onChange<T extends KubeObject>(handler: (...versions: T[]) => void): InformerHandlers<T> {
  return {
    add: (object) => handler(object),
    update: (before, after) => {
      if (!statusOnlyChange(before, after)) handler(after, before);
    },
    delete: (object) => handler(object),
  };
}
