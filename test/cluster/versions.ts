/**
 * The pinned versions of the local cluster's programs. Each is also the `require` line of its Go module under
 * `test/cluster/go/<module folder>/go.mod`; `versions.test.ts` fails when the two disagree.
 *
 * Kubernetes is the newest release whose module the Go module proxy serves and that builds with Go 1.26
 * (v1.37.2's module zip is not served); etcd is the newest patch of the 3.7 line that Kubernetes 1.37 is built against.
 * The node's programs (containerd, runc, the CNI plugins, CoreDNS) are the releases checked on this project's machines
 * (docs/cluster.md); kubelet, kube-proxy and kube-scheduler come from the same Kubernetes module as the control plane.
 * The OpenTelemetry Collector (for the trace tests only) is the newest core release whose file exporter the Go module
 * proxy serves.
 */
export const versions = {
  kubernetes: 'v1.37.1',
  etcd: 'v3.7.3',
  helm: 'v4.3.1',
  'kubernetes-node': 'v1.37.1',
  containerd: 'v2.4.2',
  runc: 'v1.5.3',
  'cni-plugins': 'v1.10.0',
  coredns: 'v1.15.0',
  otelcol: 'v0.165.0',
} as const;

/** A set of programs the local cluster builds from one Go module, and the module path whose version is pinned. */
export type Component = keyof typeof versions;

export const goModules: Record<Component, string> = {
  kubernetes: 'k8s.io/kubernetes',
  etcd: 'go.etcd.io/etcd/server/v3',
  helm: 'helm.sh/helm/v4',
  'kubernetes-node': 'k8s.io/kubernetes',
  containerd: 'github.com/containerd/containerd/v2',
  runc: 'github.com/opencontainers/runc',
  'cni-plugins': 'github.com/containernetworking/plugins',
  coredns: 'github.com/coredns/coredns',
  otelcol: 'go.opentelemetry.io/collector/otelcol',
};

/**
 * The folder under `test/cluster/go/` of each component's Go module. The node's Kubernetes programs are built from the
 * control plane's module, into a cache folder of their own, so that adding them leaves an existing build alone.
 */
export const moduleFolders: Record<Component, string> = {
  kubernetes: 'kubernetes',
  etcd: 'etcd',
  helm: 'helm',
  'kubernetes-node': 'kubernetes',
  containerd: 'containerd',
  runc: 'runc',
  'cni-plugins': 'cni-plugins',
  coredns: 'coredns',
  otelcol: 'otelcol',
};

/** The components of the control plane (and helm); the node needs {@link nodeComponents} on top. */
export const controlPlaneComponents = ['kubernetes', 'etcd', 'helm'] as const satisfies readonly Component[];

/** The components a one-node cluster needs beyond the control plane. */
export const nodeComponents = [
  'kubernetes-node',
  'containerd',
  'runc',
  'cni-plugins',
  'coredns',
] as const satisfies readonly Component[];
