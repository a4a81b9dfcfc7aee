import {describe, expect, it} from 'vitest';
import {quoted} from '../../../router/errors.js';
import {isIdle} from '../../../router/http/registry.js';

describe('isIdle', () => {
  it.each([
    [{kind: 'streamableHttp', openRequests: 0, lastSeen: 0}, 2000, 1000, true],
    [{kind: 'streamableHttp', openRequests: 1, lastSeen: 0}, 2000, 1000, false],
    [{kind: 'streamableHttp', openRequests: 0, lastSeen: 1500}, 2000, 1000, false],
    [{kind: 'sse', openRequests: 0, lastSeen: 0}, 2000, 1000, false],
  ] as const)('%j at %d with %d ms: %s', (entry, now, idleMs, expected) => {
    expect(isIdle(entry, now, idleMs)).toBe(expected);
  });
});

describe('quoted', () => {
  it.each([
    ['echo', '"echo"'],
    ['a\nb\u0000c', '"a?b?c"'],
    ['x'.repeat(200), `"${'x'.repeat(128)}..."`],
  ])('quotes %j as %s', (input, expected) => {
    expect(quoted(input)).toBe(expected);
  });
});
