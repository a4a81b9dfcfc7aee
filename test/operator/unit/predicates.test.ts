import {describe, expect, it} from 'vitest';
import {statusOnlyChange} from '../../../operator/runtime/predicates.js';
import type {KubeObject} from '../../../operator/runtime/kube.js';

const before: KubeObject = {
  apiVersion: 'mcprouter.dev/v1alpha1',
  kind: 'McpRouter',
  metadata: {name: 'r', namespace: 'n', resourceVersion: '1', generation: 1, labels: {a: 'b'}},
  spec: {replicas: 1},
  status: {observedGeneration: 1},
};

describe('statusOnlyChange', () => {
  it.each<[string, KubeObject, boolean]>([
    [
      'a status write',
      {...before, metadata: {...before.metadata, resourceVersion: '2', managedFields: []}, status: {}},
      true,
    ],
    ['a spec change', {...before, metadata: {...before.metadata, generation: 2}, spec: {replicas: 2}}, false],
    ['a label change', {...before, metadata: {...before.metadata, labels: {a: 'c'}}}, false],
    ['a deletion', {...before, metadata: {...before.metadata, deletionTimestamp: '2026-01-01T00:00:00Z'}}, false],
  ])('%s: %s', (_name, after, expected) => {
    expect(statusOnlyChange(before, after)).toBe(expected);
  });
});
