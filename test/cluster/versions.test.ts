import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {goModulesDir, toolPackages} from './binaries.js';
import {type Component, goModules, versions} from './versions.js';

const goMod = (component: Component) => readFileSync(join(goModulesDir, component, 'go.mod'), 'utf8');

describe('pinned versions', () => {
  it.each(Object.keys(versions) as Component[])('%s: go.mod requires the version in versions.ts', (component) => {
    expect(goMod(component)).toMatch(
      new RegExp(`^(require |\t)${goModules[component]} ${versions[component]}( // indirect)?$`, 'm'),
    );
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
  ] as const)('%s: builds the tool packages its go.mod lists', (component, packages) => {
    expect(toolPackages(component)).toEqual(packages);
  });
});
