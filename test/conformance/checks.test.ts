import {describe, expect, it} from 'vitest';

import {type Check, cell, differences, passed, renderTable, scenarioOfResultFolder, unexpected} from './checks.js';

const ok = (id: string): Check => ({id, status: 'SUCCESS'});
const failed = (id: string, errorMessage = 'boom'): Check => ({id, status: 'FAILURE', errorMessage});

describe('conformance results', () => {
  it.each([
    ['server-tools-list-2026-12-02T15-53-49-142Z', 'tools-list'],
    ['server-dns-rebinding-protection-2026-12-02T15-53-50-124Z', 'dns-rebinding-protection'],
    ['server-ping', undefined],
    ['client-initialize-2026-12-02T15-53-49-142Z', undefined],
  ])('folder %s holds scenario %s', (folder, scenario) => {
    expect(scenarioOfResultFolder(folder)).toBe(scenario);
  });

  it.each([
    [[ok('a')], true],
    [[ok('a'), {id: 'b', status: 'WARNING'} as Check], true],
    [[ok('a'), failed('b')], false],
    [[], false],
    [undefined, false],
  ])('checks %j pass: %s', (checks, expected) => {
    expect(passed(checks)).toBe(expected);
  });

  it('finds no difference between equal runs, whatever the order of checks', () => {
    const direct = new Map([['s', [ok('a'), failed('b')]]]);
    const router = new Map([['s', [failed('b', 'other text'), ok('a')]]]);
    expect(differences(direct, router, ['s'])).toEqual([]);
  });

  it('names each check whose status differs, with both error messages', () => {
    const direct = new Map([['s', [ok('a'), ok('b')]]]);
    const router = new Map([['s', [ok('a'), failed('b', 'Unknown tool')]]]);
    expect(differences(direct, router, ['s'])).toEqual([
      {scenario: 's', check: 'b', expected: 'SUCCESS', actual: 'FAILURE', actualError: 'Unknown tool'},
    ]);
  });

  it('leaves out only the differences listed as known, by scenario and check', () => {
    const direct = new Map([['s', [ok('a'), ok('b')]]]);
    const router = new Map([['s', [failed('a'), failed('b')]]]);
    const found = differences(direct, router, ['s']);
    expect(unexpected(found, {'s / a': 'documented'}).map((d) => d.check)).toEqual(['b']);
    expect(unexpected(found).map((d) => d.check)).toEqual(['a', 'b']);
  });

  it('reports checks and scenarios that only one run has', () => {
    const direct = new Map([['s', [ok('a')]]]);
    const router = new Map([['s', [ok('a'), ok('extra')]]]);
    expect(differences(direct, router, ['s', 'missing'])).toEqual([
      {scenario: 's', check: 'extra', actual: 'SUCCESS'},
      {scenario: 'missing', check: '(scenario did not run)'},
    ]);
  });

  it.each([
    [[ok('a'), ok('b')], '2/2'],
    [[ok('a'), failed('b')], '1/2 FAILED'],
    [undefined, '-'],
  ])('cell of %j is %s', (checks, expected) => {
    expect(cell(checks)).toBe(expected);
  });

  it('renders one padded row per scenario, with marks and notes', () => {
    const table = renderTable(
      ['ping', 'tools-call-simple-text'],
      [
        {name: 'direct', results: new Map([['ping', [ok('ping')]]])},
        {name: 'router', results: new Map([['ping', [failed('ping')]]]), marks: new Map([['ping', ' ≠']])},
      ],
      new Map([['tools-call-simple-text', 'by name']]),
    );
    expect(table.split('\n')).toEqual([
      'scenario                direct  router        note',
      'ping                    1/1     0/1 FAILED ≠',
      'tools-call-simple-text  -       -             by name',
    ]);
  });
});
