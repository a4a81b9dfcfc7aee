import {describe, expect, it} from 'vitest';
import {meanPooled} from '../../../router/catalog/embedding.js';
import {byCosine, fuseRanks} from '../../../router/catalog/rank.js';

describe('fuseRanks (reciprocal rank fusion)', () => {
  it.each([
    ['one ranking keeps its order', [[2, 0, 1]], [2, 0, 1]],
    [
      'a document high in both wins over one first in one only',
      [
        [0, 1, 2],
        [1, 2, 0],
      ],
      [1, 0, 2],
    ],
    ['a document absent from a ranking still counts its other', [[3], [1, 2]], [3, 1, 2]],
    ['no rankings give nothing', [], []],
  ])('%s', (_, rankings, fused) => {
    expect(fuseRanks(rankings)).toEqual(fused);
  });

  it('weighs ranks by 1 / (k + rank): a small k favours a first place, the default favours agreement', () => {
    // Document 0 is first in one ranking only; document 1 is third in one and fourth in the other.
    const rankings = [
      [0, 2, 1],
      [3, 4, 5, 1],
    ];
    const before = (fused: number[]) => fused.indexOf(0) < fused.indexOf(1);
    expect(before(fuseRanks(rankings, 0))).toBe(true);
    expect(before(fuseRanks(rankings))).toBe(false);
  });
});

describe('byCosine', () => {
  it('orders unit vectors by their dot product with the query', () => {
    const v = (...xs: number[]) => Float32Array.from(xs);
    expect(byCosine(v(1, 0), [v(0, 1), v(1, 0), v(Math.SQRT1_2, Math.SQRT1_2), v(-1, 0)])).toEqual([1, 2, 0, 3]);
  });
});

describe('meanPooled', () => {
  it('averages the tokens the mask keeps and scales the mean to length 1', () => {
    // Two texts of three tokens, two dimensions; the second text's last token is padding.
    const hidden = Float32Array.from([3, 0, 0, 4, 3, 4, 1, 1, 1, 1, 100, -100]);
    const [first, second] = meanPooled(hidden, BigInt64Array.from([1n, 1n, 1n, 1n, 1n, 0n]), 2, 3);
    expect([...(first as Float32Array)].map((x) => x.toFixed(4))).toEqual(['0.6000', '0.8000']);
    expect([...(second as Float32Array)].map((x) => x.toFixed(4))).toEqual(['0.7071', '0.7071']);
  });
});
