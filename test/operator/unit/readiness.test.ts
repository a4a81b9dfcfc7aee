import type {V1Pod} from '@kubernetes/client-node';
import {describe, expect, it} from 'vitest';
import {readyPodIps, upstreamStates, type PodReadiness} from '../../../operator/controllers/mcprouter/readiness.js';

const upstreams = [
  {name: 'a', prefix: 'a'},
  {name: 'b', prefix: 'bee'},
];
const pod = (...states: [string, string, number?][]): PodReadiness => ({
  upstreams: states.map(([name, state, tools]) => ({name, state, ...(tools !== undefined && {tools})})),
});

describe('upstreamStates', () => {
  it.each<[string, PodReadiness[], ReturnType<typeof upstreamStates>]>([
    ['no pod reports: no state, 0 ready', [], {upstreams, ready: 0}],
    [
      'one pod, both ready',
      [pod(['a', 'ready', 3], ['b', 'ready', 0])],
      {
        upstreams: [
          {name: 'a', prefix: 'a', state: 'ready', tools: 3},
          {name: 'b', prefix: 'bee', state: 'ready', tools: 0},
        ],
        ready: 2,
      },
    ],
    [
      'two pods disagree: the one that needs attention wins, ready only when ready on both',
      [pod(['a', 'ready', 3], ['b', 'connecting']), pod(['a', 'ready', 2], ['b', 'down'])],
      {
        upstreams: [
          {name: 'a', prefix: 'a', state: 'ready', tools: 2},
          {name: 'b', prefix: 'bee', state: 'down'},
        ],
        ready: 1,
      },
    ],
    [
      'a pod on an older config that lacks b, and an upstream the config no longer has',
      [pod(['a', 'down'], ['gone', 'ready', 1])],
      {
        upstreams: [
          {name: 'a', prefix: 'a', state: 'down'},
          {name: 'b', prefix: 'bee'},
        ],
        ready: 0,
      },
    ],
  ])('%s', (_name, reports, expected) => {
    expect(upstreamStates(upstreams, reports)).toEqual(expected);
  });
});

describe('readyPodIps', () => {
  const p = (ip: string | undefined, ready: string, deleting = false): V1Pod => ({
    metadata: {name: `pod-${ip}`, ...(deleting && {deletionTimestamp: new Date()})},
    status: {...(ip && {podIP: ip}), conditions: [{type: 'Ready', status: ready}]},
  });
  it('asks only ready pods with an IP that are not being deleted, in IP order', () => {
    expect(
      readyPodIps([
        p('10.0.0.9', 'True'),
        p('10.0.0.2', 'True'),
        p('10.0.0.3', 'False'),
        p(undefined, 'True'),
        p('10.0.0.4', 'True', true),
      ]),
    ).toEqual(['10.0.0.2', '10.0.0.9']);
  });
});
