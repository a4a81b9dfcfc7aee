import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {goModulesDir, toolPackages} from './binaries.js';
import {type Component, goModules, moduleFolders, versions} from './versions.js';

const goMod = (component: Component) => readFileSync(join(goModulesDir, moduleFolders[component], 'go.mod'), 'utf8');

describe('pinned versions', () => {
  it.each(Object.keys(versions) as Component[])('%s: go.mod requires the version in versions.ts', (component) => {
    expect(goMod(component)).toMatch(
      new RegExp(`^(require |\t)${goModules[component]} ${versions[component]}( // indirect)?$`, 'm'),
    );
  });

  it('keeps the versions of the control plane and the node programs of Kubernetes equal', () => {
    expect(versions['kubernetes-node']).toBe(versions.kubernetes);
  });

  it('replaces every Kubernetes staging module with the release that matches k8s.io/kubernetes', () => {
    const staging = versions.kubernetes.replace(/^v1\./, 'v0.');
    const replaced = [...goMod('kubernetes').matchAll(/^\t(k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
    expect(replaced.length).toBeGreaterThan(20);
    for (const [, from, to, version] of replaced)
      expect({from, to, version}).toEqual({from, to: from, version: staging});
  });

  it.each([
    [
      'kubernetes',
      [
        'k8s.io/kubernetes/cmd/kube-apiserver',
        'k8s.io/kubernetes/cmd/kube-controller-manager',
        'k8s.io/kubernetes/cmd/kubectl',
      ],
    ],
    ['etcd', ['.']],
    ['helm', ['helm.sh/helm/v4/cmd/helm']],
    [
      'kubernetes-node',
      ['k8s.io/kubernetes/cmd/kube-proxy', 'k8s.io/kubernetes/cmd/kube-scheduler', 'k8s.io/kubernetes/cmd/kubelet'],
    ],
    [
      'containerd',
      [
        'github.com/containerd/containerd/v2/cmd/containerd',
        'github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2',
        'github.com/containerd/containerd/v2/cmd/ctr',
      ],
    ],
    ['runc', ['github.com/opencontainers/runc']],
    [
      'cni-plugins',
      [
        'github.com/containernetworking/plugins/plugins/ipam/host-local',
        'github.com/containernetworking/plugins/plugins/main/bridge',
        'github.com/containernetworking/plugins/plugins/main/loopback',
        'github.com/containernetworking/plugins/plugins/meta/portmap',
      ],
    ],
    ['coredns', ['github.com/coredns/coredns']],
    ['otelcol', ['.']],
  ] as const)('%s: builds the tool packages its go.mod lists', (component, packages) => {
    expect(toolPackages(component)).toEqual(packages);
  });
});
