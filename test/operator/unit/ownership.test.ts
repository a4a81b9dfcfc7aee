import {describe, expect, it} from 'vitest';
import {foreignObject, resourceExistsMessage} from '../../../operator/controllers/mcprouter/ownership.js';
import type {KubeObject} from '../../../operator/runtime/kube.js';

const ours = {
  apiVersion: 'mcprouter.dev/v1alpha1',
  kind: 'McpRouter',
  name: 'tools',
  uid: 'uid-tools',
  controller: true,
};

function live(metadata: KubeObject['metadata'] = {}): KubeObject {
  return {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'tools-config', namespace: 'team-a', ...metadata}};
}

describe('foreignObject', () => {
  it.each<[string, KubeObject | undefined, string | undefined]>([
    ['none exists yet', undefined, undefined],
    ["it is the router's own", live({ownerReferences: [ours]}), undefined],
    ['a user made it (no owner)', live(), ''],
    [
      'it carries our labels but no owner reference',
      live({labels: {'app.kubernetes.io/managed-by': 'kube-mcp-router'}}),
      '',
    ],
    [
      'it names the router as owner without controlling it',
      live({ownerReferences: [{...ours, controller: false}]}),
      '',
    ],
    [
      'an older McpRouter of the same name controls it',
      live({ownerReferences: [{...ours, uid: 'old'}]}),
      'controlled by McpRouter "tools" uid old',
    ],
    [
      "it is the operator's own",
      live({labels: {'app.kubernetes.io/name': 'kube-mcp-router', 'app.kubernetes.io/component': 'operator'}}),
      "part of the kube-mcp-router operator's installation",
    ],
  ])('when %s', (_name, object, whose) => {
    const found = foreignObject('ConfigMap', object, 'uid-tools');
    if (whose === undefined) expect(found).toBeUndefined();
    else expect(found).toEqual({kind: 'ConfigMap', name: 'tools-config', ...(whose !== '' && {whose})});
  });
});

describe('resourceExistsMessage', () => {
  it('names every object and what to do', () => {
    expect(
      resourceExistsMessage([
        {kind: 'ConfigMap', name: 'clash-config'},
        {kind: 'Service', name: 'clash'},
      ]),
    ).toBe(
      'ConfigMap "clash-config" and Service "clash" already exist and are not owned by this McpRouter; the operator ' +
        'does not adopt objects it did not create and applied nothing: rename the McpRouter or remove those objects',
    );
  });

  it('points to spec.serviceAccountName for a ServiceAccount', () => {
    expect(resourceExistsMessage([{kind: 'ServiceAccount', name: 'tools'}])).toMatch(
      /ServiceAccount "tools" already exists .*remove that object; to run the router as an existing ServiceAccount, set spec\.serviceAccountName$/,
    );
  });
});
