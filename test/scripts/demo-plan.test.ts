import {describe, expect, it} from 'vitest';

import {type DemoFacts, type DemoPlan, planDemo} from '../../scripts/demo-plan.js';

const fresh: DemoFacts = {noNode: undefined, clusterRunning: false, imageBuilt: false, operatorInstalled: false};

describe('planDemo: what `npm run demo` starts, and what Ctrl-C undoes', () => {
  it.each<[string, Partial<DemoFacts>, DemoPlan]>([
    [
      'a machine with nothing running builds the image, starts the cluster, installs; Ctrl-C brings the cluster down',
      {},
      {on: 'node', buildImage: true, startCluster: true, installChart: true, undo: ['cluster:down']},
    ],
    [
      'a built image is reused',
      {imageBuilt: true},
      {on: 'node', buildImage: false, startCluster: true, installChart: true, undo: ['cluster:down']},
    ],
    [
      "a running cluster is left running: Ctrl-C uninstalls the demo's release and deletes its namespace",
      {clusterRunning: true, imageBuilt: true},
      {
        on: 'node',
        buildImage: false,
        startCluster: false,
        installChart: true,
        undo: ['uninstall the chart', 'delete the namespace'],
      },
    ],
    [
      'an operator someone installed is used and left alone',
      {clusterRunning: true, imageBuilt: true, operatorInstalled: true},
      {on: 'node', buildImage: false, startCluster: false, installChart: false, undo: ['delete the namespace']},
    ],
    [
      'no node here: the local fallback, with the reason for its banner',
      {noNode: 'a node needs root (kubelet, containerd and the CNI bridge change the machine)', clusterRunning: true},
      {on: 'local', reason: 'a node needs root (kubelet, containerd and the CNI bridge change the machine)'},
    ],
  ])('%s', (_, facts, plan) => {
    expect(planDemo({...fresh, ...facts})).toEqual(plan);
  });
});
