/**
 * The RBAC rules the operator needs (Kubernetes RBAC PolicyRule shape), in one place: docs/operator.md lists them and
 * the RBAC integration test runs the operator with exactly these. Grant them with a ClusterRole to watch all
 * namespaces, or a Role in the namespace of `--namespace`. Nothing on Secrets: a missing Secret or key is learnt from
 * the router pods that wait for it (docs/adr/0019-operator-missing-secrets-from-router-pods.md).
 */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Rules for reconciling, in the watched namespaces (or cluster-wide). */
export const OPERATOR_RULES: PolicyRule[] = [
  {apiGroups: ['mcprouter.dev'], resources: ['mcprouters', 'mcpupstreams'], verbs: ['list', 'watch']},
  {apiGroups: ['mcprouter.dev'], resources: ['mcprouters/status', 'mcpupstreams/status'], verbs: ['patch']},
  // Setting blockOwnerDeletion on owner references needs this where OwnerReferencesPermissionEnforcement is on.
  {apiGroups: ['mcprouter.dev'], resources: ['mcprouters/finalizers'], verbs: ['update']},
  // Server-side apply of an object that does not exist yet needs create as well as patch. get: whether an object of a
  // child's name that is not in the (label-filtered) cache exists, so that it is not adopted.
  // ServiceAccounts: each router's own (its pods read the issuer's JWKS, as every authenticated ServiceAccount may,
  // and list and watch EndpointSlices by the Role below).
  {
    apiGroups: [''],
    resources: ['configmaps', 'serviceaccounts', 'services'],
    verbs: ['get', 'list', 'watch', 'create', 'patch'],
  },
  {apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'patch']},
  // Each router's Role and RoleBinding, by which its pods watch the EndpointSlices of their Service (their peers).
  // RBAC lets the operator grant only what it holds itself: hence list and watch on EndpointSlices, which it does not
  // use otherwise.
  {
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['roles', 'rolebindings'],
    verbs: ['get', 'list', 'watch', 'create', 'patch'],
  },
  {apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch']},
  // Optional children, deleted (only the router's own, by uid) once no longer wanted: the PodDisruptionBudget when
  // replicas drops to 1, the NetworkPolicy when spec.networkPolicy is removed.
  {
    apiGroups: ['policy'],
    resources: ['poddisruptionbudgets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
  {
    apiGroups: ['networking.k8s.io'],
    resources: ['networkpolicies'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
  // The router pods' informer: why a router is not ready (Pending with no node, waiting containers), and which
  // Secrets or keys they wait for.
  {apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch']},
  {apiGroups: [''], resources: ['events'], verbs: ['create', 'patch']},
];

/** Rules for leader election, in the namespace of the Lease only. */
export const LEADER_ELECTION_RULES: PolicyRule[] = [
  {apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update']},
];
