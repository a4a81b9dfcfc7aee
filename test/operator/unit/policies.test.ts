/* eslint-disable @typescript-eslint/no-explicit-any -- these tests read rendered manifests as plain JSON */
import {describe, expect, it} from 'vitest';
import {renderRouter} from '../../../operator/controllers/mcprouter/render.js';
import {parsedRouter, renderOptions} from '../fixtures.js';

const pods = {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/instance': 'tools'};
const render = (spec: Record<string, unknown>) =>
  renderRouter(parsedRouter({upstreamSelector: {}, ...spec}), [], renderOptions) as any;

describe('day-2 children of a router', () => {
  it.each([
    [0, undefined],
    [1, undefined],
    [2, {maxUnavailable: 1, selector: {matchLabels: pods}}],
    [5, {maxUnavailable: 1, selector: {matchLabels: pods}}],
  ])('with %s replicas, the PodDisruptionBudget is %j', (replicas, spec) => {
    const rendered = render({replicas});
    expect(rendered.podDisruptionBudget?.spec).toEqual(spec);
    if (spec) {
      expect(rendered.podDisruptionBudget.metadata).toMatchObject({
        name: 'tools',
        namespace: 'team-a',
        labels: {'app.kubernetes.io/managed-by': 'kube-mcp-router', 'mcprouter.dev/router': 'tools'},
        ownerReferences: [{kind: 'McpRouter', name: 'tools', uid: 'uid-tools', controller: true}],
      });
    }
  });

  const agents = {namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'agents'}}};
  const prometheus = {
    namespaceSelector: {matchLabels: {team: 'monitoring'}},
    podSelector: {matchLabels: {app: 'prometheus'}},
  };
  // The router's own pods forward requests of each other's sessions (ADR 0021): always a peer of the MCP port.
  const routerPods = {podSelector: {matchLabels: pods}};
  it.each([
    ['no networkPolicy: none', undefined, undefined],
    [
      'peers of the MCP port, and the router pods themselves',
      {from: [agents, {podSelector: {}}]},
      [{from: [agents, {podSelector: {}}, routerPods], ports: [{protocol: 'TCP', port: 'http'}]}],
    ],
    [
      'peers of the MCP port and of /metrics',
      {from: [agents], metricsFrom: [prometheus]},
      [
        {from: [agents, routerPods], ports: [{protocol: 'TCP', port: 'http'}]},
        {from: [prometheus], ports: [{protocol: 'TCP', port: 'metrics'}]},
      ],
    ],
    // A rule with an empty from admits every source: an empty list must render no rule at all.
    [
      'from [] admits only the router pods, and metricsFrom [] no one (no rule, not an empty one)',
      {from: [], metricsFrom: []},
      [{from: [routerPods], ports: [{protocol: 'TCP', port: 'http'}]}],
    ],
  ])('%s', (_name, networkPolicy, ingress) => {
    const rendered = render(networkPolicy ? {networkPolicy} : {});
    if (ingress === undefined) {
      expect(rendered.networkPolicy).toBeUndefined();
      return;
    }
    expect(rendered.networkPolicy).toMatchObject({apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy'});
    expect(rendered.networkPolicy.spec).toEqual({
      podSelector: {matchLabels: pods},
      policyTypes: ['Ingress'],
      ingress,
    });
  });

  it("lets the operator's pods reach /readyz when the operator knows its namespace, even with from: []", () => {
    const rendered = renderRouter(parsedRouter({upstreamSelector: {}, networkPolicy: {from: []}}), [], {
      ...renderOptions,
      operatorNamespace: 'kmr-system',
    }) as any;
    expect(rendered.networkPolicy.spec.ingress).toEqual([
      {
        from: [
          {podSelector: {matchLabels: pods}},
          {
            namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'kmr-system'}},
            podSelector: {
              matchLabels: {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/component': 'operator'},
            },
          },
        ],
        ports: [{protocol: 'TCP', port: 'http'}],
      },
    ]);
  });
});
