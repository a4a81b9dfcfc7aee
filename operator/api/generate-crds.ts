/**
 * Writes the CRDs generated from the zod schemas into `crds/` (run as `npm run crds`). The unit test
 * `test/operator/unit/crd.test.ts` fails when the checked-in files differ from what this writes.
 */
import {writeFile} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';
import {renderCrdFiles} from './crd.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
for (const file of renderCrdFiles()) {
  await writeFile(`${root}${file.path}`, file.text);
  process.stdout.write(`Wrote ${file.path}\n`);
}
