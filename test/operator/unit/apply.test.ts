import {describe, expect, it} from 'vitest';
import type {KubeObject} from '../../../operator/runtime/kube.js';
import {
  APPLIED_HASH_ANNOTATION,
  isSubset,
  objectHash,
  upToDate,
  withAppliedHash,
} from '../../../operator/runtime/apply.js';

describe('isSubset', () => {
  it.each([
    ['equal primitives', 'a', 'a', true],
    ['a defaulted field in live', {a: 1}, {a: 1, b: 2}, true],
    ['a changed field', {a: 1}, {a: 2}, false],
    ['a missing field', {a: {b: 1}}, {}, false],
    ['arrays element-wise', [{a: 1}], [{a: 1, b: 2}], true],
    ['arrays of another length', [{a: 1}], [{a: 1}, {a: 2}], false],
    ['a number against its canonical string', {cpu: 1}, {cpu: '1'}, true],
    ['an object against an array', {a: {}}, {a: []}, false],
  ])('%s', (_name, desired, live, expected) => {
    expect(isSubset(desired, live)).toBe(expected);
  });
});

describe('upToDate', () => {
  const desired: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {name: 'c', namespace: 'n'},
    data: {a: '1'},
  };
  const live = {
    ...withAppliedHash(desired),
    metadata: {...withAppliedHash(desired).metadata, resourceVersion: '7', uid: 'u'},
  };

  it.each([
    ['the live object as applied', desired, live, true],
    ['no live object', desired, undefined, false],
    ['a field dropped from desired', {...desired, data: {}}, live, false],
    ['a live field edited by someone else', desired, {...live, data: {a: '2'}}, false],
    ['a live object being deleted', desired, {...live, metadata: {...live.metadata, deletionTimestamp: 'x'}}, false],
  ])('with %s: %s', (_name, want, have, expected) => {
    expect(upToDate(want, have)).toBe(expected);
  });

  it('hashes canonically, whatever the key order', () => {
    expect(objectHash({a: 1, b: {c: 2, d: 3}})).toBe(objectHash({b: {d: 3, c: 2}, a: 1}));
    expect(withAppliedHash(desired).metadata?.annotations?.[APPLIED_HASH_ANNOTATION]).toMatch(/^sha256:/);
  });
});
