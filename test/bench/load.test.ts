import {describe, expect, it} from 'vitest';
import {roundOrder} from '../../bench/load.js';

describe('roundOrder', () => {
  it.each([
    [0, ['direct', 'router', 'baseline']],
    [1, ['baseline', 'router', 'direct']],
    [2, ['direct', 'router', 'baseline']],
  ])('round %i measures %j', (round, order) => {
    expect(roundOrder(['direct', 'router', 'baseline'], round)).toEqual(order);
  });

  it('leaves the paths it is given as they are', () => {
    const paths = ['direct', 'router'];
    roundOrder(paths, 1);
    expect(paths).toEqual(['direct', 'router']);
  });
});
