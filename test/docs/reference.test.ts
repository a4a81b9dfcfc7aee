import {readFile} from 'node:fs/promises';
import {describe, expect, it} from 'vitest';
import {END, renderReference, START} from '../../scripts/reference.js';

/** Table padding is prettier's business, not content: compare with runs of spaces and dashes folded. */
const normalize = (text: string) =>
  text
    .split('\n')
    .map((line) => line.replace(/-{3,}/g, '---').replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');

describe('the README reference', () => {
  it('is what the schemas generate (run `npm run docs` after changing a schema)', async () => {
    const readme = await readFile('README.md', 'utf8');
    const part = readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length);
    expect(normalize(part)).toBe(normalize(renderReference()));
  });

  it('lists the fields users look for', () => {
    const reference = renderReference();
    for (const field of [
      'mcpServers.<name>.tools.include',
      'spec.upstreamSelector',
      'spec.http.serviceRef',
      'router.toolNameSeparator',
    ]) {
      expect(reference).toContain(`\`${field}\``);
    }
  });
});
