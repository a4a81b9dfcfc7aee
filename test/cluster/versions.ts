/**
 * The pinned versions of the local control plane's programs. Each is also the `require` line of its Go module under
 * `test/cluster/go/<component>/go.mod`; `versions.test.ts` fails when the two disagree.
 *
 * Kubernetes is the newest release whose module the Go module proxy serves and that builds with Go 1.26
 * (v1.37.2's module zip is not served); etcd is the newest patch of the 3.7 line that Kubernetes 1.37 is built against.
 */
export const versions = {
  kubernetes: 'v1.37.1',
  etcd: 'v3.7.3',
  helm: 'v4.3.1',
} as const;

/** A program the local control plane builds from a Go module, and the module path whose version is pinned. */
export type Component = keyof typeof versions;

export const goModules: Record<Component, string> = {
  kubernetes: 'k8s.io/kubernetes',
  etcd: 'go.etcd.io/etcd/server/v3',
  helm: 'helm.sh/helm/v4',
};
