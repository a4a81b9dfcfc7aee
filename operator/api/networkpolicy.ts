import {z} from 'zod';
import {LabelSelectorSchema, withCel} from './common.js';

/**
 * `McpRouter.spec.networkPolicy`: who may reach the router pods. The operator renders it as a NetworkPolicy
 * (networking.k8s.io/v1) that selects the router's pods and allows ingress only from the peers named here; egress is
 * left alone (upstreams may be anywhere). A NetworkPolicy takes effect only where the cluster's network plugin
 * enforces them.
 */

const PEER_NEEDS_SELECTOR = 'set namespaceSelector, podSelector or both';

export const NetworkPeerSchema = withCel(
  z
    .object({
      namespaceSelector: LabelSelectorSchema.optional().describe(
        'Namespaces whose pods may connect ({} all namespaces); with podSelector, only those pods of these namespaces.',
      ),
      podSelector: LabelSelectorSchema.optional().describe(
        "Pods that may connect: of the router's namespace, or with namespaceSelector, of those namespaces.",
      ),
    })
    .describe('Pods allowed to connect (a networking.k8s.io/v1 NetworkPolicyPeer without ipBlock).'),
  [{rule: 'has(self.namespaceSelector) || has(self.podSelector)', message: PEER_NEEDS_SELECTOR}],
  (v) => (v.namespaceSelector === undefined && v.podSelector === undefined ? [{message: PEER_NEEDS_SELECTOR}] : []),
);

export const NetworkPolicySpecSchema = z
  .object({
    from: z
      .array(NetworkPeerSchema)
      .max(64)
      .describe(
        "Who may connect to the router's MCP port (http, 8080), through its Service or directly; [] lets no one in " +
          "but the router's own pods (they forward requests of each other's sessions) and the operator's pods (they " +
          "read /readyz for status.upstreams). The kubelet's liveness and readiness probes come from the node, " +
          'which NetworkPolicies do not block.',
      ),
    metricsFrom: z
      .array(NetworkPeerSchema)
      .max(64)
      .optional()
      .describe(
        'Who may scrape /metrics (port metrics, 9090), e.g. the namespace of Prometheus; absent or []: no one.',
      ),
  })
  .describe(
    "Render a NetworkPolicy <name> that lets only these peers reach the router's pods (ingress; egress is not " +
      'restricted). Absent: no NetworkPolicy, and the operator deletes the one it rendered before.',
  );

export type NetworkPeer = z.infer<typeof NetworkPeerSchema>;
export type NetworkPolicySpec = z.infer<typeof NetworkPolicySpecSchema>;
